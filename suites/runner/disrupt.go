package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/zerodrop/zerodrop/outcome"

	"github.com/zerodrop/zerodrop/chaos"
)

// disruptPhase performs the disruption and waits until the cluster reflects
// it. A disruption that fails is evidence (the verdict says so), not a
// harness error: the load is still stopped and judged.
type disruptPhase struct{}

func (disruptPhase) Execute(ctx context.Context, st *State) error {
	span := &outcome.Span{Name: st.sc.Disruption.Name(), Settle: st.sc.Settle, Start: time.Now().UTC()}
	st.span = span
	st.out.Disruption = span
	env := st.env
	env.Timeout = disruptionTimeout
	env.Verified = func(what string) { span.Verified = append(span.Verified, what) }
	st.disruptionErr = chaos.Do(ctx, st.sc.Disruption, env)
	span.End = time.Now().UTC()
	if st.disruptionErr != nil {
		span.Error = st.disruptionErr.Error()
		return nil
	}
	// a rainbow switch leaves the workload to the new colour's controller
	if r, ok := st.sc.Disruption.(chaos.RainbowSwitch); ok {
		st.ref = r.Successor(st.ref)
		st.env.Target = st.ref
	}
	return nil
}

// finishPhase checks that the workload is whole again after the
// disruption: every replica Ready, none terminating.
type finishPhase struct{}

func (finishPhase) Execute(ctx context.Context, st *State) error {
	if st.disruptionErr != nil {
		return nil
	}
	fctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	want, err := chaos.Desired(fctx, st.env)
	if err == nil {
		err = chaos.WaitReady(fctx, st.env, want)
	}
	if err != nil {
		st.disruptionErr = fmt.Errorf("the workload is not whole after the disruption: %w", err)
		st.span.Error = st.disruptionErr.Error()
		return nil
	}
	st.span.Verified = append(st.span.Verified, fmt.Sprintf("workload whole after the disruption: %d pods Ready, none terminating", want))
	return nil
}

// settlePhase keeps the load running after the disruption, so requests that
// still reach a terminating pod are seen.
type settlePhase struct{}

func (settlePhase) Execute(ctx context.Context, st *State) error {
	if st.disruptionErr != nil {
		return nil
	}
	st.note("settle", st.sc.Settle.String())
	select {
	case <-time.After(st.sc.Settle):
	case <-ctx.Done():
	}
	return nil
}
