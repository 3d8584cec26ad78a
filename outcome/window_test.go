package outcome

import (
	"testing"
	"time"
)

func TestMeasureWindow(t *testing.T) {
	t0 := time.Now()
	recs := []Record{
		{Path: "nodeport", Start: t0.Add(-time.Second), Class: Reset},
		{Path: "nodeport", Start: t0, Class: OK},
		{Path: "nodeport", Start: t0.Add(time.Second), Class: EOF},
		{Path: "ingress", Start: t0.Add(time.Second), Class: OK},
	}
	w := MeasureWindow(recs, t0)
	if w.Sent() != 3 || w.Failed() != 1 || w.Warmup != 1 || w.Summary() != "nodeport: 1 of 2 failed (eof 1)" {
		t.Fatalf("%+v %q", w, w.Summary())
	}
}

// A stream session opened in the warm-up and cut during the disruption
// failed inside the judged window and the span: it is judged at its end.
// So is a long request sent before and cut inside.
func TestStreamSessionsAreJudgedAtTheirEnd(t *testing.T) {
	t0 := time.Now()
	cut := Record{Path: "sse", Start: t0.Add(-time.Minute), Latency: time.Minute + 2*time.Second, Class: StreamCut, Session: &Session{Kind: SSE, Messages: 600}}
	early := Record{Path: "sse", Start: t0.Add(-time.Minute), Latency: time.Second, Class: StreamCut, Session: &Session{Kind: SSE}}
	req := Record{Path: "nodeport", Start: t0.Add(-time.Second), Latency: 3 * time.Second, Class: Reset}
	recs := []Record{cut, early, req}
	w := MeasureWindow(recs, t0)
	if w.Sent() != 2 || w.Failed() != 2 || w.Warmup != 1 || w.Paths["sse"].Failed[StreamCut] != 1 || w.Paths["nodeport"].Failed[Reset] != 1 {
		t.Fatalf("window %+v", w)
	}
	sent, races := InSpan(recs, Span{Start: t0, End: t0.Add(5 * time.Second)})
	if sent["sse"] != 1 || races["sse"] != 1 || sent["nodeport"] != 1 || races["nodeport"] != 1 {
		t.Fatalf("in span %v, races %v", sent, races)
	}
	if !req.At().Equal(req.End()) || !cut.At().Equal(cut.End()) {
		t.Fatal("a request and a session are judged at their end")
	}
}
