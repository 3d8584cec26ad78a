package runner

import (
	"context"
	"errors"
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
	err := chaos.Do(ctx, st.sc.Disruption, env)
	span.End = time.Now().UTC()
	// a stuck rollout that was rolled back is an outcome of its own, not
	// an error: the workload is checked, settled and judged as after any
	// disruption that completed
	if stuck, ok := stuckOutcome(err); ok {
		span.Stuck, err = stuck, nil
	}
	st.disruptionErr = err
	if err != nil {
		span.Error = err.Error()
		return nil
	}
	// a rainbow switch leaves the workload to the new colour's controller
	if r, ok := st.sc.Disruption.(chaos.RainbowSwitch); ok {
		st.ref = r.Successor(st.ref)
		st.env.Target = st.ref
	}
	return nil
}

// stuckOutcome is the outcome of a rollout the Deployment controller gave
// up on and the disruption rolled back, when err is one.
func stuckOutcome(err error) (*outcome.RolloutStuck, bool) {
	var s chaos.Stuck
	if !errors.As(err, &s) {
		return nil, false
	}
	return &outcome.RolloutStuck{Deployment: s.Deployment, Version: s.Version, Reason: outcome.ProgressDeadlineExceeded, Message: s.Condition,
		DeadlineSeconds: s.Deadline, After: s.After, RolledBackTo: s.RolledBackTo, RecoveredIn: s.RecoveredIn,
		Replicas: s.Replicas, OldMinAvailable: s.OldMinAvailable, NewMaxAvailable: s.NewMaxAvailable}, true
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
