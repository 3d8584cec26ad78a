package reports

import (
	"fmt"
	"sort"

	"github.com/zerodrop/zerodrop/outcome"
)

// Change is one cell that differs from the baseline.
type Change struct {
	Scenario string `json:"scenario"`
	What     string `json:"what"`
	Worse    bool   `json:"worse"`
}

// Compare compares a run with a baseline cell by cell (scenario × path) and
// says what got worse: a verdict no longer as expected, more failed requests
// on a path, a longer propagation tail (by more than half and 250 ms), or a
// scenario that disappeared. Pure.
func Compare(base, cur []*outcome.Outcome) []Change {
	byID := func(outs []*outcome.Outcome) map[string]*outcome.Outcome {
		m := map[string]*outcome.Outcome{}
		for _, o := range outs {
			m[o.Scenario.ID] = o
		}
		return m
	}
	b, c := byID(base), byID(cur)
	var out []Change
	for id, bo := range b {
		co, ok := c[id]
		if !ok {
			out = append(out, Change{id, "not run in this run (present in the baseline)", true})
			continue
		}
		if bo.Verdict.AsExpected && !co.Verdict.AsExpected {
			out = append(out, Change{id, fmt.Sprintf("verdict %s → %s, no longer as expected: %s", bo.Verdict.Result, co.Verdict.Result, co.Verdict.Reason), true})
		} else if !bo.Verdict.AsExpected && co.Verdict.AsExpected {
			out = append(out, Change{id, fmt.Sprintf("verdict %s → %s, now as expected", bo.Verdict.Result, co.Verdict.Result), false})
		}
		bf, cf := failuresByPath(bo), failuresByPath(co)
		for _, path := range sortedKeys(union(bf, cf)) {
			if cf[path] != bf[path] && co.Scenario.Profile.Expect == "pass" {
				out = append(out, Change{id, fmt.Sprintf("%s: %d → %d failed requests", path, bf[path], cf[path]), cf[path] > bf[path]})
			}
		}
		for path, ct := range co.Tail {
			bt, ok := bo.Tail[path]
			if ok && ct.FromEndpointRemoval > bt.FromEndpointRemoval*3/2 && ct.FromEndpointRemoval-bt.FromEndpointRemoval > 250e6 {
				out = append(out, Change{id, fmt.Sprintf("%s: propagation tail %s → %s", path, ms(bt.FromEndpointRemoval), ms(ct.FromEndpointRemoval)), true})
			}
		}
	}
	for id := range c {
		if _, ok := b[id]; !ok {
			out = append(out, Change{id, "new scenario (not in the baseline)", false})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Worse != out[j].Worse {
			return out[i].Worse
		}
		return out[i].Scenario+out[i].What < out[j].Scenario+out[j].What
	})
	return out
}

func failuresByPath(o *outcome.Outcome) map[string]int {
	m := map[string]int{}
	for _, f := range o.Failures {
		m[f.Path]++
	}
	return m
}

func union(a, b map[string]int) map[string]int {
	m := map[string]int{}
	for k := range a {
		m[k] = 0
	}
	for k := range b {
		m[k] = 0
	}
	return m
}
