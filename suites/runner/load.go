package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/internal/phase"
	"github.com/zerodrop/zerodrop/load"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
)

// loadPhase starts constant-rate load on every path at once: host-side
// paths from this process, in-cluster paths from a load generator pod. Every
// record, whichever side made it, goes through one tracker (warm-up) into
// records.jsonl.
type loadPhase struct{}

func (loadPhase) Execute(ctx context.Context, st *State) error {
	s := st.sc
	st.plan = boundedPlan(s)
	st.streamPlan = streamPlan(s)
	var host, inCluster targets
	for _, p := range s.Paths {
		base, host1, err := st.entry(p)
		if err != nil {
			return err
		}
		side := &host
		if p.InCluster() {
			side = &inCluster
		}
		if kind := p.Stream(); kind != "" {
			endpoint := "/stream"
			if kind == outcome.WebSocket {
				endpoint = "/ws"
			}
			side.streams = append(side.streams, load.StreamTarget{Path: string(p), URL: base + endpoint, Host: host1, Kind: kind})
			continue
		}
		t := load.Target{Path: string(p), URL: base + st.httpPath(), Host: host1, KeepAlive: p.KeepAlive()}
		if s.App != nil {
			t.ExpectStatus = s.App.ExpectStatus
		}
		if t.KeepAlive {
			t.Pool = poolSize(s)
		}
		side.requests = append(side.requests, t)
	}
	sink, err := load.CreateJSONL(filepath.Join(st.dir, recordsFile))
	if err != nil {
		return err
	}
	st.sink = sink
	meter := load.NewMeter(load.SinkFunc(func(r outcome.Record) error {
		if r.Class.Failed() {
			st.failMu.Lock()
			st.failures = append(st.failures, r)
			st.failMu.Unlock()
		}
		return sink.Write(r)
	}), s.PathNames()...)
	st.tracker = load.NewTracker(meter)
	st.stopProgress = reportProgress(ctx, st, meter)
	if !inCluster.empty() {
		r, err := startRemote(ctx, st, inCluster)
		if err != nil {
			return err
		}
		st.remote = r
	}
	if len(host.requests) > 0 {
		l, err := load.Start(ctx, st.plan, host.requests, st.tracker)
		if err != nil {
			return err
		}
		st.host = l
	}
	if len(host.streams) > 0 {
		ss, err := load.StartStreams(ctx, st.streamPlan, host.streams, st.tracker)
		if err != nil {
			return err
		}
		st.hostStreams = ss
	}
	st.loadStarted = time.Now()
	st.note("load_start", fmt.Sprintf("%d rps per path, paths %v", s.Plan.Rate, s.Paths))
	return nil
}

// reportProgress logs the load's live figures once a second, per path its
// results in the last second and its failures so far, until the returned
// func is called; then it ends them.
func reportProgress(ctx context.Context, st *State, meter *load.Meter) func() {
	stop := meter.ReportEvery(ctx, time.Second, func(s load.Snapshot) {
		phase.Live(st.log, "load", append([]any{"namespace", st.ns}, s.LogAttrs()...)...)
	})
	return func() {
		stop()
		phase.Live(st.log, "load", "namespace", st.ns)
	}
}

// targets are one side's request and stream targets.
type targets struct {
	requests []load.Target
	streams  []load.StreamTarget
}

func (t targets) empty() bool { return len(t.requests) == 0 && len(t.streams) == 0 }

// entry is the base URL (no trailing slash) and Host header of a path.
func (st *State) entry(p suites.Path) (string, string, error) {
	switch b := p.Base(); {
	case b == suites.PathClusterIP:
		// a fully qualified name (the trailing dot): one DNS query per
		// new connection, not one per search domain (ndots 5)
		return fmt.Sprintf("http://%s.%s.svc.cluster.local.:%d", st.ref.Service, st.ns, st.ref.Port), "", nil
	case b == suites.PathHeadless:
		// Go's resolver keeps no cache: the name is resolved at every new
		// connection, and the dialer tries the addresses CoreDNS returns
		// (shuffled by its loadbalance plugin) in order
		return fmt.Sprintf("http://%s.%s.svc.cluster.local.:%d", fixtures.HeadlessService(st.accessName), st.ns, st.podPort), "", nil
	case b == suites.PathNodePort && st.nodePort != "":
		return st.nodePort, "", nil
	default:
		base, ok := st.rt.Entry[b]
		if !ok {
			return "", "", fmt.Errorf("runner: path %q has no entry point on this cluster", p)
		}
		if b == suites.PathIngress || b == suites.PathGateway {
			return base, st.routeHost, nil
		}
		return base, "", nil
	}
}

// streamPlan is the scenario's stream load: two open streams per replica
// on each stream path, a message every 100 ms, each kept for the
// scenario's stream lifetime, bounded like the requests.
func streamPlan(s suites.Scenario) load.StreamPlan {
	return load.StreamPlan{Conns: max(4, 2*int(s.Profile.Replicas)), Interval: 100 * time.Millisecond,
		Lifetime: s.StreamLifetime, MaxDuration: boundedPlan(s).MaxDuration}
}

// Load bounds: the warm-up, the disruption's own timeout, the finish
// check, the settle time and a margin. A load that ends before the
// disruption does is no evidence, so the bound follows from the disruption.
const (
	warmTimeout       = 60 * time.Second
	disruptionTimeout = 5 * time.Minute
	finishTimeout     = 2 * time.Minute
)

// boundedPlan is the scenario's plan, bounded by what the scenario can last.
func boundedPlan(s suites.Scenario) load.Plan {
	p := s.Plan
	p.MaxDuration = warmTimeout + disruptionTimeout + finishTimeout + s.Settle + time.Minute
	return p
}

// poolSize is a keep-alive client's connections: two per replica, so the
// pool can hold every pod, and at least four.
func poolSize(s suites.Scenario) int { return max(4, 2*int(s.Profile.Replicas)) }
