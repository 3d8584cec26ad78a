package load

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// Streams is a running stream load: Conns long-lived connections held open
// on every target, each session (one connection from open to end) recorded
// as one Record when it ends.
//
// A session is judged by how it ended: the server's polite close (the SSE
// close event, a WebSocket close frame 1000/1001) is ok and its slot
// reconnects at once; an end without it is a StreamCut, missing messages a
// StreamGap, no message for StallTimeout a Timeout; a failed connect is
// classed as a request would be (refused, 503, ...). Sessions still open
// when the load stops are closed by the harness and are ok.
type Streams struct {
	plan    StreamPlan
	targets []StreamTarget
	sink    Sink
	started time.Time
	stopped context.Context // done once Stop is called
	stop    context.CancelFunc

	mu      sync.Mutex
	paths   map[string]*streamPath
	changed chan struct{} // closed and replaced whenever a session goes live or ends
	sinkErr error
	wg      sync.WaitGroup // one per slot
	done    chan struct{}
	result  *Result
}

// streamPath is one target's state.
type streamPath struct {
	target StreamTarget
	opener opener
	seq    atomic.Uint64 // the next session's number
	msgs   atomic.Int64  // messages received on every session so far
	acc    *streamAcc    // under Streams.mu
	// live are the open sessions that received a message, and the pod
	// that sent it (under Streams.mu).
	live map[*session]string
}

// The reasons the harness ends a session.
var (
	errConnectTimeout = errors.New("connect timeout")
	errStalled        = errors.New("stalled")
	errStopped        = errors.New("load stopped")
	errRedial         = errors.New("redial")
	errLifetime       = errors.New("lifetime")
)

// StartStreams validates the plan and opens plan.Conns connections on every
// target (the first ones at OpenRate, then each reopened as soon as it
// ends). Stop closes them; Wait returns the result once every session is
// recorded.
func StartStreams(ctx context.Context, plan StreamPlan, targets []StreamTarget, sink Sink) (*Streams, error) {
	plan = plan.Defaults()
	if err := plan.Validate(targets); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if sink == nil {
		sink = SinkFunc(func(Record) error { return nil })
	}
	stopped, stop := context.WithCancel(context.Background())
	s := &Streams{plan: plan, targets: targets, sink: sink, started: time.Now(), stopped: stopped, stop: stop,
		paths: map[string]*streamPath{}, changed: make(chan struct{}), done: make(chan struct{})}
	for _, t := range targets {
		op, err := newOpener(plan, t)
		if err != nil {
			stop()
			return nil, fmt.Errorf("load: stream %s: %w", t.Path, err)
		}
		s.paths[t.Path] = &streamPath{target: t, opener: op, acc: newStreamAcc(t.Path, t.Kind, plan.Conns), live: map[*session]string{}}
	}
	// the first connections are paced: thousands of handshakes at once
	// overflow listen backlogs and measure the harness, not the pod
	every := time.Second / time.Duration(plan.OpenRate)
	for _, t := range targets {
		p := s.paths[t.Path]
		for slot := range plan.Conns {
			s.wg.Add(1)
			go s.run(p, slot, time.Duration(slot)*every)
		}
	}
	du := plan.Duration
	if du == 0 {
		du = plan.MaxDuration
	}
	bound := time.AfterFunc(du, s.Stop)
	go func() {
		select {
		case <-ctx.Done():
			s.Stop()
		case <-s.done:
		}
	}()
	go func() {
		s.wg.Wait()
		bound.Stop()
		s.finish()
		close(s.done)
	}()
	return s, nil
}

// Stop opens no more sessions and closes the open ones; each still gets
// its record. A handshake in flight is let finish: its answer is evidence.
func (s *Streams) Stop() { s.stop() }

// Done is closed when every session is recorded.
func (s *Streams) Done() <-chan struct{} { return s.done }

// Wait returns the result once every session is recorded.
func (s *Streams) Wait() (*Result, error) {
	<-s.done
	return s.result, s.sinkErr
}

