package outcome

import (
	"math"
	"testing"
	"time"
)

func TestFindStalls(t *testing.T) {
	var recs []Record
	// 10 ms apart, 1 ms each; nothing succeeds from 1.000 s to 1.500 s
	for i := 0; i < 300; i++ {
		at := t0.Add(time.Duration(i) * 10 * time.Millisecond)
		r := Record{Path: "nodeport", Start: at, Latency: time.Millisecond, Class: OK}
		if at.After(t0.Add(time.Second)) && at.Before(t0.Add(1500*time.Millisecond)) {
			r.Class, r.Latency = Timeout, 3*time.Second
		}
		recs = append(recs, r)
	}
	stalls := FindStalls(recs, t0, t0.Add(3*time.Second), 200*time.Millisecond)
	if len(stalls) != 1 {
		t.Fatalf("stalls %+v", stalls)
	}
	s := stalls[0]
	if s.Path != "nodeport" || s.Duration < 490*time.Millisecond || s.Duration > 520*time.Millisecond || s.Sent < 49 || s.Sent > 51 {
		t.Fatalf("stall %+v", s)
	}
	if got := FindStalls(recs, t0, t0.Add(3*time.Second), time.Second); len(got) != 0 {
		t.Fatalf("no stall is longer than a second: %+v", got)
	}
}

func TestAttribute(t *testing.T) {
	tl := []Event{
		{Time: t0.Add(10 * time.Second), Source: SourcePod, Kind: "pod_deleting", Pod: "web-a"},
		{Time: t0.Add(16 * time.Second), Source: SourcePod, Kind: "pod_deleted", Pod: "web-a"},
		{Time: t0.Add(30 * time.Second), Source: SourcePod, Kind: "pod_ready", Pod: "web-b"},
	}
	fail := func(at time.Duration) Record {
		return Record{Path: "nodeport", Start: t0.Add(at), Latency: 10 * time.Millisecond, Class: Refused}
	}
	got := Attribute([]Record{fail(12 * time.Second), fail(31 * time.Second), fail(5 * time.Second), fail(20 * time.Second),
		{Path: "nodeport", Start: t0, Class: OK}}, tl)["nodeport"]
	if got[AttrTerminating] != 1 || got[AttrStarting] != 1 || got[AttrNone] != 2 {
		t.Fatalf("attribution %v", got)
	}
	// a stream opened before the deletion: cut while web-a terminated, or
	// long after it was gone (then the deletion explains nothing)
	session := func(end time.Duration) Record {
		return Record{Path: "sse", Start: t0, Latency: end, Class: StreamCut, Session: &Session{Kind: SSE, Messages: 100}}
	}
	got = Attribute([]Record{session(12 * time.Second), session(25 * time.Second)}, tl)["sse"]
	if got[AttrTerminating] != 1 || got[AttrNone] != 1 {
		t.Fatalf("stream attribution %v", got)
	}
}

