package load

import (
	"context"
	"log/slog"
	"math"
	"sort"
	"sync"
	"time"
)

// Snapshot is the load's live progress at one moment: each path's figures
// since the previous snapshot and so far, sorted by path.
type Snapshot struct {
	At    time.Time
	Paths []PathProgress
}

// PathProgress is one path's live figures.
type PathProgress struct {
	Path string
	// Interval is the time since the previous snapshot (or since the meter began).
	Interval time.Duration
	// Answered and Failed count the results recorded in Interval (a result
	// is an answer or a failure: a refused connection, a timeout).
	Answered, Failed int
	// AnsweredTotal and FailedTotal count them so far.
	AnsweredTotal, FailedTotal int
}

// Rate is the results per second in the interval.
func (p PathProgress) Rate() float64 {
	if p.Interval <= 0 {
		return 0
	}
	return float64(p.Answered) / p.Interval.Seconds()
}

// LogAttrs are the snapshot as structured log attributes: per path a
// group of its rate (results per second, rounded) and its failures so far.
func (s Snapshot) LogAttrs() []any {
	out := make([]any, 0, len(s.Paths))
	for _, p := range s.Paths {
		out = append(out, slog.Group(p.Path, "rate", int(math.Round(p.Rate())), "failed", p.FailedTotal))
	}
	return out
}

// Progress receives live snapshots, like vegeta's Pacer is handed in: the
// figures flow one way, out of the load. It must not block.
type Progress func(Snapshot)

// Meter is a Sink that counts each path's results for live progress,
// whatever produced them (the host's engine, streams, an in-cluster
// generator), and passes every record on to Next.
type Meter struct {
	Next  Sink
	mu    sync.Mutex
	last  time.Time
	paths map[string]*meterCounts
}

type meterCounts struct{ answered, failed, answeredTotal, failedTotal int }

// NewMeter counts from now on; the paths given show from the first
// snapshot, with zeros until a result arrives.
func NewMeter(next Sink, paths ...string) *Meter {
	m := &Meter{Next: next, last: time.Now(), paths: map[string]*meterCounts{}}
	for _, p := range paths {
		m.paths[p] = &meterCounts{}
	}
	return m
}

// Write counts and passes on.
func (m *Meter) Write(r Record) error {
	m.mu.Lock()
	c := m.paths[r.Path]
	if c == nil {
		c = &meterCounts{}
		m.paths[r.Path] = c
	}
	c.answered++
	c.answeredTotal++
	if r.Class.Failed() {
		c.failed++
		c.failedTotal++
	}
	m.mu.Unlock()
	if m.Next != nil {
		return m.Next.Write(r)
	}
	return nil
}

// Snapshot returns the figures since the previous snapshot and starts a new interval.
func (m *Meter) Snapshot(now time.Time) Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := Snapshot{At: now, Paths: make([]PathProgress, 0, len(m.paths))}
	for p, c := range m.paths {
		s.Paths = append(s.Paths, PathProgress{Path: p, Interval: now.Sub(m.last), Answered: c.answered, Failed: c.failed,
			AnsweredTotal: c.answeredTotal, FailedTotal: c.failedTotal})
		c.answered, c.failed = 0, 0
	}
	m.last = now
	sort.Slice(s.Paths, func(i, j int) bool { return s.Paths[i].Path < s.Paths[j].Path })
	return s
}

// Report hands fn a snapshot at every tick until ctx ends or tick is
// closed, e.g. Report(ctx, time.NewTicker(time.Second).C, fn).
func (m *Meter) Report(ctx context.Context, tick <-chan time.Time, fn Progress) {
	for {
		select {
		case <-ctx.Done():
			return
		case now, ok := <-tick:
			if !ok {
				return
			}
			fn(m.Snapshot(now))
		}
	}
}

// ReportEvery hands fn a snapshot every d until the returned func is
// called, which returns once fn is no longer called.
func (m *Meter) ReportEvery(ctx context.Context, d time.Duration, fn Progress) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(d)
		defer tick.Stop()
		m.Report(ctx, tick.C, fn)
	}()
	return func() {
		cancel()
		<-done
	}
}
