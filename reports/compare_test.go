package reports

import (
	"strings"
	"testing"

	"github.com/zerodrop/zerodrop/outcome"
)

func TestCompareFlagsWhatGotWorse(t *testing.T) {
	base := runOutcomes(t)
	cur := runOutcomes(t)
	if got := Compare(base, cur); len(got) != 0 {
		t.Fatalf("a run compared with itself changed: %+v", got)
	}
	for _, o := range cur {
		if o.Scenario.ID == "prestop-and-drain/drain-node/deployment" {
			o.Verdict.Result, o.Verdict.AsExpected, o.Verdict.Reason = outcome.Fail, false, "nodeport: 2 of 1570 failed"
			o.Failures = append(o.Failures, outcome.Record{Path: "nodeport", Class: outcome.Reset}, outcome.Record{Path: "nodeport", Class: outcome.EOF})
		}
	}
	got := Compare(base, cur[1:]) // and the naive control is missing
	var worse []string
	for _, c := range got {
		if c.Worse {
			worse = append(worse, c.Scenario+": "+c.What)
		}
	}
	joined := strings.Join(worse, "\n")
	for _, want := range []string{"drain-node/deployment: verdict pass → fail", "drain-node/deployment: nodeport: 0 → 2 failed requests", "naive/rolling-update-v2/deployment: not run in this run"} {
		if !strings.Contains(joined, want) {
			t.Errorf("worse changes lack %q:\n%s", want, joined)
		}
	}
	md := MarkdownWithChanges(cur, got)
	if !strings.Contains(md, "## Compared with the baseline") || !strings.Contains(md, "⬇️ worse:") {
		t.Fatalf("markdown lacks the comparison:\n%s", md)
	}
}