// TestANewPodIsNotTerminating: a pod whose endpoint is not ready before it
// ever was ready is starting (a surging rollout's new pod), not
// terminating; once it was ready, not ready is a sign of its end.
func TestANewPodIsNotTerminating(t *testing.T) {
	tl := []Event{
		{Time: t0.Add(10 * time.Second), Source: SourceEndpoint, Kind: "endpoint_not_ready", Pod: "web-new", Detail: "web 10.0.0.9"},
		{Time: t0.Add(12 * time.Second), Source: SourcePod, Kind: "pod_ready", Pod: "web-new"},
		// the other slice lists it not ready after the pod watch saw it ready
		{Time: t0.Add(12500 * time.Millisecond), Source: SourceEndpoint, Kind: "endpoint_not_ready", Pod: "web-new", Detail: "web-np 10.0.0.9"},
		{Time: t0.Add(13 * time.Second), Source: SourceEndpoint, Kind: KindEndpointReady, Pod: "web-new", Detail: "web 10.0.0.9"},
		{Time: t0.Add(13 * time.Second), Source: SourceEndpoint, Kind: KindEndpointReady, Pod: "web-new", Detail: "web-np 10.0.0.9"},
		{Time: t0.Add(40 * time.Second), Source: SourceEndpoint, Kind: "endpoint_not_ready", Pod: "web-new", Detail: "web 10.0.0.9"},
		{Time: t0.Add(50 * time.Second), Source: SourcePod, Kind: "pod_deleted", Pod: "web-new"},
	}
	fail := func(at time.Duration) Record {
		return Record{Path: "nodeport", Start: t0.Add(at), Latency: 10 * time.Millisecond, Class: Refused}
	}
	got := Attribute([]Record{fail(11 * time.Second), fail(20 * time.Second), fail(41 * time.Second)}, tl)["nodeport"]
	if got[AttrTerminating] != 1 || got[AttrStarting] != 0 || got[AttrNone] != 2 {
		t.Fatalf("attribution %v: want the failure after it was ready again not ready as terminating, the others unexplained", got)
	}
	if first, ok := windowsOf(tl).firstTermination(); !ok || !first.Equal(t0.Add(40*time.Second)) {
		t.Fatalf("first termination %v, %v: want the not ready after ready", first, ok)
	}
}

func TestFindStallsLeavesStreamsOut(t *testing.T) {
	open := Record{Path: "sse", Start: t0, Latency: time.Minute, Class: OK, Session: &Session{Kind: SSE, Messages: 600}}
	if got := FindStalls([]Record{open, open}, t0, t0.Add(time.Minute), time.Second); len(got) != 0 {
		t.Fatalf("a stream open for a minute is no stall: %+v", got)
	}
}

func TestMeasureSaturation(t *testing.T) {
	sec := func(at time.Duration, p50 time.Duration) *Second {
		return &Second{At: t0.Add(at), Sent: 100, OK: 100, P50: p50}
	}
	res := &LoadResult{Paths: map[string]*PathStats{
		"nodeport": {Series: []*Second{sec(0, 4*time.Millisecond), sec(time.Second, 4*time.Millisecond), sec(2*time.Second, 5*time.Millisecond),
			sec(3*time.Second, 240*time.Millisecond), sec(4*time.Second, 4*time.Millisecond)}},
		"clusterip": {Series: []*Second{sec(0, 2*time.Millisecond), sec(time.Second, 2*time.Millisecond), sec(2*time.Second, 2*time.Millisecond),
			sec(3*time.Second, 3*time.Millisecond)}},
	}}
	tl := []Event{{Time: t0.Add(4 * time.Second), Source: SourcePod, Kind: "pod_deleting", Pod: "web-a"}}
	sats := MeasureSaturation(res, t0.Add(2*time.Second), tl)
	if len(sats) != 2 {
		t.Fatalf("%+v", sats)
	}
	for _, s := range sats {
		want := s.Path == "nodeport"
		if s.Saturated != want {
			t.Errorf("%s: saturated %v (base %s, worst %s)", s.Path, s.Saturated, s.BaseP50, s.WorstP50)
		}
	}
	if MeasureSaturation(res, t0, nil) != nil {
		t.Fatal("with no termination there is nothing to compare")
	}
}

func TestPowerOf(t *testing.T) {
	p := PowerOf(1000)
	if math.Abs(p.UpperBound-3.0/1000) > 0.0002 {
		t.Fatalf("upper bound %v, want about 3/n", p.UpperBound)
	}
	if PowerOf(0).UpperBound != 1 {
		t.Fatal("no request proves nothing")
	}
}

func TestReconcileFlagsRecordsOfAnUnknownPath(t *testing.T) {
	res := &LoadResult{Paths: map[string]*PathStats{"nodeport": {Scheduled: 3, Sent: 3, OK: 3}}}
	counts := Reconcile(res, map[string]int{"nodeport": 3, "ghost": 2})
	if len(counts) != 2 || counts[0].Problem != "" || counts[1].Problem == "" {
		t.Fatalf("%+v", counts)
	}
}