// run is one slot: a session, and the next as soon as it ends.
func (s *Streams) run(p *streamPath, slot int, delay time.Duration) {
	defer s.wg.Done()
	if !s.pause(delay) {
		return
	}
	var lost time.Time // when the slot lost its last live stream
	for s.stopped.Err() == nil {
		rec, next := s.session(p, slot, lost)
		lost = next
		s.write(p, rec)
		if rec.Session.Messages == 0 && !s.pause(s.plan.RetryDelay) {
			return
		}
	}
}

// pause waits d, or reports false when the load stops first.
func (s *Streams) pause(d time.Duration) bool {
	if d <= 0 {
		return s.stopped.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.stopped.Done():
		return false
	}
}

func (s *Streams) write(p *streamPath, rec Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.sink.Write(rec); err != nil && s.sinkErr == nil {
		s.sinkErr = err
	}
	p.acc.add(rec)
}

// session is one connection of a slot, from open to end.
type session struct {
	cancel context.CancelCauseFunc
	why    atomic.Pointer[error] // why the harness ended it (nil: it did not)
	mu     sync.Mutex
	st     stream // set once open
}

// end ends the session for a reason of the harness's (the first reason
// wins). polite asks for the protocol's goodbye where it has one.
func (ss *session) end(why error, polite bool) {
	if !ss.why.CompareAndSwap(nil, &why) {
		return
	}
	if polite {
		ss.mu.Lock()
		st := ss.st
		ss.mu.Unlock()
		if st != nil && st.goodbye() {
			return
		}
	}
	ss.cancel(why)
}

func (ss *session) reason() error {
	if p := ss.why.Load(); p != nil {
		return *p
	}
	return nil
}

// session runs one session and returns its record and when the slot lost
// its live stream (lost, passed on, when this session received nothing).
func (s *Streams) session(p *streamPath, slot int, lost time.Time) (Record, time.Time) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ss := &session{cancel: cancel}
	info := &outcome.Session{Kind: p.target.Kind, Slot: slot}
	rec := Record{Path: p.target.Path, Seq: p.seq.Add(1) - 1, Start: time.Now(), Session: info}

	connect := time.AfterFunc(s.plan.ConnectTimeout, func() { ss.end(errConnectTimeout, false) })
	st, hs, err := p.opener.open(ctx)
	connect.Stop()
	rec.Code, rec.Pod = hs.code, hs.pod
	if err != nil {
		rec.Latency = time.Since(rec.Start)
		rec.Class, rec.Error = openFailure(ss.reason(), hs.code, err, s.plan.ConnectTimeout)
		return rec, lost
	}
	rec.Conn = "new"
	ss.mu.Lock()
	ss.st = st
	ss.mu.Unlock()
	unstop := context.AfterFunc(s.stopped, func() { ss.end(errStopped, true) })
	stall := time.AfterFunc(s.plan.StallTimeout, func() { ss.end(errStalled, false) })
	if s.plan.Lifetime > 0 {
		life := time.AfterFunc(s.plan.Lifetime, func() { ss.end(errLifetime, true) })
		defer life.Stop()
	}

	var (
		seqs   seqCheck
		polite bool
		endErr error
	)
	for {
		m, err := st.next()
		if err != nil {
			endErr = err
			break
		}
		if m.close {
			polite = true
			seqs.closed(m.last)
			break
		}
		now := time.Now()
		stall.Reset(s.plan.StallTimeout)
		if info.Messages == 0 {
			info.FirstMessage = now.Sub(rec.Start)
			if !lost.IsZero() {
				info.Reconnect = now.Sub(lost)
			}
			if m.pod != "" {
				rec.Pod = m.pod
			}
			rec.Version = m.version
			s.goLive(p, ss, rec.Pod)
		}
		info.Messages++
		p.msgs.Add(1)
		seqs.see(m.seq)
	}
	end := time.Now()
	unstop()
	stall.Stop()
	if info.Messages > 0 {
		s.leave(p, ss)
	}
	rec.Latency = end.Sub(rec.Start)
	info.Missing = seqs.missing

	why := ss.reason()
	switch {
	case why == errStopped:
		info.Closed = outcome.ClosedStop
	case why == errRedial:
		info.Closed = outcome.ClosedRedial
	case why == errLifetime:
		info.Closed = outcome.ClosedLifetime
	case why == errConnectTimeout: // it struck as the handshake ended
		rec.Class, rec.Error = outcome.Timeout, fmt.Sprintf("no stream within the connect timeout %s", s.plan.ConnectTimeout)
	case why == errStalled:
		rec.Class, rec.Error = outcome.Timeout, fmt.Sprintf("no message for %s", s.plan.StallTimeout)
	case polite:
		info.Closed = outcome.ClosedPolite
	default:
		var cf errCloseFrame
		if errors.As(endErr, &cf) {
			rec.Class = outcome.OtherFail
		} else {
			rec.Class = outcome.StreamCut
		}
		rec.Error = endErr.Error()
	}
	// a gap came first: it is the session's failure, whatever followed
	if seqs.problem != "" {
		if rec.Error != "" {
			seqs.problem += "; then: " + rec.Error
		}
		rec.Class, rec.Error = outcome.StreamGap, seqs.problem
	}
	if rec.Class == "" {
		rec.Class = outcome.OK
	}

	switch {
	case info.Messages == 0:
		return rec, lost
	case why == errRedial || why == errStopped || why == errLifetime:
		return rec, time.Time{} // the client moved it: the next is no reconnect
	default:
		return rec, end
	}
}

