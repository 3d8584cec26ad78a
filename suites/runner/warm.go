package runner

import (
	"context"
	"time"

	"github.com/zerodrop/zerodrop/observe"
	"github.com/zerodrop/zerodrop/outcome"
)

// warmPhase waits until the load is clean on every path and has reached
// every pod: the point from which the verdict judges. Pods it never reached
// make the scenario invalid, not an error.
type warmPhase struct{}

func (warmPhase) Execute(ctx context.Context, st *State) error {
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	unreached, err := observe.WaitWarm(wctx, st.tracker, st.rt.Client, st.ref, st.sc.PathNames(), 50)
	if err != nil {
		return err
	}
	st.unreached = unreached
	st.warmAt = time.Now()
	st.note(outcome.KindLoadWarm, "")
	return nil
}
