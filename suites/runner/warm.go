package runner

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/observe"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
)

// warmPhase waits until the load is clean on every path and has reached
// every pod: the point from which the verdict judges. Keep-alive pools and
// streams are first spread over every Ready pod. Pods a path never reached
// make the scenario invalid, not an error.
type warmPhase struct{}

func (warmPhase) Execute(ctx context.Context, st *State) error {
	wctx, cancel := context.WithTimeout(ctx, warmTimeout)
	defer cancel()
	pods, err := observe.ReadyPods(wctx, st.rt.Client, st.ref)
	if err != nil {
		return err
	}
	var requests, streams []string
	for _, p := range st.sc.Paths {
		if p.Stream() != "" {
			streams = append(streams, string(p))
		} else {
			requests = append(requests, string(p))
		}
	}
	budget := time.Until(deadline(wctx)) / 2
	var unreached []string
	if st.sc.App != nil {
		// the app names no pod in its answers: prove each pod serves the
		// target path directly, and say in the verdict what stays unproven
		failed, err := observe.ProbePods(wctx, st.rt.Client, st.ref, st.podPort, st.httpPath())
		if err != nil {
			return err
		}
		for _, f := range failed {
			unreached = append(unreached, "probe→"+f)
		}
		if err := st.tracker.WaitWarm(wctx, requests, 50); err != nil {
			return err
		}
		st.notes = append(st.notes, "which pods each path reached (the app names no pod in its answers; each pod answered a direct probe before the disruption)")
		return st.warmed(wctx, unreached)
	}
	for _, p := range st.sc.Paths {
		if !p.KeepAlive() && p.Stream() == "" {
			continue
		}
		missing, err := spreadPath(wctx, st, p, pods, budget/time.Duration(len(st.sc.Paths)))
		if err != nil {
			return err
		}
		for _, m := range missing {
			st.log.Debug("pool or streams do not hold every pod", "path", p, "pod", m)
		}
	}
	if len(requests) > 0 {
		u, err := observe.WaitWarm(wctx, st.tracker, st.rt.Client, st.ref, requests, 50)
		if err != nil {
			return err
		}
		unreached = append(unreached, u...)
	}
	if len(streams) > 0 {
		u, err := streamsWarm(wctx, st, streams, pods)
		if err != nil {
			return err
		}
		unreached = append(unreached, u...)
	}
	return st.warmed(wctx, unreached)
}

// warmed records the pods the load did not reach and, once the load is in
// its steady state (steadyLoad), the moment from which the verdict judges:
// the same for the fixture and for a user's app.
func (st *State) warmed(ctx context.Context, unreached []string) error {
	sort.Strings(unreached)
	st.unreached = unreached
	if err := steadyLoad(ctx, st); err != nil {
		return err
	}
	st.warmAt = time.Now()
	st.note(outcome.KindLoadWarm, "")
	return nil
}

// MinSteadyLoad is how long the load runs before the disruption at least:
// the clean requests warm asks for come within a second or two at the
// gate's rate, while the machine is still taking up the load (the load
// generator starting, Traefik dialing its backends). A naive rolling update
// of the gate begun 1.4 s into the load met Traefik's medians at 1.15 s
// against a 129 ms baseline, and its verdict was invalid (saturated).
const MinSteadyLoad = 5 * time.Second

// steadyLoad waits until the load has run MinSteadyLoad, and, for
// an app with long requests, as long as one of them takes: only then are
// they in flight on every pod as in steady state, and a disruption meets
// as many as it would in production (grace-too-short's SIGKILL cuts those
// begun up to its long latency before it; with the load a few seconds old
// there are none from before the load).
func steadyLoad(ctx context.Context, st *State) error {
	p := st.sc.Profile
	if st.loadStarted.IsZero() {
		return nil
	}
	steady := MinSteadyLoad
	if p.SlowEvery > 0 {
		steady = max(steady, p.Latency+p.SlowLatency)
	}
	wait := time.Until(st.loadStarted.Add(steady))
	if wait <= 0 {
		return nil
	}
	st.log.Debug("the load reaches its steady state", "wait", wait.Round(time.Millisecond))
	select {
	case <-time.After(wait):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("runner: waiting %s for the long requests' steady state: %w", wait.Round(time.Second), ctx.Err())
	}
}

// spreadPath makes a keep-alive pool, or a stream path's open streams, hold
// a connection to every pod, so the disruption meets the connections of
// every pod it terminates (kube-proxy picks the pod when a connection is
// made; one holding a pod twice is made again). It returns the pods still
// not held.
func spreadPath(ctx context.Context, st *State, p suites.Path, pods []string, budget time.Duration) ([]string, error) {
	sctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	switch {
	case p.InCluster():
		return st.remote.client.Spread(sctx, string(p), pods, budget)
	case p.Stream() != "":
		return st.hostStreams.Spread(sctx, string(p), pods)
	default:
		return st.host.Spread(sctx, string(p), pods)
	}
}

// streamsWarm waits until every stream path holds its open streams, on
// every pod; it returns the path→pod pairs never reached (nil error: that
// makes the run invalid) when ctx ends first.
func streamsWarm(ctx context.Context, st *State, paths, pods []string) ([]string, error) {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		live := map[string]map[string]int{}
		if st.hostStreams != nil {
			for p, m := range st.hostStreams.Live() {
				live[p] = m
			}
		}
		if st.remote != nil {
			if m, err := st.remote.client.Live(ctx); err == nil {
				for p, byPod := range m {
					live[p] = byPod
				}
			}
		}
		var missing []string
		for _, path := range paths {
			total := 0
			for _, n := range live[path] {
				total += n
			}
			if total < st.streamPlan.Conns {
				missing = append(missing, fmt.Sprintf("%s (%d of %d streams open)", path, total, st.streamPlan.Conns))
				continue
			}
			for _, pod := range pods {
				if live[path][pod] == 0 {
					missing = append(missing, path+"→"+pod)
				}
			}
		}
		if len(missing) == 0 {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			st.log.Debug("streams not warm", "missing", strings.Join(missing, ", "))
			return missing, nil
		case <-t.C:
		}
	}
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(warmTimeout)
}