// openFailure classes a session that opened no stream.
func openFailure(why error, code int, err error, timeout time.Duration) (Class, string) {
	switch {
	case why == errConnectTimeout:
		return outcome.Timeout, fmt.Sprintf("no stream within the connect timeout %s: %v", timeout, err)
	case code != 0:
		if c := Classify(code, ""); c != outcome.OK {
			return c, err.Error()
		}
		return outcome.OtherFail, err.Error() // an answer, but no stream
	default:
		return Classify(0, err.Error()), err.Error()
	}
}

// seqCheck follows a session's sequence numbers: each must be the one
// after the last (from 1, as the fixture counts).
type seqCheck struct {
	last    int64
	missing int
	problem string // the first gap, "" while none
}

func (c *seqCheck) see(seq int64) {
	if seq == 0 { // the server numbers nothing: nothing to check
		return
	}
	switch {
	case seq == c.last+1:
	case seq > c.last+1:
		c.missing += int(seq - c.last - 1)
		c.note(fmt.Sprintf("message %d after %d: %d missing", seq, c.last, seq-c.last-1))
	default:
		c.note(fmt.Sprintf("message %d after %d: out of order", seq, c.last))
	}
	c.last = max(c.last, seq)
}

// closed checks the server's count of sent messages at its polite close.
func (c *seqCheck) closed(last int64) {
	if last > c.last {
		c.missing += int(last - c.last)
		c.note(fmt.Sprintf("the close says %d were sent, the last received is %d", last, c.last))
	}
}

func (c *seqCheck) note(p string) {
	if c.problem == "" {
		c.problem = p
	}
}

// goLive marks a session as open and receiving from pod.
func (s *Streams) goLive(p *streamPath, ss *session, pod string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.live[ss] = pod
	s.notify()
}

func (s *Streams) leave(p *streamPath, ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(p.live, ss)
	s.notify()
}

// notify wakes the waiters on live sessions; under s.mu.
func (s *Streams) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Live returns, per path, how many sessions are open and receiving, per
// pod (a session's pod is the one that sent its first message).
func (s *Streams) Live() map[string]map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]int{}
	for path, p := range s.paths {
		m := map[string]int{}
		for _, pod := range p.live {
			m[pod]++
		}
		out[path] = m
	}
	return out
}

// Messages returns, per path, the messages received so far on every
// session, open or ended: the flow a progress report or a benchmark
// follows while the sessions' records are still to come.
func (s *Streams) Messages() map[string]int64 {
	out := map[string]int64{}
	for path, p := range s.paths { // fixed after StartStreams
		out[path] = p.msgs.Load()
	}
	return out
}

