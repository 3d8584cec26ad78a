package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/zerodrop/zerodrop/observe"
)

// observePhase starts the timeline (pods, EndpointSlices, nodes, Events,
// the app's lifecycle) and streams it to timeline.jsonl as it happens.
type observePhase struct{}

func (observePhase) Execute(ctx context.Context, st *State) error {
	f, err := os.Create(filepath.Join(st.dir, timelineFile))
	if err != nil {
		return fmt.Errorf("runner: %w", err)
	}
	st.timelineFile = f
	tl := observe.NewTimeline()
	var mu sync.Mutex
	enc := json.NewEncoder(f)
	tl.OnEvent = func(e observe.Event) { mu.Lock(); enc.Encode(e); mu.Unlock() }
	tctx, stop := context.WithCancel(ctx)
	st.stopTimeline = stop
	if err := tl.Record(tctx, st.rt.Client, st.ref); err != nil {
		return err
	}
	st.timeline = tl
	st.env.Note = tl.Note
	return nil
}
