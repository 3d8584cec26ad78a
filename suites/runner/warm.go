package runner

import (
	"context"
	"time"

	"github.com/zerodrop/zerodrop/suites"

	"github.com/zerodrop/zerodrop/observe"
	"github.com/zerodrop/zerodrop/outcome"
)

// warmPhase waits until the load is clean on every path and has reached
// every pod: the point from which the verdict judges. Pods it never reached
// make the scenario invalid, not an error.
type warmPhase struct{}

func (warmPhase) Execute(ctx context.Context, st *State) error {
	wctx, cancel := context.WithTimeout(ctx, warmTimeout)
	defer cancel()
	if err := spread(wctx, st); err != nil {
		return err
	}
	unreached, err := observe.WaitWarm(wctx, st.tracker, st.rt.Client, st.ref, st.sc.PathNames(), 50)
	if err != nil {
		return err
	}
	st.unreached = unreached
	st.warmAt = time.Now()
	st.note(outcome.KindLoadWarm, "")
	return nil
}

// spread makes each keep-alive path's connection pool hold a connection to
// every Ready pod, so the disruption meets the pooled connections of every
// pod it terminates (kube-proxy picks the pod when a connection is made;
// members holding a pod twice are re-dialled). A pod no pooled connection
// reaches is left to WaitWarm to report.
func spread(ctx context.Context, st *State) error {
	var ka []suites.Path
	for _, p := range st.sc.Paths {
		if p.KeepAlive() {
			ka = append(ka, p)
		}
	}
	if len(ka) == 0 {
		return nil
	}
	pods, err := observe.ReadyPods(ctx, st.rt.Client, st.ref)
	if err != nil {
		return err
	}
	budget := time.Until(deadline(ctx)) / 2
	for _, p := range ka {
		var missing []string
		var err error
		sctx, cancel := context.WithTimeout(ctx, budget/time.Duration(len(ka)))
		if p.InCluster() {
			missing, err = st.remote.client.Spread(sctx, string(p), pods, budget/time.Duration(len(ka)))
		} else {
			missing, err = st.host.Spread(sctx, string(p), pods)
		}
		cancel()
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			st.log.Debug("keep-alive pool does not hold every pod", "path", p, "missing", missing)
		}
	}
	return nil
}

func deadline(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(warmTimeout)
}
