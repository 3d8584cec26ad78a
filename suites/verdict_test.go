package suites

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/load"
	"github.com/zerodrop/zerodrop/reports"
)

// ev builds evidence whose window holds sent requests, failed of them refused.
func ev(sent, failed int) Evidence {
	w := reports.Window{Paths: map[string]*reports.WindowPath{"nodeport": {Sent: sent, Failed: map[load.Class]int{}}}}
	if failed > 0 {
		w.Paths["nodeport"].Failed[load.Refused] = failed
	}
	return Evidence{Load: result(sent, failed), Window: w, FinalVersionShare: -1}
}

func with(e Evidence, f func(*Evidence)) Evidence { f(&e); return e }

func result(sent, failed int) *load.Result {
	ps := &load.PathStats{Path: "nodeport", Sent: sent, OK: sent - failed, FailedAll: failed, Failed: map[load.Class]int{}}
	if failed > 0 {
		ps.Failed[load.Refused] = failed
	}
	return &load.Result{Valid: true, Paths: map[string]*load.PathStats{"nodeport": ps}}
}

func TestJudge(t *testing.T) {
	invalid := result(100, 0)
	invalid.Valid, invalid.Invalid = false, []string{"nodeport: generator saturated"}
	cases := []struct {
		name   string
		ev     Evidence
		expect fixtures.Expectation
		want   reports.Result
		as     bool
		reason string
	}{
		{"clean pass", ev(1000, 0), fixtures.ExpectPass, reports.Pass, true, "zero failed requests of 1000"},
		{"failures", ev(1000, 7), fixtures.ExpectPass, reports.Fail, false, "nodeport: 7 of 1000 failed (refused 7)"},
		{"warm-up failures are not judged", with(ev(1000, 0), func(e *Evidence) { e.Load = result(1003, 3); e.Window.Warmup = 3 }), fixtures.ExpectPass, reports.Pass, true, "zero failed requests of 1000"},
		{"control fails as it must", ev(1000, 7), fixtures.ExpectFail, reports.Fail, true, "refused 7"},
		{"blind control", ev(1000, 0), fixtures.ExpectFail, reports.Pass, false, "the instrument is blind"},
		{"saturated generator is never a pass", with(ev(1000, 0), func(e *Evidence) { e.Load = invalid }), fixtures.ExpectPass, reports.Invalid, false, "generator saturated"},
		{"traffic never reached a pod", with(ev(1000, 0), func(e *Evidence) { e.Unreached = []string{"nodeport→web-1"} }), fixtures.ExpectPass, reports.Invalid, false, "web-1"},
		{"rollout did not happen", with(ev(1000, 0), func(e *Evidence) { e.NewVersion, e.FinalVersionShare = "v2", 0.5 }), fixtures.ExpectPass, reports.Invalid, false, "50%"},
		{"disruption error", with(ev(1000, 0), func(e *Evidence) { e.DisruptionErr = errors.New("pdb blocked") }), fixtures.ExpectPass, reports.Error, false, "pdb blocked"},
		{"server disagrees", with(ev(1000, 0), func(e *Evidence) {
			e.Server = reports.ServerCounts{Complete: true, Verified: false, Note: "nodeport: server counted 990"}
		}), fixtures.ExpectPass, reports.Invalid, false, "990"},
	}
	for _, c := range cases {
		v := Judge(c.ev, c.expect)
		if v.Result != c.want || v.AsExpected != c.as || !strings.Contains(v.Reason, c.reason) {
			t.Errorf("%s: got %+v, want %s asExpected=%v reason containing %q", c.name, v, c.want, c.as, c.reason)
		}
	}
}

func TestPropagationTails(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	tl := []chaos.Event{
		{Time: t0, Source: "app", Kind: "app_sigterm", Pod: "web-a"},
		{Time: t0.Add(200 * time.Millisecond), Source: "endpoint", Kind: "endpoint_terminating", Pod: "web-a"},
		{Time: t0.Add(time.Second), Source: "app", Kind: "app_sigterm", Pod: "web-b"},
	}
	recs := []load.Record{
		{Path: "nodeport", Pod: "web-a", Class: load.OK, Start: t0.Add(-time.Second)},
		{Path: "nodeport", Pod: "web-a", Class: load.OK, Start: t0.Add(900 * time.Millisecond)},
		{Path: "nodeport", Pod: "web-b", Class: load.OK, Start: t0.Add(1300 * time.Millisecond)},
		{Path: "nodeport", Pod: "web-a", Class: load.Refused, Start: t0.Add(5 * time.Second)},
		{Path: "nodeport", Pod: "web-c", Class: load.OK, Start: t0.Add(5 * time.Second)}, // never terminated
	}
	tails := PropagationTails(recs, tl)
	got := tails["nodeport"]
	if got.FromSIGTERM != 900*time.Millisecond || got.Pod != "web-a" || got.FromEndpointRemoval != 700*time.Millisecond || got.Pods != 2 {
		t.Fatalf("tail %+v", got)
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
