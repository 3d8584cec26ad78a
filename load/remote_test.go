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
	if err := rc.Start(ctx, Plan{Rate: 200, MaxDuration: 30 * time.Second}, []Target{{Path: "clusterip", URL: target.URL}}); err != nil {
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
