package runner

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestNodeLevelJobsRunAlone: ordinary jobs overlap up to the parallelism; a
// node-level job never overlaps another.
func TestNodeLevelJobsRunAlone(t *testing.T) {
	var mu sync.Mutex
	running, most := 0, 0
	var violations []string
	run := func(name string, node bool) {
		mu.Lock()
		running++
		if running > most {
			most = running
		}
		if node && running > 1 {
			violations = append(violations, name+" overlapped")
		}
		mu.Unlock()
		time.Sleep(30 * time.Millisecond)
		mu.Lock()
		running--
		mu.Unlock()
	}
	var order []bool
	for i := 0; i < 9; i++ {
		order = append(order, i%4 == 3) // every fourth is node-level
	}
	schedule(context.Background(), order, 3, func(i int) { run("job", order[i]) })
	if len(violations) > 0 || most != 3 {
		t.Fatalf("violations %v, most at once %d (want 3)", violations, most)
	}
}
