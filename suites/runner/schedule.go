package runner

import (
	"context"
	"sync"

	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
)

// Job is one scenario to run, and whether it acts on whole nodes (a drain,
// a lost node): such a job evicts every pod on its node, other scenarios'
// too, so it runs alone.
type Job struct {
	Scenario  suites.Scenario
	NodeLevel bool
}

// Done receives each job's outcome (or error) as it ends, in the order jobs end.
type Done func(j Job, o *outcome.Outcome, err error)

// RunAll runs the jobs, up to parallel at once, each in its own namespace;
// a node-level job waits until no other job runs and runs alone. Jobs are
// started in order; it returns when every started job has ended (ctx
// ending stops new starts).
func (rt Runtime) RunAll(ctx context.Context, jobs []Job, parallel int, done Done) {
	nodeLevel := make([]bool, len(jobs))
	for i, j := range jobs {
		nodeLevel[i] = j.NodeLevel
	}
	schedule(ctx, nodeLevel, parallel, func(i int) {
		o, err := rt.Run(ctx, jobs[i].Scenario)
		done(jobs[i], o, err)
	})
}

// schedule runs job i with run(i), in order, up to parallel at once; a
// node-level job waits until no other runs and runs alone.
func schedule(ctx context.Context, nodeLevel []bool, parallel int, run func(i int)) {
	if parallel < 1 {
		parallel = 1
	}
	var exclusive sync.RWMutex // readers: ordinary jobs; the writer: a node-level job
	slots := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, alone := range nodeLevel {
		if ctx.Err() != nil {
			break
		}
		if alone {
			exclusive.Lock()
			run(i)
			exclusive.Unlock()
			continue
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		exclusive.RLock()
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer func() { <-slots }()
			defer exclusive.RUnlock()
			run(i)
		}(i)
	}
	wg.Wait()
}
