package reports

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

var update = flag.Bool("update", false, "rewrite golden files")

// testdata/run1 holds the outcomes of a real `make e2e` run on this project's
// air-gapped kind cluster (records and timelines left out).
func TestMarkdownGolden(t *testing.T) {
	outs, err := outcome.LoadDirs("testdata/run1")
	if err != nil {
		t.Fatal(err)
	}
	got := Markdown(outs)
	p := filepath.Join("testdata", "run1.md")
	if *update {
		os.WriteFile(p, []byte(got), 0o644)
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("markdown differs from %s (go test ./reports -update if intended):\n%s", p, got)
	}
	for _, s := range []string{"# zerodrop report: PASS", "naive (fail expected)", "❌", "✅ fail 538/4736 (refused 33, reset 34, eof 5, timeout 410, 502 56)",
		"prestop-and-drain: drops nothing in 4 of 4 with new-connection clients", "preStop `sleep` of **3s**", "3.9s before SIGTERM"} {
		if s == "❌" {
			if strings.Contains(got, "| ❌") {
				t.Errorf("a run where everything was as expected shows ❌")
			}
			continue
		}
		if !strings.Contains(got, s) {
			t.Errorf("report lacks %q", s)
		}
	}
}

func TestMarkdownFlagsABlindControl(t *testing.T) {
	outs, err := outcome.LoadDirs("testdata/run1")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if o.Scenario.Profile.Name == "naive" {
			o.Verdict.Result, o.Verdict.AsExpected, o.Failures = outcome.Pass, false, nil
			for _, w := range o.Window.Paths {
				w.Failed = nil
			}
			o.Verdict.Reason = "zero failed requests; this negative control must drop requests: the instrument is blind"
		}
	}
	got := Markdown(outs)
	if !strings.Contains(got, "# zerodrop report: FAIL") || !strings.Contains(got, "❌ pass 0/4736") || !strings.Contains(got, "the instrument is blind") {
		t.Fatalf("a blind control must fail the report:\n%s", got)
	}
}

func TestReadRejectsOtherSchemas(t *testing.T) {
	p := filepath.Join(t.TempDir(), "outcome.json")
	os.WriteFile(p, []byte(`{"schema":"zerodrop.outcome/v0"}`), 0o644)
	if _, err := outcome.Read(p); err == nil || !strings.Contains(err.Error(), "zerodrop.outcome/v1") {
		t.Fatalf("got %v", err)
	}
}

