package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerodrop/zerodrop/internal/droptest"
	"github.com/zerodrop/zerodrop/outcome"
)

func run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := Run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), err
}

func TestReportRendersRealOutcomes(t *testing.T) {
	out, _, err := run(t, "report", "../../../reports/testdata/run1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "# zerodrop report: PASS") || !strings.Contains(out, "prestop-and-drain") {
		t.Fatalf("report:\n%s", out)
	}
}

func TestBadInputIsNamedBeforeClusterWork(t *testing.T) {
	cases := map[string][]string{
		"cluster.workers -1":        {"up", "--workers", "-1", "--mode", "airgapped"},
		"cluster.kubeProxyMode":     {"up", "--kube-proxy-mode", "ipvs", "--mode", "airgapped"},
		"--mode \"sometimes\"":      {"up", "--mode", "sometimes"},
		"is not a directory":        {"report", "/nonexistent/dir"},
		"cluster.name \"Bad_Name\"": {"up", "--name", "Bad_Name", "--mode", "airgapped"},
		"Invalid token":             {"run", "--labels", "gating ||| x"},
		"selects no scenario":       {"run", "--labels", "nothing"},
	}
	for want, args := range cases {
		_, _, err := run(t, args...)
		var ie inputError
		if err == nil || !errors.As(err, &ie) || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: want a bad-input error containing %q, got %v", args, want, err)
		}
	}
}

func TestRunListsTheSelectedScenarios(t *testing.T) {
	out, _, err := run(t, "run", "--list", "--labels", "gating")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 5 || !strings.HasPrefix(lines[0], "prestop-and-drain/rolling-update-v2/deployment\t") || !strings.Contains(out, "naive/") {
		t.Fatalf("run --list --labels gating:\n%s", out)
	}
}

// TestLoadReportsEveryDroppedAttempt: `zerodrop load` against a server that
// drops every fifth request on a reused connection reports each dropped
// attempt (Go's transport retried it unseen) and exits with failure.
func TestLoadReportsEveryDroppedAttempt(t *testing.T) {
	url, dropped := droptest.Server(t, func(_, nth int) bool { return nth%5 != 0 }, nil)
	var out string
	var stdout, stderr bytes.Buffer
	// a machine too busy to keep the schedule makes the run no evidence
	// (it says so, and reports no failures): run it again, a few times at most
	for attempt := 1; ; attempt++ {
		out = t.TempDir()
		stdout.Reset()
		dropped.Store(0)
		err := Run(context.Background(), []string{"load", "--url", url, "--rate", "100", "--duration", "2s", "--keepalive", "--pool", "2", "--out", out}, &stdout, &stderr)
		if errors.Is(err, errFailedRequests) {
			break
		}
		if err == nil || !strings.Contains(err.Error(), "no evidence") || attempt == 3 {
			t.Fatalf("err %v, want failed requests\n%s", err, stdout.String())
		}
		t.Logf("run %d no evidence, again: %v", attempt, err)
	}
	n := dropped.Load()
	if n == 0 {
		t.Fatal("the server dropped nothing: the test proves nothing")
	}
	if want := fmt.Sprintf("dropped tries Go's transport retried unseen: %d", n); !strings.Contains(stdout.String(), want) {
		t.Fatalf("output does not report the %d dropped attempts (%q):\n%s", n, want, stdout.String())
	}
	f, err := os.Open(filepath.Join(out, "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var extra int64
	if err := outcome.ReadRecords(f, func(r outcome.Record) error {
		if r.Class == outcome.RetriedNoAnswer {
			extra += int64(r.Attempts - 1)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if extra != n {
		t.Fatalf("records.jsonl holds %d hidden tries, the server dropped %d", extra, n)
	}
	if err := Run(context.Background(), []string{"load", "--url", url, "--rate", "10"}, &stdout, &stderr); !isBadInput(err) {
		t.Fatalf("no --out, no --duration: %v", err)
	}
}

func isBadInput(err error) bool {
	var ie inputError
	return errors.As(err, &ie)
}