// WaitWarm returns once every path holds plan.Conns sessions open and
// receiving, and, when pods is not empty, at least one on each of pods:
// the stream load is warm. It names what is missing when ctx ends first.
func (s *Streams) WaitWarm(ctx context.Context, pods []string) error {
	for {
		s.mu.Lock()
		state, warm := s.warmth(pods)
		changed := s.changed
		s.mu.Unlock()
		if warm {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("load: streams not warm: %s: %w", state, ctx.Err())
		case <-changed:
		case <-s.done:
			return fmt.Errorf("load: streams not warm: the load ended: %s", state)
		}
	}
}

// warmth says how far each path is from warm; under s.mu.
func (s *Streams) warmth(pods []string) (string, bool) {
	warm := true
	var state []string
	for _, path := range sortedKeys(s.paths) {
		p := s.paths[path]
		held := map[string]bool{}
		for _, pod := range p.live {
			held[pod] = true
		}
		var missing []string
		for _, pod := range pods {
			if !held[pod] {
				missing = append(missing, pod)
			}
		}
		if len(p.live) < s.plan.Conns || len(missing) > 0 {
			warm = false
		}
		st := fmt.Sprintf("%s %d/%d open and receiving", path, len(p.live), s.plan.Conns)
		if len(missing) > 0 {
			st += " (none on " + strings.Join(missing, ", ") + ")"
		}
		state = append(state, st)
	}
	return strings.Join(state, "; "), warm
}

// has reports whether path is one of the load's stream paths.
func (s *Streams) has(path string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.paths[path]
	return ok
}

// Spread makes the sessions of a path hold at least one stream on every
// pod of want, and returns the pods still not held when ctx ends: the
// Service picks a pod when a connection is made, so a session on a pod
// another session also holds (or on a pod not wanted) is closed by the
// harness (ok, Closed "redial") and its slot reconnects. One at a time:
// the next is picked once every slot is live again.
func (s *Streams) Spread(ctx context.Context, path string, want []string) ([]string, error) {
	s.mu.Lock()
	p, ok := s.paths[path]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("load: no stream path %q", path)
	}
	if len(want) > s.plan.Conns {
		return nil, fmt.Errorf("load: stream path %q holds %d connections: it cannot reach %d pods", path, s.plan.Conns, len(want))
	}
	for {
		s.mu.Lock()
		held := map[string][]*session{}
		for ss, pod := range p.live {
			held[pod] = append(held[pod], ss)
		}
		var missing []string
		for _, w := range want {
			if len(held[w]) == 0 {
				missing = append(missing, w)
			}
		}
		var redial *session
		if len(missing) > 0 && len(p.live) >= s.plan.Conns {
			for _, pod := range sortedKeys(held) {
				if ss := held[pod]; !contains(want, pod) || len(ss) > 1 {
					redial = ss[0]
					break
				}
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if len(missing) == 0 {
			return nil, nil
		}
		if redial != nil {
			redial.end(errRedial, true)
		}
		select {
		case <-ctx.Done():
			sort.Strings(missing)
			return missing, nil
		case <-s.done:
			return missing, fmt.Errorf("load: stream path %q: the load ended", path)
		case <-changed:
		}
	}
}

func (s *Streams) finish() {
	s.mu.Lock()
	defer s.mu.Unlock()
	res := &Result{Plan: s.plan.Record(), Started: s.started, Ended: time.Now(), Paths: map[string]*PathStats{}}
	for _, t := range s.targets {
		res.Targets = append(res.Targets, t.record())
	}
	for _, path := range sortedKeys(s.paths) {
		acc := s.paths[path].acc
		res.Invalid = append(res.Invalid, acc.finish()...)
		res.Paths[path] = acc.PathStats
		if acc.Sent == 0 {
			res.Invalid = append(res.Invalid, fmt.Sprintf("%s: no stream session was opened", path))
		}
	}
	if s.sinkErr != nil {
		res.Invalid = append(res.Invalid, "records were not all written: "+s.sinkErr.Error())
	}
	res.Valid = len(res.Invalid) == 0
	s.result = res
}

// sortedKeys are a map's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