// TestTrialsThatDisagreeAreFlaky: the same cell over repeated trials with
// different verdicts is marked flaky and fails the report.
func TestTrialsThatDisagreeAreFlaky(t *testing.T) {
	a, err := outcome.LoadDirs("testdata/run1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := outcome.LoadDirs("testdata/run1")
	var outs []*outcome.Outcome
	for i := range a {
		a[i].Scenario.Trial, b[i].Scenario.Trial = 1, 2
		outs = append(outs, a[i], b[i])
	}
	got := Markdown(outs)
	if strings.Contains(got, "🔀 flaky:") || !strings.Contains(got, "pass 2 of 2 trials; failures 0,0") {
		t.Fatalf("agreeing trials:\n%s", got)
	}
	for _, o := range b {
		if o.Scenario.Profile.Name == "prestop-and-drain" && o.Scenario.Disruption == "drain-node" {
			o.Verdict.Result, o.Verdict.AsExpected = outcome.Fail, false
			o.Window.Paths["nodeport"].Failed = map[outcome.Class]int{outcome.Refused: 7}
		}
	}
	got = Markdown(outs)
	if !strings.Contains(got, "# zerodrop report: FAIL") || !strings.Contains(got, "🔀 flaky: pass 1, fail 1 of 2 trials; failures 0,7") || !strings.Contains(got, "1 flaky") {
		t.Fatalf("disagreeing trials:\n%s", got)
	}
}

// TestSidecarAdviceNamesTheProxy: a failing cell behind a proxy sidecar is
// told what to change about the proxy, not the app's preStop.
func TestSidecarAdviceNamesTheProxy(t *testing.T) {
	outs, err := outcome.LoadDirs("testdata/run1")
	if err != nil {
		t.Fatal(err)
	}
	var naive []*outcome.Outcome
	for _, o := range outs {
		if o.Scenario.Profile.Name == "naive" {
			naive = append(naive, o)
		}
	}
	if len(naive) == 0 {
		t.Fatal("run1 has no naive outcome")
	}
	for _, o := range naive {
		o.Scenario.Profile.Name = "sidecar-classic"
		o.Scenario.Profile.Sidecar = &outcome.Sidecar{Mode: "classic", OnTerm: "exit"}
	}
	got := Markdown(naive)
	if !strings.Contains(got, "the proxy sidecar is stopped with the app and exits at once") || !strings.Contains(got, "behind a classic proxy sidecar: preStop none, on SIGTERM exit") {
		t.Fatalf("classic sidecar advice and profile line missing:\n%s", got)
	}
	// a native proxy fails only kept-alive clients: their cell says where the drain must start
	for _, o := range naive {
		o.Scenario.Profile.Name = "sidecar-native"
		o.Scenario.Profile.Sidecar = &outcome.Sidecar{Mode: "native", OnTerm: "exit"}
		o.Cells = []outcome.Cell{{Client: outcome.KeepAlive, Paths: o.Scenario.Paths, Expected: o.Verdict.Expected, Verdict: o.Verdict}}
	}
	got = Markdown(naive)
	if !strings.Contains(got, "start the proxy's drain in its preStop hook") || strings.Contains(got, "the proxy sidecar is stopped with the app") {
		t.Fatalf("native sidecar keep-alive advice missing:\n%s", got)
	}
	// a proxy a SidecarSet upgrades in place must take its pod out itself
	for _, o := range naive {
		o.Scenario.Profile.Name = "sidecarset-exit"
		o.Scenario.Profile.Sidecar = &outcome.Sidecar{Mode: "sidecarset", OnTerm: "exit"}
	}
	got = Markdown(naive)
	if !strings.Contains(got, "an in-place sidecar upgrade stops the proxy alone") {
		t.Fatalf("SidecarSet advice missing:\n%s", got)
	}
}

// TestAStuckRolloutIsItsOwnOutcome: a stuck rollout expected stuck is as
// expected (✅, counted as dropping nothing) and its details say how it got
// stuck and recovered.
func TestAStuckRolloutIsItsOwnOutcome(t *testing.T) {
	outs, err := outcome.LoadDirs("testdata/run1")
	if err != nil {
		t.Fatal(err)
	}
	o := outs[len(outs)-1]
	if o.Disruption == nil {
		o.Disruption = &outcome.Span{Name: "stuck-rollout-v2"}
	}
	o.Disruption.Stuck = &outcome.RolloutStuck{Deployment: "web", Version: "v2", Reason: outcome.ProgressDeadlineExceeded,
		Message: `ReplicaSet "web-6f9" has timed out progressing.`, DeadlineSeconds: 15, RolledBackTo: "1", Replicas: 3, OldMinAvailable: 3}
	o.Verdict = outcome.Verdict{Result: outcome.Stuck, Expected: outcome.ExpectStuck, AsExpected: true, Reason: o.Disruption.Stuck.String() + "; zero failed requests of 100"}
	o.Cells = nil
	got := Markdown([]*outcome.Outcome{o})
	for _, want := range []string{"# zerodrop report: PASS", "✅ stuck", "rollout stuck (ProgressDeadlineExceeded): deployment web gave up on v2",
		"the old version kept 3 of 3 replicas available meanwhile", `has timed out progressing`} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q:\n%s", want, got)
		}
	}
}

// TestAScenariosOwnFailuresGiveNoShutdownAdvice: a control whose
// expectation is its scenario's (a rollout that takes every pod away) is
// no advice about preStop, its tails do not inflate the recommendation,
// and its profile's row keeps the profile's own expectation.
func TestAScenariosOwnFailuresGiveNoShutdownAdvice(t *testing.T) {
	outs, err := outcome.LoadDirs("testdata/run1")
	if err != nil {
		t.Fatal(err)
	}
	base := Markdown(outs)
	var o *outcome.Outcome
	for _, x := range outs {
		if x.Scenario.ID == "prestop-and-drain/rollout-restart/deployment" {
			o = x
		}
	}
	o.Scenario.ID = "prestop-and-drain/stuck-rollout-v2/deployment@never-ready-unavailable100"
	o.Scenario.Disruption = "stuck-rollout-v2"
	o.Tail = map[string]outcome.Tail{"nodeport": {FromEndpointRemoval: 40 * time.Second, Pods: 3}}
	o.Window.Paths["nodeport"].Failed = map[outcome.Class]int{outcome.Refused: 500}
	why := "maxUnavailable 100% scales the old version away before the new one proves itself"
	o.Cells = []outcome.Cell{{Client: outcome.NewConnections, Paths: []string{"nodeport"}, Expected: outcome.ExpectFail, Why: why,
		Verdict: outcome.Verdict{Result: outcome.Fail, Expected: outcome.ExpectFail, AsExpected: true, Reason: "nodeport: 500 failed"}}}
	o.Verdict = o.Cells[0].Verdict
	got := Markdown(outs)
	if strings.Contains(got, "prestop-and-drain (fail expected)") || strings.Contains(got, "**41s**") || strings.Contains(got, "least 41s") || strings.Contains(got, "under stuck-rollout-v2") {
		t.Fatalf("a scenario's own failures leaked into the profile's row or the advice:\n%s", got)
	}
	if adviceOf(got) != adviceOf(base) {
		t.Fatalf("advice changed:\n%s\nwas:\n%s", adviceOf(got), adviceOf(base))
	}
}

func adviceOf(md string) string {
	_, after, _ := strings.Cut(md, "## What to change")
	before, _, _ := strings.Cut(after, "## Scenarios")
	return before
}
