package load

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// cutOnce breaks the first /records stream after limit bytes, mid-line, as a
// dropped proxy connection would.
type cutOnce struct {
	h     http.Handler
	limit int
	cut   atomic.Bool
}

func (c *cutOnce) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/records" && c.cut.CompareAndSwap(false, true) {
		c.h.ServeHTTP(&cutWriter{ResponseWriter: w, left: c.limit}, r)
		return
	}
	c.h.ServeHTTP(w, r)
}

type cutWriter struct {
	http.ResponseWriter
	left int
}

func (w *cutWriter) Write(b []byte) (int, error) {
	if len(b) > w.left {
		w.ResponseWriter.Write(b[:w.left])
		w.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	w.left -= len(b)
	return w.ResponseWriter.Write(b)
}

func (w *cutWriter) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

func TestRemoteStreamsEveryRecordAcrossABrokenStream(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Pod-Name", "web-1")
	}))
	defer target.Close()
	cutter := &cutOnce{h: NewServer().Handler(), limit: 3000}
	gen := httptest.NewServer(cutter)
	defer gen.Close()
	rc := Remote{Base: gen.URL, Client: gen.Client()}
	ctx := context.Background()
	// the stream, not the pace, is under test: a busy machine may slow the pace
	if err := rc.Start(ctx, Plan{Rate: 200, MaxDuration: 30 * time.Second, MinRateRatio: 0.5}, []Target{{Path: "clusterip", URL: target.URL}}); err != nil {
		t.Fatal(err)
	}
	if err := rc.Start(ctx, Plan{Rate: 200, MaxDuration: time.Minute}, []Target{{Path: "clusterip", URL: target.URL}}); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("a second start must be refused: %v", err)
	}
	var mu sync.Mutex
	seen := map[uint64]int{}
	followed := make(chan error, 1)
	var n int
	go func() {
		var err error
		n, err = rc.Follow(ctx, SinkFunc(func(r Record) error {
			mu.Lock()
			seen[r.Seq]++
			mu.Unlock()
			return nil
		}))
		followed <- err
	}()
	time.Sleep(time.Second)
	if err := rc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-followed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Follow did not end after the run ended")
	}
	if !cutter.cut.Load() {
		t.Fatal("the stream was never cut: the test proves nothing")
	}
	res, err := rc.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(res); err != nil {
		t.Fatal(err)
	}
	if n != res.Sent() || len(seen) != res.Sent() || res.Sent() < 150 {
		t.Fatalf("followed %d records (%d distinct), the run sent %d", n, len(seen), res.Sent())
	}
	for seq, c := range seen {
		if c != 1 {
			t.Fatalf("record %d seen %d times", seq, c)
		}
	}
	if res.Paths["clusterip"].Pods["web-1"] != res.Sent() {
		t.Fatalf("pods %v", res.Paths["clusterip"].Pods)
	}
}

func TestMerge(t *testing.T) {
	a := &Result{Valid: true, Paths: map[string]*PathStats{"nodeport": {Sent: 3}}, Started: time.Unix(10, 0), Ended: time.Unix(20, 0)}
	b := &Result{Valid: false, Invalid: []string{"clusterip: saturated"}, Paths: map[string]*PathStats{"clusterip": {Sent: 2}}, Started: time.Unix(5, 0), Ended: time.Unix(25, 0)}
	m := Merge(a, b)
	if m.Valid || m.Sent() != 5 || len(m.Invalid) != 1 || !m.Started.Equal(time.Unix(5, 0)) || !m.Ended.Equal(time.Unix(25, 0)) {
		t.Fatalf("%+v", m)
	}
}

