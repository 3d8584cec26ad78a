package outcome

import (
	"strings"
	"testing"
)

// ev builds evidence whose window holds sent requests, failed of them refused.
func ev(sent, failed int) Evidence {
	w := Window{Paths: map[string]*WindowPath{"nodeport": {Sent: sent, Failed: map[Class]int{}}}}
	if failed > 0 {
		w.Paths["nodeport"].Failed[Refused] = failed
	}
	return Evidence{Load: result(sent, failed), Window: w, FinalVersionShare: -1}
}

func with(e Evidence, f func(*Evidence)) Evidence { f(&e); return e }

func result(sent, failed int) *LoadResult {
	ps := &PathStats{Path: "nodeport", Sent: sent, OK: sent - failed, FailedAll: failed, Failed: map[Class]int{}}
	if failed > 0 {
		ps.Failed[Refused] = failed
	}
	return &LoadResult{Valid: true, Paths: map[string]*PathStats{"nodeport": ps}}
}

func TestJudge(t *testing.T) {
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
		{"blind control", ev(1000, 0), ExpectFail, Pass, false, "the instrument is blind"},
		{"saturated generator is never a pass", with(ev(1000, 0), func(e *Evidence) { e.Load = invalid }), ExpectPass, Invalid, false, "generator saturated"},
		{"traffic never reached a pod", with(ev(1000, 0), func(e *Evidence) { e.Unreached = []string{"nodeport→web-1"} }), ExpectPass, Invalid, false, "web-1"},
		{"rollout did not happen", with(ev(1000, 0), func(e *Evidence) { e.NewVersion, e.FinalVersionShare = "v2", 0.5 }), ExpectPass, Invalid, false, "50%"},
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
	r := result(10, 0)
	sc := CrossCheck(map[string]map[string]int64{"a": {"nodeport": 6}, "b": {"nodeport": 4}}, nil, r)
	if !sc.Verified || !sc.Complete || sc.Total["nodeport"] != 10 {
		t.Fatalf("%+v", sc)
	}
	sc = CrossCheck(map[string]map[string]int64{"a": {"nodeport": 6}}, nil, r)
	if sc.Verified || !strings.Contains(sc.Note, "server counted 6, load saw 10") {
		t.Fatalf("%+v", sc)
	}
	sc = CrossCheck(map[string]map[string]int64{"a": {"nodeport": 6}}, []string{"b"}, r)
	if sc.Verified || sc.Complete || !strings.Contains(sc.Note, "no count from b") {
		t.Fatalf("%+v", sc)
	}
}
