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
