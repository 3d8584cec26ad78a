package tune

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// threshold is a fake cluster on which every preStop from min on passes.
type threshold struct {
	min   int
	runs  []Candidate
	trial func(c Candidate, trial int) Trial // overrides, when set
}

func (th *threshold) Run(_ context.Context, c Candidate, trial int) (Trial, error) {
	th.runs = append(th.runs, c)
	if th.trial != nil {
		return th.trial(c, trial), nil
	}
	if c.PreStopSeconds >= th.min {
		return Trial{Result: outcome.Pass, Shutdown: 0}, nil
	}
	return Trial{Result: outcome.Fail, Failed: 10, Shutdown: 0}, nil
}

func grace(p int) int64 { return int64(p) + 30 }

func sleeps(steps []Step) []int {
	var out []int
	for _, s := range steps {
		out = append(out, s.Candidate.PreStopSeconds)
	}
	return out
}

func TestLadderDoublesUpToMax(t *testing.T) {
	for max, want := range map[int][]int{0: {0}, 1: {0, 1}, 2: {0, 1, 2}, 16: {0, 1, 2, 4, 8, 16}, 30: {0, 1, 2, 4, 8, 16, 30}, 5: {0, 1, 2, 4, 5}} {
		if got := Ladder(max); !reflect.DeepEqual(got, want) {
			t.Errorf("Ladder(%d) = %v, want %v", max, got, want)
		}
	}
}

func TestSearchClimbsThenBisects(t *testing.T) {
	cases := []struct {
		min, max       int
		found          bool
		preStop, fails int
		order          []int
	}{
		{min: 5, max: 30, found: true, preStop: 5, fails: 4, order: []int{0, 1, 2, 4, 8, 6, 5}},
		{min: 8, max: 30, found: true, preStop: 8, fails: 7, order: []int{0, 1, 2, 4, 8, 6, 7}},
		{min: 17, max: 30, found: true, preStop: 17, fails: 16, order: []int{0, 1, 2, 4, 8, 16, 30, 23, 19, 17}},
		{min: 0, max: 30, found: true, preStop: 0, fails: -1, order: []int{0}},
		{min: 1, max: 30, found: true, preStop: 1, fails: 0, order: []int{0, 1}},
		{min: 3, max: 3, found: true, preStop: 3, fails: 2, order: []int{0, 1, 2, 3}},
		{min: 40, max: 10, found: false, fails: 10, order: []int{0, 1, 2, 4, 8, 10}},
	}
	for _, c := range cases {
		th := &threshold{min: c.min}
		res, err := Search(context.Background(), th, Options{Max: c.max, Repeat: 2, Grace: grace})
		if err != nil {
			t.Fatal(err)
		}
		if res.Found != c.found || (c.found && res.PreStop != c.preStop) || res.Failing != c.fails || !reflect.DeepEqual(sleeps(res.Steps), c.order) {
			t.Errorf("threshold %d, max %d: found %v, preStop %d, failing %d, order %v; want %v, %d, %d, %v",
				c.min, c.max, res.Found, res.PreStop, res.Failing, sleeps(res.Steps), c.found, c.preStop, c.fails, c.order)
		}
		if c.found && res.Grace != grace(c.preStop) {
			t.Errorf("threshold %d: grace %d, want %d", c.min, res.Grace, grace(c.preStop))
		}
		// a passing candidate ran every repeat; a failing one stopped at its first failure
		for _, st := range res.Steps {
			want := 1
			if st.Passed {
				want = 2
			}
			if len(st.Trials) != want || st.Candidate.GraceSeconds != grace(st.Candidate.PreStopSeconds) {
				t.Errorf("threshold %d: %s ran %d trials (passed %v), want %d", c.min, st.Candidate, len(st.Trials), st.Passed, want)
			}
		}
	}
}

