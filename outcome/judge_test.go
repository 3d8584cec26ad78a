package outcome

import (
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)

// ev builds evidence whose window holds sent requests on nodeport, failed
// of them refused inside the disruption span, every count reconciled.
func ev(sent, failed int) Evidence {
	w := Window{Paths: map[string]*WindowPath{"nodeport": {Sent: sent, Failed: map[Class]int{}}}}
	if failed > 0 {
		w.Paths["nodeport"].Failed[Refused] = failed
	}
	res := result(sent, failed)
	return Evidence{Load: res, Paths: []string{"nodeport"}, Window: w, FinalVersionShare: -1,
		Span:           &Span{Start: t0.Add(10 * time.Second), End: t0.Add(20 * time.Second), Settle: 5 * time.Second},
		Reconciliation: Reconcile(res, map[string]int{"nodeport": sent}),
		InSpan:         map[string]int{"nodeport": sent / 2}, RacesInSpan: map[string]int{"nodeport": failed},
		Attribution: map[string]map[Attribution]int{"nodeport": {AttrTerminating: failed}}}
}

func with(e Evidence, f func(*Evidence)) Evidence { f(&e); return e }

func result(sent, failed int) *LoadResult {
	ps := &PathStats{Path: "nodeport", Scheduled: sent, Sent: sent, OK: sent - failed, FailedAll: failed, Failed: map[Class]int{},
		First: t0, Last: t0.Add(25 * time.Second)}
	if failed > 0 {
		ps.Failed[Refused] = failed
	}
	return &LoadResult{Valid: true, Paths: map[string]*PathStats{"nodeport": ps}}
}

