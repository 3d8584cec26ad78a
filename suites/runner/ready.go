package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
)

// readyPhase waits until every replica is Ready, then runs the scenario's
// preparation (a first rollout, so that an undo has somewhere to go back to).
type readyPhase struct{}

func (readyPhase) Execute(ctx context.Context, st *State) error {
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	err := chaos.WaitReady(rctx, st.env, int(st.sc.Profile.Replicas))
	cancel()
	if err != nil {
		return fmt.Errorf("runner: workload not ready: %w", err)
	}
	if st.sc.Prepare != nil {
		if err := chaos.Do(ctx, st.sc.Prepare, st.env); err != nil {
			return fmt.Errorf("runner: prepare: %w", err)
		}
	}
	return nil
}
