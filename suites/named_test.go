package suites

import (
	"slices"
	"testing"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/outcome"
)

func TestEverySetsProfileIsValid(t *testing.T) {
	for _, e := range GatingSuite() {
		if err := e.Scenario.Profile.Validate(); err != nil {
			t.Errorf("%s: %v", e.Scenario.ID(), err)
		}
	}
}

// TestEveryLabelIsUsed: a label no named scenario carries selects nothing
// (the matrix's comes from MatrixSet, Cluster from every entry).
func TestEveryLabelIsUsed(t *testing.T) {
	used := map[Label]bool{Matrix: true, Cluster: true}
	for _, e := range GatingSuite() {
		for _, l := range e.Labels {
			if !slices.Contains(labels, l) {
				t.Errorf("%s carries %q, which is not in the label list", e.Scenario.ID(), l)
			}
			used[l] = true
		}
	}
	for _, l := range labels {
		if !used[l] {
			t.Errorf("label %q is carried by no named scenario", l)
		}
	}
}

// TestScenarioIDsAreUnique: a scenario's ID names its directory under a run.
func TestScenarioIDsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range GatingSuite() {
		if id := e.Scenario.ID(); seen[id] {
			t.Errorf("%s twice", id)
		} else {
			seen[id] = true
		}
	}
}

// TestEveryCellSaysWhatAndWhy: every client a scenario loads has an
// expectation and a one-line why from how the race works.
func TestEveryCellSaysWhatAndWhy(t *testing.T) {
	for _, e := range GatingSuite() {
		x := e.Scenario.Expectations()
		for _, p := range e.Scenario.Paths {
			c := outcome.ClientOf(string(p))
			if x[c].Expect == "" || x[c].Why == "" {
				t.Errorf("%s: %s clients (%s) expect %q because %q", e.Scenario.ID(), c, p, x[c].Expect, x[c].Why)
			}
		}
	}
}

// TestStuckSetGivesUpInTime: each stuck scenario's Deployment gives up
// (progressDeadlineSeconds) well inside the disruption's timeout, and its
// expectations cover the known-good and the known-bad.
func TestStuckSetGivesUpInTime(t *testing.T) {
	seen := map[outcome.Expectation]int{}
	for _, e := range StuckSet() {
		s := e.Scenario
		if _, ok := s.Disruption.(chaos.StuckRollout); !ok {
			t.Errorf("%s: disruption %T, want a StuckRollout", s.ID(), s.Disruption)
		}
		if pd := s.Profile.Strategy.ProgressDeadlineSeconds; pd < 1 || pd > 120 {
			t.Errorf("%s: progressDeadlineSeconds %d: the default (600 s) outlives the disruption", s.ID(), pd)
		}
		if s.NewVersion != "v1" {
			t.Errorf("%s: after the undo v1 serves, not %q", s.ID(), s.NewVersion)
		}
		seen[s.Expectation()]++
	}
	if seen[outcome.ExpectStuck] < 2 || seen[outcome.ExpectFail] < 2 {
		t.Errorf("expectations %v: want known-good (stuck) and known-bad (fail) configurations", seen)
	}
}

// TestStuckControlsAreTheScenariosThatMustFail: in the stuck set, the
// control label selects exactly the scenarios that must drop requests.
func TestStuckControlsAreTheScenariosThatMustFail(t *testing.T) {
	for _, e := range StuckSet() {
		mustFail := false
		for _, p := range e.Scenario.Paths {
			mustFail = mustFail || e.Scenario.Expectations()[outcome.ClientOf(string(p))].Expect == outcome.ExpectFail
		}
		if mustFail != slices.Contains(e.Labels, Control) {
			t.Errorf("%s: a client must fail: %v; labels %v", e.Scenario.ID(), mustFail, e.Labels)
		}
	}
}

// TestTheMatrixHasTheStuckCases: the matrix's extras carry the stuck set on
// the matrix's paths (the crash loop behind minReadySeconds with new
// connections only), and --disruptions selects them alone; a stuck kind
// makes no plain cell (it needs its strategy's progress deadline).
func TestTheMatrixHasTheStuckCases(t *testing.T) {
	all, err := MatrixSet(MatrixFilter{Extras: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range all {
		if !slices.Contains(e.Labels, Stuck) {
			continue
		}
		n++
		if !slices.Contains(e.Labels, Matrix) || e.Scenario.Variant == "" || e.Scenario.Plan != MatrixPlan {
			t.Errorf("%s: labels %v, plan %+v", e.Scenario.ID(), e.Labels, e.Scenario.Plan)
		}
		ka := false
		for _, p := range e.Scenario.Paths {
			ka = ka || p.KeepAlive()
		}
		if want := e.Scenario.Variant != "crash-minready30"; ka != want || len(e.Scenario.Paths) < len(Paths) {
			t.Errorf("%s loads %v", e.Scenario.ID(), e.Scenario.Paths)
		}
	}
	if n != len(StuckSet()) {
		t.Fatalf("%d stuck cases in the matrix, want %d", n, len(StuckSet()))
	}
	only, err := MatrixSet(MatrixFilter{Extras: true, Disruptions: []DisruptionKind{StuckRollout, CrashRollout}})
	if err != nil {
		t.Fatal(err)
	}
	if len(only) != n {
		var ids []string
		for _, e := range only {
			ids = append(ids, e.Scenario.ID())
		}
		t.Fatalf("--disruptions stuck-rollout,crash-rollout selects %v, want the %d stuck cases", ids, n)
	}
}
