package runner

import (
	"context"
	"fmt"
	"path/filepath"

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
	var host, inCluster []load.Target
	for _, p := range s.Paths {
		if p.InCluster() {
			inCluster = append(inCluster, load.Target{Path: string(p), URL: fmt.Sprintf("http://%s.%s.svc.cluster.local:%d/", st.ref.Service, st.ns, st.ref.Port)})
			continue
		}
		base, ok := rt.Entry[p]
		if !ok {
			return fmt.Errorf("runner: path %q has no entry point on this cluster", p)
		}
		t := load.Target{Path: string(p), URL: base + "/"}
		if p == suites.PathIngress || p == suites.PathGateway {
			t.Host = fixtures.Options{Namespace: st.ns, Name: st.ref.Name}.RouteHost()
		}
		host = append(host, t)
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
		l, err := load.Start(ctx, s.Plan, host, st.tracker)
		if err != nil {
			return err
		}
		st.host = l
		st.started = true
	}
	st.note("load_start", fmt.Sprintf("%d rps per path, keep-alive %v, paths %v", s.Plan.Rate, s.Plan.KeepAlive, s.Paths))
	return nil
}
