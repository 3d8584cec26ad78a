package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"

	"github.com/zerodrop/zerodrop/internal/exampleimage"
	"github.com/zerodrop/zerodrop/kind"
)

// examples is a copy of docs/examples with the example app's image archive
// where the scenario files name it (make examples writes it beside them).
var examples = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "zerodrop-examples-")
	if err != nil {
		return "", err
	}
	return dir, exampleimage.CopyExamples(context.Background(), "../../../docs/examples", dir)
})

// example is the preStop example's scenario file, in that copy.
func example(t *testing.T) string {
	t.Helper()
	dir, err := examples()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "plain-app-prestop", "zerodrop.yaml")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dir, err := examples(); err == nil && strings.Contains(dir, "zerodrop-examples-") {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

func TestValidateSaysWhatAValidFileRuns(t *testing.T) {
	example := example(t)
	out, _, err := run(t, "validate", "-f", example)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := example + ": valid: 3 scenarios of Deployment plain-app (3 replicas, preStop sleep 10s, grace 30s) on nodeport, nodeport+ka, clusterip, clusterip+ka at 100 rps: plain-app-prestop/rolling-update-v2/deployment,"
	if len(lines) != 1 || !strings.HasPrefix(lines[0], want) || !strings.HasSuffix(lines[0], "; expect pass, keep-alive at-risk") {
		t.Fatalf("validate printed:\n%s\nwant one line starting %q", out, want)
	}
}

// TestScenarioFileProblemsAreBadInput: validate and run -f report every
// problem with exit status 2, before any cluster work.
func TestScenarioFileProblemsAreBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "zerodrop.yaml")
	example := example(t)
	data, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "rate: 100", "rate: -5", 1)
	text = strings.Replace(text, "images: [../plain-app/plain-app.tar]", "images: [app.tar]", 1)
	if err := os.WriteFile(bad, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"validate", "-f", bad}, {"run", "-f", bad}, {"run", "-f", bad, "--list"}} {
		_, _, err := run(t, args...)
		if !isBadInput(err) {
			t.Fatalf("%v: %v, want bad input", args, err)
		}
		for _, want := range []string{args[0] + ": scenario file " + bad + ": 3 problems:\n", "spec.load.rate -5: use 1 to 20000 requests per second",
			`spec.images[0] "app.tar": no such file or directory`,
			// the manifests stay beside the example: a missing directory, not its missing controller
			`spec.manifests[0] "manifests/": no such file or directory`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%v: the error does not say %q:\n%v", args, want, err)
			}
		}
	}
	if _, _, err := run(t, "validate", "-f", filepath.Join(dir, "none.yaml")); !isBadInput(err) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing file: %v", err)
	}
	if _, _, err := run(t, "run", "-f", example, "--labels", "gating"); !isBadInput(err) || !strings.Contains(err.Error(), "with -f the scenario file says what runs") {
		t.Errorf("-f with --labels: %v", err)
	}
}

func TestRunListsAFilesScenarios(t *testing.T) {
	example := example(t)
	out, _, err := run(t, "run", "-f", example, "--list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != "plain-app-prestop/rolling-update-v2/deployment\t"+example {
		t.Fatalf("run -f --list:\n%s", out)
	}
}

func TestVersionNamesTheBuild(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/zerodrop/zerodrop", Version: "v0.4.0"}}
	platform := runtime.GOOS + "/" + runtime.GOARCH
	if got, want := versionLine(bi, true), "zerodrop v0.4.0 go1.26.8 "+platform; got != want {
		t.Errorf("released: %q, want %q", got, want)
	}
	bi.Main.Version = "(devel)"
	bi.Settings = []debug.BuildSetting{{Key: "vcs.revision", Value: "3543fe40091f410b064b51c2762f272d32f68a10"}, {Key: "vcs.time", Value: "2026-11-30T06:51:00Z"}, {Key: "vcs.modified", Value: "true"}}
	if got, want := versionLine(bi, true), "zerodrop (devel) (revision 3543fe40091f, 2026-11-30T06:51:00Z, modified) go1.26.8 "+platform; got != want {
		t.Errorf("from source: %q, want %q", got, want)
	}
	bi.Settings = nil
	if got := versionLine(bi, true); !strings.Contains(got, "no VCS revision stamped") {
		t.Errorf("unstamped: %q", got)
	}
	out, _, err := run(t, "version")
	if err != nil || !strings.HasPrefix(out, "zerodrop ") || !strings.Contains(out, runtime.Version()) {
		t.Fatalf("version: %q, %v", out, err)
	}
}

func TestCompletionScripts(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		out, _, err := run(t, "completion", shell)
		if err != nil || !strings.Contains(out, "zerodrop") || len(out) < 1000 {
			t.Errorf("completion %s: %v\n%.200s", shell, err, out)
		}
	}
}

func TestReportOfADirectoryWithoutOutcomesIsBadInput(t *testing.T) {
	_, _, err := run(t, "report", t.TempDir())
	if !isBadInput(err) || !strings.Contains(err.Error(), "no outcome.json found") {
		t.Fatalf("report of an empty directory: %v", err)
	}
}

// TestNoClusterSaysItsHintOnce: run on a cluster kind does not list says
// so once, with the command that creates it. The docker kind asks is a
// fake that lists no cluster.
func TestNoClusterSaysItsHintOnce(t *testing.T) {
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("ZERODROP_MODE", "online")
	t.Setenv("ZERODROP_STATE", t.TempDir())
	// the named sets, and a scenario file's scenarios: both go to the cluster
	example := example(t)
	for _, args := range [][]string{{"run"}, {"run", "-f", example}, {"matrix"}} {
		_, _, err := run(t, append(args, "--name", "nosuch", "--out", t.TempDir())...)
		if !errors.Is(err, kind.ErrNoCluster) {
			t.Fatalf("%v on no cluster: %v", args, err)
		}
		msg := err.Error()
		if want := args[0] + ": kind: no such cluster: \"nosuch\": create it with `zerodrop up --name nosuch`"; msg != want || strings.Count(msg, "create it") != 1 {
			t.Fatalf("%v on no cluster: %q, want %q", args, msg, want)
		}
	}
}
