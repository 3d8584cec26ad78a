// Package tune finds, for a user's workload on one path of one cluster, the
// smallest preStop sleep that gives zero failed requests under a
// disruption, by a search over real runs: each candidate is the workload
// with a preStop sleep and the grace period it needs, run as many times as
// asked; it passes only when every run passes (a run that is no evidence
// either way does not pass). The search climbs a ladder (0, 1, 2, 4, 8, 16 s
// ... up to a maximum) to the first passing candidate, then bisects between
// the last failing one and it.
//
// Search takes the runs as a Runner, so its logic is tested without a
// cluster; Apply makes a candidate's scenario and TrialOf reads a run's
// outcome, for the Runner the command line builds on the runner.
package tune

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// Candidate is one setting tried: the preStop sleep and the grace period
// given with it.
type Candidate struct {
	PreStopSeconds int
	GraceSeconds   int64
}

func (c Candidate) String() string {
	return fmt.Sprintf("preStop %ds, grace %ds", c.PreStopSeconds, c.GraceSeconds)
}

// Trial is what one run of a candidate measured on the tuned path.
type Trial struct {
	// Result is the run's verdict on the path: pass, fail, invalid (no
	// evidence either way) or error.
	Result outcome.Result
	// Failed counts the path's failed requests; Reason says which and why.
	Failed int
	Reason string
	// Dir is where the run wrote its outcome.
	Dir string
	// Tail is the path's measured propagation tail (how long after SIGTERM
	// a terminating pod still got requests), when the app names its pod in
	// its answers; TailMeasured says whether it did.
	Tail         time.Duration
	TailMeasured bool
	// Shutdown is the longest any pod took from its SIGTERM (after the
	// preStop sleep) to its exit, from the timeline; -1 when no exit was seen.
	Shutdown time.Duration
	// Killed counts the app containers that ended SIGKILLed (exit 137): the
	// grace period ran out.
	Killed int
}

// Passed reports whether the run passed.
func (t Trial) Passed() bool { return t.Result == outcome.Pass }

// Runner runs one trial of a candidate.
type Runner interface {
	Run(ctx context.Context, c Candidate, trial int) (Trial, error)
}

// RunFunc is a Runner as a function.
type RunFunc func(ctx context.Context, c Candidate, trial int) (Trial, error)

// Run calls f.
func (f RunFunc) Run(ctx context.Context, c Candidate, trial int) (Trial, error) {
	return f(ctx, c, trial)
}

// Options bound the search.
type Options struct {
	// Max is the longest preStop sleep tried, in seconds.
	Max int
	// Repeat is how many runs each candidate needs, every one passing.
	Repeat int
	// Grace is the grace period a candidate runs with, given its preStop.
	Grace func(preStopSeconds int) int64
	// Progress, when set, hears of each trial as it ends.
	Progress func(c Candidate, trial int, t Trial)
}

// Step is one candidate tried and its trials, in order; a candidate stops
// at its first trial that does not pass.
type Step struct {
	Candidate Candidate
	Trials    []Trial
	Passed    bool
}

// Result is what the search found.
type Result struct {
	// Found is false when no candidate up to Max passed.
	Found bool
	// PreStop is the smallest preStop that passed, in seconds; Grace the
	// grace period it ran with.
	PreStop int
	Grace   int64
	// Failing is the largest preStop that did not pass below PreStop (-1:
	// none did; with Found false, the largest tried).
	Failing int
	// Steps are the candidates in the order they ran.
	Steps []Step
}

// Ladder is the preStop sleeps the search climbs, in seconds: 0, 1, 2, 4,
// 8, 16 ... doubling, below max, then max.
func Ladder(max int) []int {
	out := []int{0}
	for s := 1; s < max; s *= 2 {
		out = append(out, s)
	}
	if max > 0 {
		out = append(out, max)
	}
	return out
}

// Search climbs the ladder to the first passing candidate, then bisects
// between the last failing sleep and it; it returns what it found with
// every step, and an error (with the steps so far) when a run could not be
// made or ctx ended.
func Search(ctx context.Context, r Runner, o Options) (Result, error) {
	if o.Max < 0 || o.Repeat < 1 || o.Grace == nil {
		return Result{}, errors.New("tune: the search needs max ≥ 0, repeat ≥ 1 and a grace period for each candidate")
	}
	res := Result{Failing: -1}
	tried := map[int]bool{}
	try := func(preStop int) (bool, error) {
		if passed, ok := tried[preStop]; ok {
			return passed, nil
		}
		step := Step{Candidate: Candidate{PreStopSeconds: preStop, GraceSeconds: o.Grace(preStop)}, Passed: true}
		for trial := 1; trial <= o.Repeat; trial++ {
			if err := ctx.Err(); err != nil {
				return false, fmt.Errorf("tune: %s: %w", step.Candidate, err)
			}
			t, err := r.Run(ctx, step.Candidate, trial)
			if err != nil {
				return false, fmt.Errorf("tune: %s, trial %d: %w", step.Candidate, trial, err)
			}
			if o.Progress != nil {
				o.Progress(step.Candidate, trial, t)
			}
			step.Trials = append(step.Trials, t)
			if !t.Passed() {
				// one failed or unproven trial decides: no need for the others
				step.Passed = false
				break
			}
		}
		res.Steps = append(res.Steps, step)
		tried[preStop] = step.Passed
		return step.Passed, nil
	}
	pass := -1
	for _, s := range Ladder(o.Max) {
		ok, err := try(s)
		if err != nil {
			return res, err
		}
		if ok {
			pass = s
			break
		}
		res.Failing = s
	}
	if pass < 0 {
		return res, nil
	}
	for res.Failing >= 0 && pass-res.Failing > 1 {
		mid := res.Failing + (pass-res.Failing)/2
		ok, err := try(mid)
		if err != nil {
			return res, err
		}
		if ok {
			pass = mid
		} else {
			res.Failing = mid
		}
	}
	res.Found, res.PreStop, res.Grace = true, pass, o.Grace(pass)
	return res, nil
}
