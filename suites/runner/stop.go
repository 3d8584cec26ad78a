package runner

import (
	"context"
	"fmt"

	"github.com/zerodrop/zerodrop/load"
)

// stopPhase ends the load on every path and waits until every request in
// flight has its record on disk. It runs whatever happened before: a load
// that started is always stopped and kept.
type stopPhase struct{}

func (stopPhase) Execute(ctx context.Context, st *State) error {
	if st.sink == nil {
		return nil
	}
	var parts []*load.Result
	var errs []error
	if st.host != nil {
		st.host.Stop()
	}
	if st.hostStreams != nil {
		st.hostStreams.Stop()
	}
	if st.host != nil {
		res, err := st.host.Wait()
		parts = append(parts, res)
		errs = append(errs, err)
	}
	if st.hostStreams != nil {
		res, err := st.hostStreams.Wait()
		parts = append(parts, res)
		errs = append(errs, err)
	}
	if st.remote != nil {
		res, n := st.remote.stop()
		st.followed = n
		parts = append(parts, res)
	}
	if st.stopProgress != nil {
		st.stopProgress()
	}
	st.note("load_stop", "")
	errs = append(errs, st.sink.Close())
	st.result = load.Merge(parts...)
	st.out.Load = st.result
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("runner: stop load: %w", err)
		}
	}
	if ctx.Err() != nil {
		// cut short (an interrupt, a spec timeout): what was recorded stays
		// on disk, but no verdict — a shortened settle could hide failures
		if st.timeline != nil {
			st.out.Timeline = st.timeline.Events()
		}
		return fmt.Errorf("runner: interrupted before the scenario ended (%w): records and timeline kept, no verdict", ctx.Err())
	}
	st.stopped = true
	return nil
}
