package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/zerodrop/zerodrop/fixtures"
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
	rt, s := st.rt, st.sc
	st.plan = boundedPlan(s)
	var host, inCluster []load.Target
	for _, p := range s.Paths {
		t := load.Target{Path: string(p), KeepAlive: p.KeepAlive()}
		if s.App != nil {
			t.ExpectStatus = s.App.ExpectStatus
		}
		if t.KeepAlive {
			t.Pool = poolSize(s)
		}
		switch b := p.Base(); {
		case b == suites.PathClusterIP:
			// a fully qualified name (the trailing dot): one DNS query per
			// new connection, not one per search domain (ndots 5)
			t.URL = fmt.Sprintf("http://%s.%s.svc.cluster.local.:%d%s", st.ref.Service, st.ns, st.ref.Port, st.httpPath())
		case b == suites.PathHeadless:
			// Go's resolver keeps no cache: the name is resolved at every
			// new connection, and the dialer tries the addresses CoreDNS
			// returns (shuffled by its loadbalance plugin) in order
			t.URL = fmt.Sprintf("http://%s.%s.svc.cluster.local.:%d%s", fixtures.HeadlessService(st.accessName), st.ns, st.podPort, st.httpPath())
		case b == suites.PathNodePort && st.nodePort != "":
			t.URL = st.nodePort + st.httpPath()
		default:
			base, ok := rt.Entry[b]
			if !ok {
				return fmt.Errorf("runner: path %q has no entry point on this cluster", p)
			}
			t.URL = base + st.httpPath()
			if b == suites.PathIngress || b == suites.PathGateway {
				t.Host = st.routeHost
			}
		}
		if p.InCluster() {
			inCluster = append(inCluster, t)
		} else {
			host = append(host, t)
		}
	}
	sink, err := load.CreateJSONL(filepath.Join(st.dir, recordsFile))
	if err != nil {
		return err
	}
	st.sink = sink
	st.tracker = load.NewTracker(load.SinkFunc(func(r outcome.Record) error {
		if r.Class.Failed() {
			st.failMu.Lock()
			st.failures = append(st.failures, r)
			st.failMu.Unlock()
		}
		return sink.Write(r)
	}))
	if len(inCluster) > 0 {
		r, err := startRemote(ctx, st, inCluster)
		if err != nil {
			return err
		}
		st.remote = r
		st.started = true
	}
	if len(host) > 0 {
		l, err := load.Start(ctx, st.plan, host, st.tracker)
		if err != nil {
			return err
		}
		st.host = l
		st.started = true
	}
	st.note("load_start", fmt.Sprintf("%d rps per path, paths %v", s.Plan.Rate, s.Paths))
	return nil
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
