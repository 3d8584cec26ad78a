package load

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// Tracker is a Sink that follows every path's warm-up, whatever produced the
// records (the host's engine or an in-cluster generator): answers in a row,
// and which pods answered.
type Tracker struct {
	Next   Sink
	mu     sync.Mutex
	streak map[string]int
	failed map[string]int
	pods   map[string]map[string]int
}

// NewTracker passes every record on to next.
func NewTracker(next Sink) *Tracker {
	return &Tracker{Next: next, streak: map[string]int{}, failed: map[string]int{}, pods: map[string]map[string]int{}}
}

// Write records and passes on.
func (t *Tracker) Write(r Record) error {
	t.mu.Lock()
	if r.Class == outcome.OK {
		t.streak[r.Path]++
		if t.pods[r.Path] == nil {
			t.pods[r.Path] = map[string]int{}
		}
		if r.Pod != "" {
			t.pods[r.Path][r.Pod]++
		}
	} else {
		t.streak[r.Path] = 0
		t.failed[r.Path]++
	}
	t.mu.Unlock()
	if t.Next != nil {
		return t.Next.Write(r)
	}
	return nil
}

// Pods returns, per path, the pods that answered so far.
func (t *Tracker) Pods() map[string]map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]map[string]int{}
	for p, m := range t.pods {
		c := map[string]int{}
		for k, v := range m {
			c[k] = v
		}
		out[p] = c
	}
	return out
}

// WaitWarm returns once every path answered n requests in a row.
func (t *Tracker) WaitWarm(ctx context.Context, paths []string, n int) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		t.mu.Lock()
		warm, state := true, []string{}
		sorted := append([]string(nil), paths...)
		sort.Strings(sorted)
		for _, p := range sorted {
			if t.streak[p] < n {
				warm = false
			}
			state = append(state, fmt.Sprintf("%s %d/%d ok in a row (%d failed so far)", p, t.streak[p], n, t.failed[p]))
		}
		t.mu.Unlock()
		if warm {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("load: not warm: %s: %w", strings.Join(state, "; "), ctx.Err())
		case <-tick.C:
		}
	}
}
