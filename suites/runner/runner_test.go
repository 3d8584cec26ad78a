package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/internal/phase"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/workload"
)

func testScenario(t *testing.T) suites.Scenario {
	p, err := fixtures.Preset(fixtures.PreStopAndDrain)
	if err != nil {
		t.Fatal(err)
	}
	return suites.Scenario{Workload: workload.Deployment, Profile: p, Disruption: chaos.DeletePods{Count: 1}, Paths: []suites.Path{suites.PathNodePort}}
}

// TestExecuteRunsAlwaysStepsAfterAFailure: after a failed phase only the
// always phases run; every phase that ran is in the outcome, on disk.
func TestExecuteRunsAlwaysStepsAfterAFailure(t *testing.T) {
	st, err := newState(Runtime{OutDir: t.TempDir(), Log: phase.Discard()}, testScenario(t), phase.Discard())
	if err != nil {
		t.Fatal(err)
	}
	var ran []string
	mk := func(name string, fail bool) Phase {
		return PhaseFunc(func(context.Context, *State) error {
			ran = append(ran, name)
			if fail {
				return errors.New(name + " broke")
			}
			return nil
		})
	}
	steps := []step{{"a", mk("a", false), false}, {"b", mk("b", true), false}, {"c", mk("c", false), false},
		{"stop", mk("stop", false), true}, {"d", mk("d", false), false}, {"cleanup", mk("cleanup", false), true}}
	err = execute(context.Background(), st, steps)
	if err == nil || err.Error() != "b broke" {
		t.Fatalf("err %v, want the first failure", err)
	}
	if got := strings.Join(ran, ","); got != "a,b,stop,cleanup" {
		t.Fatalf("ran %s", got)
	}
	o, err := outcome.Read(st.dir + "/outcome.json")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range o.Phases {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "a,b,stop,cleanup" || o.Phases[1].Error != "b broke" || o.Complete {
		t.Fatalf("phases on disk %+v, complete %v", o.Phases, o.Complete)
	}
}

// TestNewStateWritesAnIncompleteOutcome: a run interrupted at any point
// leaves an outcome on disk that says it is incomplete.
func TestNewStateWritesAnIncompleteOutcome(t *testing.T) {
	s := testScenario(t)
	st, err := newState(Runtime{OutDir: t.TempDir()}, s, phase.Discard())
	if err != nil {
		t.Fatal(err)
	}
	o, err := outcome.Read(st.dir + "/outcome.json")
	if err != nil {
		t.Fatal(err)
	}
	if o.Complete || o.Verdict.Result != outcome.Error || !strings.Contains(o.Verdict.Reason, "incomplete") || o.Scenario.ID != s.ID() {
		t.Fatalf("%+v", o)
	}
}

func TestPhaseOrder(t *testing.T) {
	want := "namespace,deploy,ready,observe,load,warm,disrupt,finish,settle,stop,judge,collect,cleanup"
	if got := strings.Join(PhaseNames(), ","); got != want {
		t.Fatalf("phases %s", got)
	}
}

// TestStuckRolloutsAreOutcomesNotErrors: a stuck rollout the disruption
// rolled back is recorded on the span as its own outcome and leaves no
// disruption error (the workload is checked, settled and judged as after
// any completed disruption); a blocked drain and a claim not verified are
// their own evidence; anything else is a disruption that did not complete.
func TestStuckRolloutsAreOutcomesNotErrors(t *testing.T) {
	stuck := chaos.Stuck{Deployment: "web", Version: "v2", Deadline: 20, RolledBackTo: "1", Replicas: 3, OldMinAvailable: 3}
	for _, c := range []struct {
		err   error
		stuck bool
		check func(outcome.Evidence) bool
	}{
		{nil, false, nil},
		{stuck, true, nil},
		{chaos.Blocked{Node: "w1"}, false, func(e outcome.Evidence) bool { return e.Blocked != "" && e.DisruptionError == "" }},
		{chaos.Unverified{What: "recreated"}, false, func(e outcome.Evidence) bool { return e.Unverified == "recreated" }},
		{errors.New("timed out"), false, func(e outcome.Evidence) bool {
			return strings.HasSuffix(e.DisruptionError, "timed out") && e.Stuck == nil
		}},
	} {
		sc := testScenario(t)
		err := c.err
		sc.Disruption = chaos.Func{N: "x", F: func(context.Context, chaos.Env) error { return err }}
		st := &State{sc: sc, out: &outcome.Outcome{}}
		if e := (disruptPhase{}).Execute(context.Background(), st); e != nil {
			t.Fatal(e)
		}
		if got := st.span.Stuck != nil; got != c.stuck {
			t.Errorf("%v: stuck %v, want %v", c.err, got, c.stuck)
		}
		if c.stuck {
			if st.disruptionErr != nil || st.span.Error != "" || st.span.Stuck.DeadlineSeconds != 20 || st.span.Stuck.RolledBackTo != "1" ||
				st.span.Stuck.OldMinAvailable != 3 || st.span.Stuck.Reason != outcome.ProgressDeadlineExceeded {
				t.Errorf("stuck: error %v, span %+v, stuck %+v", st.disruptionErr, st.span, st.span.Stuck)
			}
			continue
		}
		if (st.disruptionErr != nil) != (c.err != nil) {
			t.Errorf("%v: disruption error %v", c.err, st.disruptionErr)
		}
		if c.check != nil {
			var ev outcome.Evidence
			disruptionEvidence(st.disruptionErr, &ev)
			if !c.check(ev) {
				t.Errorf("%v: evidence %+v", c.err, ev)
			}
		}
	}
}

// TestFixtureObjectsRainbow: a rainbow switch's scenario deploys the first
// colour — its Deployment the workload's controller, every Service (the
// workload's, the NodePort and headless ones the paths add) selecting that
// colour — while the workload's selector, which the observers watch, takes
// every colour's pods.
func TestFixtureObjectsRainbow(t *testing.T) {
	s := testScenario(t)
	s.Paths = []suites.Path{suites.PathNodePort, suites.PathHeadless, suites.PathClusterIP + "+sse"}
	s.Disruption = chaos.RainbowSwitch{}
	objs, access, ref, err := fixtureObjects(s, "ns", "fixture:1")
	if err != nil {
		t.Fatal(err)
	}
	access.NodePortAuto = true
	objs = append(objs, access.Objects()...)
	services := map[string]string{}
	for _, o := range objs {
		switch v := o.(type) {
		case *appsv1.Deployment:
			if v.Name != "web-blue" || v.Spec.Template.Labels[workload.ColourLabel] != "blue" {
				t.Errorf("deployment %s, pods %v", v.Name, v.Spec.Template.Labels)
			}
		case *corev1.Service:
			services[v.Name] = v.Spec.Selector[workload.ColourLabel]
		}
	}
	want := map[string]string{"web": "blue", "web-headless": "blue", "web-nodeport": "blue"}
	if fmt.Sprint(services) != fmt.Sprint(want) {
		t.Errorf("services select %v, want %v", services, want)
	}
	if ref.Name != "web-blue" || ref.Service != "web" || ref.Selector[workload.ColourLabel] != "" || access.Name != "web" {
		t.Errorf("ref %+v, access %s", ref, access.Name)
	}
	if got := (chaos.RainbowSwitch{}).Successor(ref); got.Name != "web-green" {
		t.Errorf("after the switch the workload is %s", got.Name)
	}
	// without a rainbow: one Deployment, named as the workload
	s.Disruption = chaos.DeletePods{Count: 1}
	_, _, ref, err = fixtureObjects(s, "ns", "fixture:1")
	if err != nil || ref.Name != "web" {
		t.Fatalf("ref %+v, %v", ref, err)
	}
	if got := streamPlan(s); got.Lifetime != 0 {
		t.Fatalf("no lifetime unless the scenario sets one: %+v", got)
	}
	s.StreamLifetime = 15 * time.Second
	if got := streamPlan(s); got.Lifetime != s.StreamLifetime {
		t.Fatalf("stream plan %+v", got)
	}
}

// TestFinalShare: the last full second of every request path, and the
// latest sessions of every stream path (a sparse series: sessions by the
// second they opened), say which version served at the end.
func TestFinalShare(t *testing.T) {
	sec := func(versions map[string]int) *outcome.Second { return &outcome.Second{Versions: versions} }
	r := &outcome.LoadResult{Paths: map[string]*outcome.PathStats{
		"nodeport": {Series: []*outcome.Second{sec(map[string]int{"v1": 50}), sec(map[string]int{"v2": 50}), sec(map[string]int{"v1": 3})}},
		// sessions opened at the start on v1, and their successors on v2
		"nodeport+sse": {Stream: &outcome.StreamStats{}, Series: []*outcome.Second{sec(map[string]int{"v1": 6}), sec(map[string]int{"v2": 6})}},
	}}
	if got := finalShare(r, "v2"); got != 1 {
		t.Fatalf("share %v, want 1", got)
	}
	r.Paths["nodeport+sse"].Series = append(r.Paths["nodeport+sse"].Series, sec(map[string]int{"v1": 2}))
	if got := finalShare(r, "v2"); got != 50.0/52 {
		t.Fatalf("share %v: the latest sessions on v1 count", got)
	}
}

// TestWarmWaitsForLongRequestsSteadyState: with an app whose long requests
// take longer than the load has run, the disruption waits until they can
// be in flight on every pod as in steady state; without long requests, or
// once the load is old enough, it does not wait.
func TestWarmWaitsForLongRequestsSteadyState(t *testing.T) {
	sc := testScenario(t)
	st := &State{sc: sc, log: phase.Discard(), loadStarted: time.Now().Add(-MinSteadyLoad)}
	begin := time.Now()
	if err := steadyLoad(context.Background(), st); err != nil || time.Since(begin) > time.Second {
		t.Fatalf("no long requests, the load old enough: waited %s, %v", time.Since(begin), err)
	}
	st.loadStarted = time.Now().Add(200*time.Millisecond - MinSteadyLoad)
	if err := steadyLoad(context.Background(), st); err != nil || time.Since(st.loadStarted) < MinSteadyLoad {
		t.Fatalf("a young load: only %s after it began, %v", time.Since(st.loadStarted), err)
	}
	st.sc.Profile.SlowEvery, st.sc.Profile.SlowLatency = 10, MinSteadyLoad+200*time.Millisecond
	st.loadStarted = time.Now().Add(-MinSteadyLoad)
	if err := steadyLoad(context.Background(), st); err != nil || time.Since(st.loadStarted) < st.sc.Profile.SlowLatency {
		t.Fatalf("long requests: only %s after the load began, %v", time.Since(st.loadStarted), err)
	}
	st.sc.Profile.SlowLatency = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := steadyLoad(ctx, st); err == nil || !strings.Contains(err.Error(), "steady state") {
		t.Fatalf("an ended context: %v", err)
	}
}