func TestJudge(t *testing.T) {
	stuck := RolloutStuck{Deployment: "web", Version: "v2", Reason: ProgressDeadlineExceeded, DeadlineSeconds: 20, After: 21 * time.Second,
		RolledBackTo: "1", RecoveredIn: 4 * time.Second, Replicas: 3, OldMinAvailable: 3}
	invalid := result(100, 0)
	invalid.Valid, invalid.Invalid = false, []string{"nodeport: generator saturated"}
	cases := []struct {
		name   string
		ev     Evidence
		expect Expectation
		want   Result
		as     bool
		reason string
	}{
		{"clean pass", ev(1000, 0), ExpectPass, Pass, true, "zero failed requests of 1000"},
		{"failures", ev(1000, 7), ExpectPass, Fail, false, "nodeport: 7 of 1000 failed (refused 7)"},
		{"warm-up failures are not judged", with(ev(1000, 0), func(e *Evidence) { e.Load = result(1003, 3); e.Window.Warmup = 3 }), ExpectPass, Pass, true, "zero failed requests of 1000"},
		{"control fails as it must", ev(1000, 7), ExpectFail, Fail, true, "refused 7"},
		{"blind control", ev(1000, 0), ExpectFail, Invalid, false, "instrument blind on every path"},
		{"a control failing on one path only is blind on the other", with(ev(1000, 7), func(e *Evidence) {
			e.Paths = append(e.Paths, "clusterip")
			e.Window.Paths["clusterip"] = &WindowPath{Sent: 1000}
			e.Load.Paths["clusterip"] = &PathStats{Path: "clusterip", Scheduled: 1000, Sent: 1000, OK: 1000, Last: t0.Add(25 * time.Second)}
			e.Reconciliation = Reconcile(e.Load, map[string]int{"nodeport": 1000, "clusterip": 1000})
		}), ExpectFail, Invalid, false, "instrument blind on clusterip"},
		{"a control failing outside the disruption is blind", with(ev(1000, 7), func(e *Evidence) { e.RacesInSpan = nil }), ExpectFail, Invalid, false, "instrument blind on nodeport"},
		{"a record missing on disk makes the run no evidence", with(ev(1000, 0), func(e *Evidence) {
			e.Reconciliation = Reconcile(e.Load, map[string]int{"nodeport": 999})
		}), ExpectPass, Invalid, false, "1000 results, 999 records on disk"},
		{"a scheduled request without a result makes the run no evidence", with(ev(1000, 0), func(e *Evidence) {
			e.Load.Paths["nodeport"].Scheduled = 1001
			e.Reconciliation = Reconcile(e.Load, map[string]int{"nodeport": 1000})
		}), ExpectPass, Invalid, false, "1001 scheduled, 1000 results"},
		{"a path with no judged request cannot pass", with(ev(1000, 0), func(e *Evidence) {
			e.Paths = append(e.Paths, "gateway")
		}), ExpectPass, Invalid, false, "no request was judged on gateway"},
		{"a load that ended before the disruption is no evidence", with(ev(1000, 0), func(e *Evidence) {
			e.Load.Paths["nodeport"].Last = t0.Add(15 * time.Second)
		}), ExpectPass, Invalid, false, "the load ended before the disruption did on nodeport"},
		{"failures nothing explains on a saturated machine are not the profile's", with(ev(1000, 7), func(e *Evidence) {
			e.Attribution = map[string]map[Attribution]int{"nodeport": {AttrNone: 7}}
			e.Saturation = []Saturation{{Path: "nodeport", BaseP50: 4 * time.Millisecond, WorstP50: 240 * time.Millisecond, Saturated: true, At: t0}}
		}), ExpectPass, Invalid, false, "system under test saturated"},
		{"failures nothing explains on an idle machine still fail", with(ev(1000, 7), func(e *Evidence) {
			e.Attribution = map[string]map[Attribution]int{"nodeport": {AttrNone: 7}}
			e.Saturation = []Saturation{{Path: "nodeport", BaseP50: 4 * time.Millisecond, WorstP50: 5 * time.Millisecond}}
		}), ExpectPass, Fail, false, "refused 7"},
		{"timeouts the app served are answers the harness lost, not the profile's failures", with(ev(1000, 7), func(e *Evidence) {
			e.Window.Paths["nodeport"].Failed = map[Class]int{Timeout: 7}
			e.Server = ServerCounts{Complete: true, Lost: map[string]int64{"nodeport": 5}}
		}), ExpectPass, Invalid, false, "answers lost on the harness's own way back, not a shutdown race: nodeport: 7 timed out, and the app served 5 requests whose answers never arrived"},
		{"timeouts mostly unmatched by the app's counts still fail", with(ev(1000, 7), func(e *Evidence) {
			e.Window.Paths["nodeport"].Failed = map[Class]int{Timeout: 7}
			e.Server = ServerCounts{Complete: true, Lost: map[string]int64{"nodeport": 3}}
		}), ExpectPass, Fail, false, "timeout 7"},
		{"a refused request beside lost answers still fails", with(ev(1000, 7), func(e *Evidence) {
			e.Window.Paths["nodeport"].Failed = map[Class]int{Timeout: 6, Refused: 1}
			e.Server = ServerCounts{Complete: true, Lost: map[string]int64{"nodeport": 6}}
		}), ExpectPass, Fail, false, "refused 1"},
		{"lost answers need the app's complete counts", with(ev(1000, 7), func(e *Evidence) {
			e.Window.Paths["nodeport"].Failed = map[Class]int{Timeout: 7}
			e.Server = ServerCounts{Lost: map[string]int64{"nodeport": 7}}
		}), ExpectPass, Fail, false, "timeout 7"},
		{"a control's timeouts lost on the way back prove nothing either", with(ev(1000, 7), func(e *Evidence) {
			e.Window.Paths["nodeport"].Failed = map[Class]int{Timeout: 7}
			e.Server = ServerCounts{Complete: true, Lost: map[string]int64{"nodeport": 7}}
		}), ExpectFail, Invalid, false, "answers lost on the harness's own way back"},
		{"a pass states its power", ev(1000, 0), ExpectPass, Pass, true, "500 inside the disruption (failure rate below 0.6% at 95% confidence)"},
		{"incomplete server counts are said, not skipped", with(ev(1000, 0), func(e *Evidence) {
			e.Server = ServerCounts{Note: "no count from web-1@abc"}
		}), ExpectPass, Pass, true, "pass (server counts unverified: no count from web-1@abc)"},
		{"saturated generator is never a pass", with(ev(1000, 0), func(e *Evidence) { e.Load = invalid }), ExpectPass, Invalid, false, "generator saturated"},
		{"traffic never reached a pod", with(ev(1000, 0), func(e *Evidence) { e.Unreached = []string{"nodeport→web-1"} }), ExpectPass, Invalid, false, "web-1"},
		{"rollout did not happen", with(ev(1000, 0), func(e *Evidence) { e.NewVersion, e.FinalVersionShare = "v2", 0.5 }), ExpectPass, Invalid, false, "50%"},
		{"a disruption that did not do what it claims", with(ev(1000, 0), func(e *Evidence) { e.Unverified = "pod web-1 was recreated" }), ExpectPass, Invalid, false, "did not do what it claims: pod web-1 was recreated"},
		{"a blocked drain is its own outcome", with(ev(1000, 0), func(e *Evidence) {
			e.Blocked = "drain of worker blocked by a PodDisruptionBudget: 9 evictions refused (429)"
		}), ExpectBlocked, Blocked, true, "9 evictions refused"},
		{"a drain expected to be blocked that was not", ev(1000, 0), ExpectBlocked, Invalid, false, "expected to be refused"},
		{"a stuck rollout with zero failures is its own outcome", with(ev(1000, 0), func(e *Evidence) { e.Stuck = &stuck }), ExpectStuck, Stuck, true,
			"rollout stuck (ProgressDeadlineExceeded): deployment web gave up on v2 after 21s (progressDeadlineSeconds 20); the old version kept 3 of 3 replicas available meanwhile; rolled back to revision 1, whole again in 4s; zero failed requests of 1000, 500 inside"},
		{"a stuck rollout that dropped requests fails", with(ev(1000, 7), func(e *Evidence) { e.Stuck = &stuck }), ExpectStuck, Fail, false,
			"rolled back to revision 1, whole again in 4s; meanwhile nodeport: 7 of 1000 failed"},
		{"a stuck control that dropped requests fails as it must", with(ev(1000, 7), func(e *Evidence) { e.Stuck = &stuck }), ExpectFail, Fail, true, "rollout stuck (ProgressDeadlineExceeded)"},
		{"a stuck control that dropped nothing is blind", with(ev(1000, 0), func(e *Evidence) { e.Stuck = &stuck }), ExpectFail, Invalid, false, "instrument blind on every path"},
		{"a stuck rollout is no evidence without every request accounted for", with(ev(1000, 0), func(e *Evidence) {
			e.Stuck = &stuck
			e.Reconciliation = Reconcile(e.Load, map[string]int{"nodeport": 999})
		}), ExpectStuck, Invalid, false, "do not reconcile"},
		{"a stuck rollout must leave the old version serving", with(ev(1000, 0), func(e *Evidence) {
			e.Stuck, e.NewVersion, e.FinalVersionShare = &stuck, "v1", 0.9
		}), ExpectStuck, Invalid, false, "the version v1 served only 90% at the end"},
		{"a stuck rollout whose server counts disagree is no evidence", with(ev(1000, 0), func(e *Evidence) {
			e.Stuck, e.Server = &stuck, ServerCounts{Complete: true, Note: "nodeport: server counted 990"}
		}), ExpectStuck, Invalid, false, "server-side counts disagree"},
		{"a stuck rollout where a pass was expected", with(ev(1000, 0), func(e *Evidence) { e.Stuck = &stuck }), ExpectPass, Stuck, false, "rollout stuck"},
		{"a rollout expected to get stuck that completed", ev(1000, 0), ExpectStuck, Invalid, false, "expected to get stuck and completed"},
		{"a rollout expected to get stuck that completed and dropped requests fails", ev(1000, 7), ExpectStuck, Fail, false, "refused 7"},
		{"disruption error", with(ev(1000, 0), func(e *Evidence) { e.DisruptionError = "pdb blocked" }), ExpectPass, Error, false, "pdb blocked"},
		{"server disagrees", with(ev(1000, 0), func(e *Evidence) {
			e.Server = ServerCounts{Complete: true, Verified: false, Note: "nodeport: server counted 990"}
		}), ExpectPass, Invalid, false, "990"},
	}
	for _, c := range cases {
		v := Judge(c.ev, c.expect)
		if v.Result != c.want || v.AsExpected != c.as || !strings.Contains(v.Reason, c.reason) {
			t.Errorf("%s: got %+v, want %s asExpected=%v reason containing %q", c.name, v, c.want, c.as, c.reason)
		}
	}
}

