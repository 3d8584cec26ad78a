package load

import (
	"context"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/fixtures/server"
	"github.com/zerodrop/zerodrop/outcome"
)

// patience bounds every wait of these tests: generous, so a busy machine
// does not fail them, and still a bound.
const patience = 20 * time.Second

// fixture is the project's fixture server on 127.0.0.1, as a pod.
type fixture struct {
	f      *server.Fixture
	addr   string
	pod    string
	served chan struct{}
	once   sync.Once
}

// startFixture serves a fixture whose SIGTERM does what onTerm says; the
// test's end terminates it if the test did not.
func startFixture(t *testing.T, pod string, onTerm server.OnTerm) *fixture {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fx := &fixture{f: server.New(server.Config{PodName: pod, PodVersion: "v1", OnTerm: onTerm, ShutdownTimeout: 5 * time.Second}),
		addr: ln.Addr().String(), pod: pod, served: make(chan struct{})}
	go func() {
		defer close(fx.served)
		fx.f.Serve(ln)
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // no drain left: shut down now
		fx.terminate(ctx)
		select {
		case <-fx.served:
		case <-time.After(patience):
			t.Errorf("fixture %s did not stop", pod)
		}
	})
	return fx
}

// terminate is the pod's SIGTERM (once); in drain mode it returns when the
// drain is over or ctx ends.
func (fx *fixture) terminate(ctx context.Context) {
	fx.once.Do(func() { fx.f.Terminate(ctx) })
}

// sigterm terminates the fixture in the background: a drain keeps serving
// (turning new streams away) until the test ends.
func (fx *fixture) sigterm(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		fx.terminate(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func drain(d time.Duration) server.OnTerm { return server.OnTerm{Mode: server.ModeDrain, Drain: d} }

var exitNow = server.OnTerm{Mode: server.ModeExit}

// switcher is a TCP proxy on 127.0.0.1 that sends each new connection to
// the next of its backends, round robin: a Service whose endpoints the
// test changes. Connections already made stay where they are, as
// conntrack keeps them.
type switcher struct {
	addr     string
	mu       sync.Mutex
	backends []string
	n        int
}

func newSwitcher(t *testing.T, backends ...string) *switcher {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &switcher{addr: ln.Addr().String(), backends: backends}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.pipe(c)
		}
	}()
	return s
}

// route replaces the backends new connections go to.
func (s *switcher) route(backends ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.backends = backends
}

func (s *switcher) pipe(c net.Conn) {
	defer c.Close()
	s.mu.Lock()
	to := s.backends[s.n%len(s.backends)]
	s.n++
	s.mu.Unlock()
	b, err := net.Dial("tcp", to)
	if err != nil {
		return
	}
	defer b.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(b, c); done <- struct{}{} }()
	go func() { io.Copy(c, b); done <- struct{}{} }()
	<-done // either side ended: end both, as a dead peer's would
}

// collect is a Sink keeping every record.
type collect struct {
	mu      sync.Mutex
	recs    []Record
	written chan struct{} // closed and replaced on every record
}

func (c *collect) Write(r Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recs = append(c.recs, r)
	if c.written != nil {
		close(c.written)
	}
	c.written = make(chan struct{})
	return nil
}

func (c *collect) all() []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Record(nil), c.recs...)
}

// waitFor waits until ok holds for the records so far.
func (c *collect) waitFor(t *testing.T, what string, ok func([]Record) bool) {
	t.Helper()
	deadline := time.After(patience)
	for {
		c.mu.Lock()
		if c.written == nil {
			c.written = make(chan struct{})
		}
		written := c.written
		recs := append([]Record(nil), c.recs...)
		c.mu.Unlock()
		if ok(recs) {
			return
		}
		select {
		case <-written:
		case <-deadline:
			t.Fatalf("%s: %d records", what, len(recs))
		}
	}
}

// waitLive waits until ok holds for the live sessions (path -> pod -> n).
func waitLive(t *testing.T, s *Streams, what string, ok func(map[string]map[string]int) bool) {
	t.Helper()
	deadline := time.After(patience)
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		live := s.Live()
		if ok(live) {
			return
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("%s: live sessions %v", what, live)
		}
	}
}

// stopAndWait stops the load and returns its result and records, after
// checking the accounting every stream path must satisfy: sessions opened
// = sessions recorded = ok + failed = records, with no number missing.
func stopAndWait(t *testing.T, s *Streams, sink *collect) (*Result, []Record) {
	t.Helper()
	s.Stop()
	select {
	case <-s.Done():
	case <-time.After(patience):
		t.Fatal("the stream load did not end after Stop")
	}
	res, err := s.Wait()
	if err != nil {
		t.Fatal(err)
	}
	recs := sink.all()
	onDisk := map[string]int{}
	for _, r := range recs {
		onDisk[r.Path]++
		if r.Session == nil {
			t.Fatalf("a stream record without its session: %+v", r)
		}
	}
	for _, c := range outcome.Reconcile(res, onDisk) {
		if c.Problem != "" || c.Scheduled == 0 {
			t.Fatalf("reconciliation %+v", c)
		}
	}
	if !res.Valid {
		t.Fatalf("run invalid: %v", res.Invalid)
	}
	return res, recs
}

func byClass(recs []Record) map[Class]int {
	m := map[Class]int{}
	for _, r := range recs {
		m[r.Class]++
	}
	return m
}
