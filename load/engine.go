package load

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/zerodrop/zerodrop/outcome"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Result is a finished run (the outcome's record of the load).
type Result = outcome.LoadResult

// Load is a running load.
type Load struct {
	plan    Plan
	targets []Target
	sink    Sink
	started time.Time

	mu        sync.Mutex
	stats     map[string]*pathAcc
	starts    map[string][]int64 // path -> start unix nanos by seq
	sinkErr   error
	attackers []*vegeta.Attacker
	pools     map[string]*pool // keep-alive paths' connection pools
	wg        sync.WaitGroup
	done      chan struct{}
	result    *Result
	stopOnce  sync.Once
}

// Start validates the plan and starts one constant-rate attack per target.
// Every result is recorded; Stop ends scheduling, Wait returns the result.
func Start(ctx context.Context, plan Plan, targets []Target, sink Sink) (*Load, error) {
	plan = plan.Defaults()
	if err := plan.Validate(targets); err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	if sink == nil {
		sink = SinkFunc(func(Record) error { return nil })
	}
	l := &Load{plan: plan, targets: targets, sink: sink, started: time.Now(), stats: map[string]*pathAcc{},
		starts: map[string][]int64{}, pools: map[string]*pool{}, done: make(chan struct{})}
	du := plan.Duration
	if du == 0 {
		du = plan.MaxDuration
	}
	for _, t := range targets {
		l.stats[t.Path] = newPathAcc(t.Path, plan.Rate)
		tries := &attempts{}
		client, pl := clientFor(plan, t, tries)
		if pl != nil {
			l.pools[t.Path] = pl
		}
		atk := vegeta.NewAttacker(
			vegeta.Client(client),
			vegeta.Workers(plan.Workers),
			vegeta.MaxWorkers(plan.MaxWorkers),
			vegeta.MaxBody(0), // only the headers matter; the body is read and discarded
		)
		l.attackers = append(l.attackers, atk)
		hdr := http.Header{}
		hdr.Set(PathHeader, t.Path)
		if t.Host != "" {
			hdr.Set("Host", t.Host)
		}
		tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: t.URL, Header: hdr})
		results := atk.Attack(tr, vegeta.ConstantPacer{Freq: plan.Rate, Per: time.Second}, du, t.Path)
		l.wg.Add(1)
		go l.record(t, results, tries)
	}
	go func() {
		select {
		case <-ctx.Done():
			l.Stop()
		case <-l.done:
		}
	}()
	go func() {
		l.wg.Wait()
		l.finish()
		close(l.done)
	}()
	return l, nil
}

func (l *Load) record(t Target, results <-chan *vegeta.Result, tries *attempts) {
	path := t.Path
	defer l.wg.Done()
	podHeader := l.plan.PodHeader
	for res := range results {
		rec := Record{Path: path, Seq: res.Seq, Start: res.Timestamp, Latency: res.Latency, Code: int(res.Code), Error: res.Error}
		rec.Class = Classify(rec.Code, rec.Error)
		if rec.Class == outcome.OK && t.ExpectStatus != 0 && rec.Code != t.ExpectStatus {
			rec.Class = outcome.UnexpectedStatus
		}
		if rec.Class == outcome.OK {
			rec.Error = ""
		}
		if res.Headers != nil {
			rec.Pod = res.Headers.Get(podHeader)
			rec.Version = res.Headers.Get("X-Pod-Version")
		}
		try := tries.take(strconv.FormatUint(res.Seq, 10))
		rec.Conn, rec.Attempts = connKind(try), len(try)
		if how, retried := retryClass(try); retried {
			// Go's transport sent the request again on a new connection:
			// a client that is not Go, or a request that is not
			// idempotent, would have failed here
			rec.Retry = how
			if rec.Class == outcome.OK {
				rec.Class = outcome.RetriedClass(how)
			}
		}
		l.mu.Lock()
		if err := l.sink.Write(rec); err != nil && l.sinkErr == nil {
			l.sinkErr = err
		}
		l.stats[path].add(rec)
		st := l.starts[path]
		for uint64(len(st)) <= rec.Seq {
			st = append(st, 0)
		}
		st[rec.Seq] = rec.Start.UnixNano()
		l.starts[path] = st
		l.mu.Unlock()
	}
}

// Stop ends scheduling on every path; requests in flight still get their result.
func (l *Load) Stop() {
	l.stopOnce.Do(func() {
		for _, a := range l.attackers {
			a.Stop()
		}
	})
}

// Done is closed when every result is recorded.
func (l *Load) Done() <-chan struct{} { return l.done }

// Wait returns the result once every result is recorded.
func (l *Load) Wait() (*Result, error) {
	<-l.done
	if l.sinkErr != nil {
		return l.result, l.sinkErr
	}
	return l.result, nil
}

// maxStall is the longest a request may start behind its schedule before the
// run is no evidence: the generator, not the server, set the pace.
const maxStall = time.Second

func (l *Load) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	res := &Result{Plan: l.plan.Record(), Targets: l.targets, Started: l.started, Ended: time.Now(), Paths: map[string]*PathStats{}}
	interval := time.Second / time.Duration(l.plan.Rate)
	paths := make([]string, 0, len(l.stats))
	for p := range l.stats {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		s := l.stats[p]
		res.Paths[p] = s.PathStats
		res.Invalid = append(res.Invalid, s.finish()...)
		if st := l.starts[p]; len(st) > 0 && st[0] != 0 {
			for i, ns := range st {
				if ns == 0 {
					continue
				}
				if lag := time.Duration(ns-st[0]) - time.Duration(i)*interval; lag > s.MaxLag {
					s.MaxLag = lag
				}
			}
		}
		if s.Sent > 1 && s.Achieved < l.plan.MinRateRatio*float64(l.plan.Rate) {
			res.Invalid = append(res.Invalid, fmt.Sprintf("%s: generator saturated: achieved %.1f rps of the planned %d (< %.0f%%)", p, s.Achieved, l.plan.Rate, l.plan.MinRateRatio*100))
		}
		if s.MaxLag > maxStall {
			res.Invalid = append(res.Invalid, fmt.Sprintf("%s: generator stalled: a request started %s behind its schedule", p, s.MaxLag.Round(time.Millisecond)))
		}
		if s.Sent == 0 {
			res.Invalid = append(res.Invalid, fmt.Sprintf("%s: no request was sent", p))
		}
		if n := s.Failed[outcome.DNSFailed]; n > 0 {
			res.Invalid = append(res.Invalid, fmt.Sprintf("%s: the cluster's DNS left %d lookups unanswered: the harness's path failed, not the workload", p, n))
		}
	}
	if l.sinkErr != nil {
		res.Invalid = append(res.Invalid, "records were not all written: "+l.sinkErr.Error())
	}
	res.Valid = len(res.Invalid) == 0
	l.starts = nil
	l.result = res
}

// ErrInvalid is returned by Check for a run that is no evidence.
var ErrInvalid = errors.New("load: run invalid")

// Check returns ErrInvalid with the reasons when the run is no evidence.
func Check(r *Result) error {
	if r.Valid {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(r.Invalid, "; "))
}