func TestCrossCheck(t *testing.T) {
	answered := map[string]int{"nodeport": 10}
	sc := CrossCheck(map[string]map[string]int64{"a": {"nodeport": 6}, "b": {"nodeport": 4}}, nil, answered, nil)
	if !sc.Verified || !sc.Complete || sc.Total["nodeport"] != 10 {
		t.Fatalf("%+v", sc)
	}
	sc = CrossCheck(map[string]map[string]int64{"a": {"nodeport": 6}}, nil, answered, nil)
	if sc.Verified || !strings.Contains(sc.Note, "server counted 6, load saw 10 answers") {
		t.Fatalf("%+v", sc)
	}
	sc = CrossCheck(map[string]map[string]int64{"a": {"nodeport": 6}}, []string{"b"}, answered, nil)
	if sc.Verified || sc.Complete || !strings.Contains(sc.Note, "no count from b") {
		t.Fatalf("%+v", sc)
	}
}

func TestCrossCheckCountsRetriedRequestsOnce(t *testing.T) {
	recs := []Record{{Path: "nodeport", Code: 200, Class: OK}, {Path: "nodeport", Code: 200, Class: RetriedNoAnswer},
		{Path: "nodeport", Code: 0, Class: Refused}, {Path: "nodeport+sse", Code: 200, Class: StreamCut}}
	answered, retried := Answers(recs)
	if answered["nodeport"] != 2 || retried["nodeport"] != 1 || answered["nodeport+sse"] != 1 {
		t.Fatalf("answered %v retried %v", answered, retried)
	}
	sc := CrossCheck(map[string]map[string]int64{"a": {"nodeport": 2, "nodeport+sse": 1}}, nil, answered, retried)
	if !sc.Verified || len(sc.Retries) != 1 || !strings.Contains(sc.Retries[0], "their first tries never reached it") {
		t.Fatalf("%+v", sc)
	}
	sc = CrossCheck(map[string]map[string]int64{"a": {"nodeport": 4, "nodeport+sse": 1}}, nil, answered, retried)
	if sc.Verified || !strings.Contains(sc.Note, "2 served requests whose answers never arrived") || sc.Lost["nodeport"] != 2 || len(sc.Lost) != 1 {
		t.Fatalf("%+v", sc)
	}
	if kept := sc.only(map[string]bool{"nodeport+sse": true}); kept.Lost != nil || !kept.Verified {
		t.Fatalf("another cell's lost answers leaked into this one: %+v", kept)
	}
}