// One generator runs requests and streams together: the records of both
// come back through /records, each path reconciles, the result carries
// both plans.
func TestRemoteRunsStreamsBesideRequests(t *testing.T) {
	a := startFixture(t, "a", drain(time.Minute))
	gen := httptest.NewServer(NewServer().Handler())
	defer gen.Close()
	rc := Remote{Base: gen.URL, Client: gen.Client()}
	ctx := context.Background()

	if err := rc.StartRun(ctx, StartRequest{}); err == nil || !strings.Contains(err.Error(), "400") {
		t.Fatalf("an empty start must be refused: %v", err)
	}
	bad := StartRequest{Plan: Plan{Rate: 10}, Targets: []Target{{Path: "req", URL: "http://" + a.addr + "/"}},
		Streams: &StreamRequest{Plan: StreamPlan{}, Targets: []StreamTarget{{Path: "sse", URL: "http://" + a.addr + "/stream", Kind: SSE}}}}
	if err := rc.StartRun(ctx, bad); err == nil || !strings.Contains(err.Error(), "load.streams.conns") {
		t.Fatalf("a bad stream plan must refuse the whole run: %v", err)
	}
	if _, err := rc.Live(ctx); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("the refused run must not have started: %v", err)
	}

	const conns = 3
	req := StartRequest{Plan: Plan{Rate: 50, MaxDuration: time.Minute}, Targets: []Target{{Path: "req", URL: "http://" + a.addr + "/"}},
		Streams: &StreamRequest{Plan: streamPlan(conns), Targets: []StreamTarget{
			{Path: "sse", URL: "http://" + a.addr + "/stream", Kind: SSE},
			{Path: "ws", URL: "http://" + a.addr + "/ws", Kind: WebSocket},
		}}}
	if err := rc.StartRun(ctx, req); err != nil {
		t.Fatal(err)
	}
	sink := &collect{}
	followed := make(chan error, 1)
	go func() {
		_, err := rc.Follow(ctx, sink)
		followed <- err
	}()
	// the generator has no push for live sessions: ask until warm
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(patience)
	for warm := false; !warm; {
		live, err := rc.Live(ctx)
		if err != nil {
			t.Fatal(err)
		}
		warm = live["sse"]["a"] == conns && live["ws"]["a"] == conns
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("streams not warm: %v", live)
		}
	}
	if missing, err := rc.Spread(ctx, "ws", []string{"a"}, time.Second); err != nil || len(missing) > 0 {
		t.Fatalf("spread of a stream path: %v %v", missing, err)
	}
	sink.waitFor(t, "requests recorded", func(recs []Record) bool { return len(recs) >= 10 })
	if err := rc.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-followed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(patience):
		t.Fatal("Follow did not end after the run ended")
	}
	res, err := rc.Result(ctx)
	if err != nil {
		t.Fatal(err)
	}
	onDisk := map[string]int{}
	for _, r := range sink.all() {
		onDisk[r.Path]++
		if (r.Path == "req") != (r.Session == nil) {
			t.Fatalf("record %+v: only stream paths carry sessions", r)
		}
	}
	for _, c := range outcome.Reconcile(res, onDisk) {
		if c.Problem != "" || c.Results == 0 {
			t.Fatalf("reconciliation %+v", c)
		}
	}
	// the request part may be saturated on a busy machine (its own tests
	// judge that); the stream paths must be valid evidence
	for _, why := range res.Invalid {
		if strings.HasPrefix(why, "sse:") || strings.HasPrefix(why, "ws:") {
			t.Fatalf("stream path invalid: %v", res.Invalid)
		}
	}
	if res.Plan.Rate != 50 || res.Plan.Streams == nil || res.Plan.Streams.Conns != conns || len(res.Targets) != 3 {
		t.Fatalf("merged plan %+v, targets %+v", res.Plan, res.Targets)
	}
	if st := res.Paths["ws"].Stream; st == nil || st.Stopped != conns || res.Paths["ws"].OK != conns || res.Paths["req"].Stream != nil {
		t.Fatalf("ws path %+v", res.Paths["ws"])
	}
}

func TestMergeKeepsBothPlans(t *testing.T) {
	req := &Result{Plan: outcome.Plan{Rate: 100}, Valid: true}
	str := &Result{Plan: outcome.Plan{Streams: &outcome.StreamPlan{Conns: 5}}, Valid: true}
	for _, m := range []*Result{Merge(req, str), Merge(str, req)} {
		if m.Plan.Rate != 100 || m.Plan.Streams == nil || m.Plan.Streams.Conns != 5 {
			t.Fatalf("merged plan %+v", m.Plan)
		}
	}
}
