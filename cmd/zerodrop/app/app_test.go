package app

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
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
