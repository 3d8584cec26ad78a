package outcome

import (
	"strings"
	"testing"
)

// TestJudgeCellsJudgesEachClientAlone: a keep-alive client that loses
// requests where new connections lose none gives two verdicts, each
// against its own expectation.
func TestJudgeCellsJudgesEachClientAlone(t *testing.T) {
	e := ev(1000, 0)
	e.Paths = []string{"nodeport", "nodeport+ka"}
	e.Window.Paths["nodeport+ka"] = &WindowPath{Sent: 1000, Failed: map[Class]int{RetriedNoAnswer: 3}}
	e.Load.Paths["nodeport+ka"] = &PathStats{Path: "nodeport+ka", Scheduled: 1000, Sent: 1000, OK: 997, FailedAll: 3, Last: e.Load.Paths["nodeport"].Last}
	e.Reconciliation = Reconcile(e.Load, map[string]int{"nodeport": 1000, "nodeport+ka": 1000})
	e.RacesInSpan = map[string]int{"nodeport+ka": 3}
	exp := Expectations{NewConnections: {Expect: ExpectPass, Why: "endpoint removal outruns nothing"}, KeepAlive: {Expect: ExpectFail, Why: "pooled connections meet the exit"}}
	cells, v := JudgeCells(e, exp)
	if len(cells) != 2 || cells[0].Verdict.Result != Pass || cells[1].Verdict.Result != Fail || !v.AsExpected {
		t.Fatalf("cells %+v, folded %+v", cells, v)
	}
	if v.Result != Fail || !strings.Contains(v.Reason, "keep-alive: fail: nodeport+ka: 3 of 1000 failed (retried-no-answer 3)") || v.Expected != "pass/fail" {
		t.Fatalf("folded %+v", v)
	}
	// the same evidence against a pass for both clients is not as expected
	exp[KeepAlive] = Expected{Expect: ExpectPass, Why: ""}
	if _, v := JudgeCells(e, exp); v.AsExpected {
		t.Fatalf("folded %+v", v)
	}
}

// TestACellIsJudgedOnItsOwnPathsLoad: a stalled generator on one client's
// path makes that cell no evidence, not the other client's.
func TestACellIsJudgedOnItsOwnPathsLoad(t *testing.T) {
	e := ev(1000, 0)
	e.Paths = []string{"nodeport", "nodeport+ka"}
	e.Window.Paths["nodeport+ka"] = &WindowPath{Sent: 1000}
	e.Load.Paths["nodeport+ka"] = &PathStats{Path: "nodeport+ka", Scheduled: 1000, Sent: 1000, OK: 1000, Last: e.Load.Paths["nodeport"].Last}
	e.Reconciliation = Reconcile(e.Load, map[string]int{"nodeport": 1000, "nodeport+ka": 1000})
	e.Load.Valid, e.Load.Invalid = false, []string{"nodeport: generator stalled: a request started 1.7s behind its schedule"}
	cells, _ := JudgeCells(e, Expectations{NewConnections: {Expect: ExpectPass, Why: ""}, KeepAlive: {Expect: ExpectPass, Why: ""}})
	if cells[0].Verdict.Result != Invalid || cells[1].Verdict.Result != Pass || e.Load.Valid {
		t.Fatalf("cells %+v", cells)
	}
}

// TestAStuckRolloutNamesTheScenario: cells that each got stuck with zero
// failures fold into a stuck scenario, not a pass; a failing cell still
// makes it fail.
func TestAStuckRolloutNamesTheScenario(t *testing.T) {
	stuck := RolloutStuck{Deployment: "web", Version: "v2", Reason: ProgressDeadlineExceeded, DeadlineSeconds: 20, RolledBackTo: "1"}
	e := ev(1000, 0)
	e.Stuck = &stuck
	e.Paths = []string{"nodeport", "nodeport+ka"}
	e.Window.Paths["nodeport+ka"] = &WindowPath{Sent: 1000}
	e.Load.Paths["nodeport+ka"] = &PathStats{Path: "nodeport+ka", Scheduled: 1000, Sent: 1000, OK: 1000, Last: e.Load.Paths["nodeport"].Last}
	e.Reconciliation = Reconcile(e.Load, map[string]int{"nodeport": 1000, "nodeport+ka": 1000})
	exp := Expectations{NewConnections: {Expect: ExpectStuck, Why: "maxUnavailable 0"}, KeepAlive: {Expect: ExpectStuck, Why: "maxUnavailable 0"}}
	if _, v := JudgeCells(e, exp); v.Result != Stuck || !v.AsExpected || v.Expected != ExpectStuck {
		t.Fatalf("folded %+v", v)
	}
	e.Window.Paths["nodeport+ka"].Failed = map[Class]int{Reset: 2}
	e.Load.Paths["nodeport+ka"].FailedAll, e.Load.Paths["nodeport+ka"].OK = 2, 998
	e.RacesInSpan = map[string]int{"nodeport+ka": 2}
	if _, v := JudgeCells(e, exp); v.Result != Fail || v.AsExpected {
		t.Fatalf("folded %+v", v)
	}
}
