package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/suites/tune"
)

// TestTuneFlagsAreCheckedBeforeTheCluster: every bad flag is bad input
// (exit status 2) naming the flag, before any cluster work: the cluster
// named does not exist, and no case gets as far as saying so.
func TestTuneFlagsAreCheckedBeforeTheCluster(t *testing.T) {
	file := example(t)
	out := t.TempDir()
	notDir := filepath.Join(out, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--max", "0s"}, "tune: --max 0s: use whole seconds from 1s to 10m0s"},
		{[]string{"--max", "1500ms"}, "tune: --max 1.5s: use whole seconds"},
		{[]string{"--max", "11m"}, "tune: --max 11m0s: use whole seconds from 1s to 10m0s"},
		{[]string{"--max", "-5s"}, "tune: --max -5s"},
		{[]string{"--margin", "-1s"}, "tune: --margin -1s: use 0 to 10m0s"},
		{[]string{"--repeat", "0"}, "tune: --repeat 0: use 1 to 100"},
		{[]string{"--repeat", "101"}, "tune: --repeat 101: use 1 to 100"},
		{[]string{"--wait-lock", "-1s"}, "tune: --wait-lock -1s"},
		{[]string{"--path", "nodeprot"}, `tune: --path: path "nodeprot": use one of`},
		{[]string{"--path", "ingress"}, "tune: --path ingress: " + file + " does not load it (its paths: nodeport, nodeport+ka, clusterip, clusterip+ka); add it to spec.paths"},
		{[]string{"--disruption", "evicts"}, "tune: --disruption: "},
		{[]string{"--disruption", "drain"}, "tune: --disruption drain: " + file + " does not do it (its disruptions: rolling-update, evict, scale-down)"},
		{[]string{"--disruption", "kill-container"}, "tune: --disruption kill-container: no preStop helps: SIGKILL"},
		{[]string{"--out", filepath.Join(notDir, "sub")}, "tune: --out " + filepath.Join(notDir, "sub")},
		{[]string{"-f", filepath.Join(out, "none.yaml")}, "no such file"},
	}
	for _, c := range cases {
		args := append([]string{"tune", "-f", file, "--name", "nosuch", "--wait-lock", "0s", "--out", out}, c.args...)
		_, _, err := run(t, args...)
		if !isBadInput(err) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want bad input saying %q", c.args, err, c.want)
		}
		if errors.Is(err, kind.ErrNoCluster) {
			t.Errorf("%v: went to the cluster before refusing", c.args)
		}
	}
	// valid flags go as far as the cluster, which does not exist
	t.Setenv("ZERODROP_MODE", "online")
	t.Setenv("ZERODROP_STATE", t.TempDir())
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	_, _, err := run(t, "tune", "-f", file, "--name", "nosuch", "--out", out, "--path", "clusterip", "--disruption", "evict", "--max", "8s")
	if !errors.Is(err, kind.ErrNoCluster) || isBadInput(err) {
		t.Errorf("valid flags: %v, want no such cluster", err)
	}
}

// TestTuneSaysWhatTheGraceRestsOn: the summary names the smallest passing
// sleep and the one below it that failed, the tail or its bounds, the
// shutdown and the margin the grace period adds up from.
func TestTuneSaysWhatTheGraceRestsOn(t *testing.T) {
	res := tune.Result{Found: true, PreStop: 2, Failing: 1, Steps: []tune.Step{{Trials: []tune.Trial{{}, {}}}, {Trials: []tune.Trial{{}}}}}
	rec := tune.Recommendation{PreStopSeconds: 2, GraceSeconds: 8, Shutdown: 953 * time.Millisecond, Margin: 5 * time.Second}
	got := describe(res, rec, suites.Scenario{}, suites.PathNodePort, execFlags{out: "out", repeat: 2})
	for _, want := range []string{
		"smallest preStop that passed: 2 s (1 s did not)",
		"propagation tail on nodeport: not measured (the app names no pod in its answers: X-Pod-Name); the search bounds it: requests still reached pods that exited 1 s after their deletion, none that exited 2 s after",
		"app shutdown after SIGTERM: at most 950ms",
		"grace period: 8 s = preStop 2 s + shutdown 950ms (rounded up to a second) + margin 5s",
		"the search: 2 candidates, 3 runs (2 per passing candidate); report: out/report.md",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the summary does not say %q:\n%s", want, got)
		}
	}
	rec.TailMeasured, rec.Tail, rec.Shutdown, rec.Killed = true, 1234*time.Millisecond, -1, 2
	res.Failing, res.PreStop, rec.PreStopSeconds = -1, 0, 0
	got = describe(res, rec, suites.Scenario{}, suites.PathClusterIP, execFlags{out: "out", repeat: 1})
	for _, want := range []string{"drops nothing on clusterip without one", "propagation tail on clusterip: 1.234s", "not measured (no pod seen exiting)", "SIGKILLed app containers in the runs: 2"} {
		if !strings.Contains(got, want) {
			t.Errorf("the summary does not say %q:\n%s", want, got)
		}
	}
}