// TestAControlMayPassOnlyWhereItsExpectationSays: a path a fail
// expectation spares (Expected.MayPass) is not held to fail; every other
// path still is, and a spared path alone proves nothing.
func TestAControlMayPassOnlyWhereItsExpectationSays(t *testing.T) {
	withHeadless := func(e *Evidence) {
		e.Paths = append(e.Paths, "headless")
		e.Window.Paths["headless"] = &WindowPath{Sent: 1000}
		e.Load.Paths["headless"] = &PathStats{Path: "headless", Scheduled: 1000, Sent: 1000, OK: 1000, Last: t0.Add(25 * time.Second)}
		e.Reconciliation = Reconcile(e.Load, map[string]int{"nodeport": 1000, "headless": 1000})
	}
	spare := map[string]string{"headless": "a DNS client falls through to the next address"}
	if v := JudgeExpected(with(ev(1000, 7), withHeadless), Expected{Expect: ExpectFail, MayPass: spare}); v.Result != Fail || !v.AsExpected {
		t.Errorf("spared headless: %+v", v)
	}
	if v := JudgeExpected(with(ev(1000, 7), withHeadless), Expected{Expect: ExpectFail}); v.Result != Invalid || !strings.Contains(v.Reason, "instrument blind on headless") {
		t.Errorf("unspared headless: %+v", v)
	}
	if v := JudgeExpected(with(ev(1000, 7), withHeadless), Expected{Expect: ExpectFail, MayPass: map[string]string{"nodeport": "x"}}); v.Result != Invalid || !strings.Contains(v.Reason, "instrument blind on headless") {
		t.Errorf("sparing another path: %+v", v)
	}
	if v := JudgeExpected(with(ev(1000, 0), withHeadless), Expected{Expect: ExpectFail, MayPass: spare}); v.Result != Invalid || !strings.Contains(v.Reason, "instrument blind on every path") {
		t.Errorf("no failure anywhere: %+v", v)
	}
	// JudgeCells hands each client its spared paths, and the cell records them
	e := with(ev(1000, 7), withHeadless)
	cells, v := JudgeCells(e, Expectations{NewConnections: {Expect: ExpectFail, MayPass: spare}})
	if !v.AsExpected || len(cells) != 1 || cells[0].MayPass["headless"] == "" {
		t.Errorf("cells %+v, verdict %+v", cells, v)
	}
}