// TestOneBadTrialFailsTheCandidate: a candidate passes only when every
// repeat passes and every run is evidence: a flaky one, or one that
// measured nothing (invalid), does not.
func TestOneBadTrialFailsTheCandidate(t *testing.T) {
	for _, bad := range []Trial{{Result: outcome.Fail, Failed: 1}, {Result: outcome.Invalid, Reason: "the generator saturated"}, {Result: outcome.Error}} {
		th := &threshold{trial: func(c Candidate, trial int) Trial {
			// 4 s passes its first trial but not its second; 8 s always passes
			if c.PreStopSeconds >= 8 || (c.PreStopSeconds >= 4 && trial == 1) {
				return Trial{Result: outcome.Pass}
			}
			if c.PreStopSeconds >= 4 {
				return bad
			}
			return Trial{Result: outcome.Fail, Failed: 5}
		}}
		res, err := Search(context.Background(), th, Options{Max: 16, Repeat: 3, Grace: grace})
		if err != nil {
			t.Fatal(err)
		}
		if !res.Found || res.PreStop != 8 || res.Failing != 7 {
			t.Errorf("%s trial at 4-7 s: found %v, preStop %d, failing %d; want 8, failing 7 (steps %v)", bad.Result, res.Found, res.PreStop, res.Failing, sleeps(res.Steps))
		}
		for _, st := range res.Steps {
			if st.Candidate.PreStopSeconds == 4 && (st.Passed || len(st.Trials) != 2) {
				t.Errorf("%s: 4 s passed %v after %d trials, want failed at its second", bad.Result, st.Passed, len(st.Trials))
			}
		}
	}
}

func TestARunErrorEndsTheSearchWithWhatRan(t *testing.T) {
	boom := errors.New("cluster gone")
	n := 0
	r := RunFunc(func(_ context.Context, c Candidate, _ int) (Trial, error) {
		n++
		if c.PreStopSeconds == 2 {
			return Trial{}, boom
		}
		return Trial{Result: outcome.Fail}, nil
	})
	res, err := Search(context.Background(), r, Options{Max: 30, Repeat: 1, Grace: grace})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "preStop 2s, grace 32s, trial 1") {
		t.Fatalf("err %v, want the run's, naming the candidate", err)
	}
	if res.Found || !reflect.DeepEqual(sleeps(res.Steps), []int{0, 1}) || n != 3 {
		t.Errorf("found %v, steps %v, %d runs", res.Found, sleeps(res.Steps), n)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Search(ctx, r, Options{Max: 30, Repeat: 1, Grace: grace}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := Search(context.Background(), r, Options{Max: 30, Repeat: 0, Grace: grace}); err == nil {
		t.Error("repeat 0 searched")
	}
}

func TestProgressHearsEveryTrial(t *testing.T) {
	var heard []string
	th := &threshold{min: 2}
	_, err := Search(context.Background(), th, Options{Max: 4, Repeat: 2, Grace: grace, Progress: func(c Candidate, trial int, tr Trial) {
		heard = append(heard, c.String()+" "+string(tr.Result))
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"preStop 0s, grace 30s fail", "preStop 1s, grace 31s fail", "preStop 2s, grace 32s pass", "preStop 2s, grace 32s pass"}
	if !reflect.DeepEqual(heard, want) {
		t.Errorf("heard %v, want %v", heard, want)
	}
}

func TestRecommendAddsShutdownAndMargin(t *testing.T) {
	res := Result{Found: true, PreStop: 6, Steps: []Step{
		{Trials: []Trial{{Result: outcome.Fail, Shutdown: 300 * time.Millisecond, Tail: 2 * time.Second, TailMeasured: true}}},
		{Trials: []Trial{{Result: outcome.Pass, Shutdown: 1200 * time.Millisecond, Killed: 1}, {Result: outcome.Pass, Shutdown: -1}}},
	}}
	r, err := Recommend(res, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// 6 s preStop + 2 s (1.2 s rounded up) + 3 s margin
	if r.PreStopSeconds != 6 || r.GraceSeconds != 11 || r.Shutdown != 1200*time.Millisecond || !r.TailMeasured || r.Tail != 2*time.Second || r.Killed != 1 {
		t.Errorf("recommended %+v", r)
	}
	r, _ = Recommend(Result{Found: true, PreStop: 4, Steps: []Step{{Trials: []Trial{{Result: outcome.Pass, Shutdown: -1}}}}}, 5*time.Second)
	if r.GraceSeconds != 9 || r.Shutdown != -1 || r.TailMeasured {
		t.Errorf("no shutdown measured: %+v", r)
	}
	if _, err := Recommend(Result{}, time.Second); err == nil {
		t.Error("recommended with nothing found")
	}
}
