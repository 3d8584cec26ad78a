package tune

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
)

// Apply returns the scenario of one candidate: the user's workload with the
// candidate's preStop sleep (the sleep action; none for 0 s, replacing any
// hook the container had) and grace period in the controller's pod
// template, loaded on the one path tuned, expected to pass, recorded under
// its own variant (…@prestop-8s) so that every candidate has its own
// outcome. The scenario given is not changed.
func Apply(s suites.Scenario, path suites.Path, c Candidate) (suites.Scenario, error) {
	if s.App == nil {
		return suites.Scenario{}, errors.New("tune: the scenario has no user workload (a scenario file's)")
	}
	app := *s.App
	app.Objects = make([]*unstructured.Unstructured, len(s.App.Objects))
	found := false
	for i, o := range s.App.Objects {
		o = o.DeepCopy()
		app.Objects[i] = o
		if o.GetKind() != string(app.Target.Kind) || o.GetName() != app.Target.Name {
			continue
		}
		if err := patchTemplate(o, app.Target.Container, c); err != nil {
			return suites.Scenario{}, err
		}
		found = true
	}
	if !found {
		return suites.Scenario{}, fmt.Errorf("tune: no %s %s among the manifests", app.Target.Kind, app.Target.Name)
	}
	out := s
	out.App = &app
	out.Paths = []suites.Path{path}
	out.Profile.PreStop, out.Profile.PreStopSeconds = fixtures.PreStopSleepA, c.PreStopSeconds
	if c.PreStopSeconds == 0 {
		out.Profile.PreStop = fixtures.PreStopNone
	}
	out.Profile.GraceSeconds = c.GraceSeconds
	out.Expect, out.Why = outcome.ExpectPass, "tune: a candidate passes only with zero failed requests"
	out.Variant = fmt.Sprintf("prestop-%ds", c.PreStopSeconds)
	return out, nil
}

// patchTemplate sets the candidate in a controller's pod template.
func patchTemplate(o *unstructured.Unstructured, container string, c Candidate) error {
	where := fmt.Sprintf("tune: %s %s", o.GetKind(), o.GetName())
	containers, ok, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
	if err != nil || !ok {
		return fmt.Errorf("%s: no containers in its pod template", where)
	}
	found := false
	for i, raw := range containers {
		ct, ok := raw.(map[string]any)
		if !ok || ct["name"] != container {
			continue
		}
		found = true
		lc, _ := ct["lifecycle"].(map[string]any)
		if lc == nil {
			lc = map[string]any{}
		}
		if c.PreStopSeconds > 0 {
			lc["preStop"] = map[string]any{"sleep": map[string]any{"seconds": int64(c.PreStopSeconds)}}
		} else {
			delete(lc, "preStop")
		}
		if len(lc) == 0 {
			delete(ct, "lifecycle")
		} else {
			ct["lifecycle"] = lc
		}
		containers[i] = ct
	}
	if !found {
		return fmt.Errorf("%s: no container %s in its pod template", where, container)
	}
	if err := unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers"); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	if err := unstructured.SetNestedField(o.Object, c.GraceSeconds, "spec", "template", "spec", "terminationGracePeriodSeconds"); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// TrialOf reads what a candidate's run measured on the tuned path from its
// outcome: the verdict (an incomplete outcome is an error), the failures
// judged, the path's propagation tail, the app's shutdown after SIGTERM
// and the containers SIGKILLed.
func TrialOf(o *outcome.Outcome, path suites.Path, preStopSeconds int, container string) Trial {
	t := Trial{Result: o.Verdict.Result, Reason: o.Verdict.Reason, Shutdown: -1}
	if !o.Complete {
		t.Result = outcome.Error
	}
	for _, f := range o.Failures {
		if f.Path == string(path) && f.Class.Failed() {
			t.Failed++
		}
	}
	if tail, ok := o.Tail[string(path)]; ok && tail.Pods > 0 {
		t.Tail, t.TailMeasured = tail.FromSIGTERM, true
	}
	t.Shutdown = shutdown(o.Timeline, time.Duration(preStopSeconds)*time.Second)
	for _, e := range o.Timeline {
		if e.Kind == "container_terminated" && strings.HasPrefix(e.Detail, container+" exit 137") {
			t.Killed++
		}
	}
	return t
}

// shutdown is the longest a pod took from its SIGTERM to its container's
// exit: the exit (the kubelet reports it to the second, so its second's
// end, an upper bound) less the moment the pod was seen deleting and the
// preStop sleep, which runs before the SIGTERM. -1 when no pod was seen
// both deleting and exiting.
func shutdown(timeline []outcome.Event, preStop time.Duration) time.Duration {
	deleting := map[string]time.Time{}
	for _, e := range timeline {
		if e.Kind == "pod_deleting" && e.Pod != "" {
			if _, ok := deleting[e.Pod]; !ok {
				deleting[e.Pod] = e.Time
			}
		}
	}
	longest := time.Duration(-1)
	for _, e := range timeline {
		d, ok := deleting[e.Pod]
		if e.Kind != "container_terminated" || !ok {
			continue
		}
		exit := e.Time.Truncate(time.Second).Add(time.Second)
		if exit.Before(d) {
			continue // an earlier exit (a restart), not the shutdown
		}
		took := max(exit.Sub(d)-preStop, 0)
		longest = max(longest, took)
	}
	return longest
}

// Recommendation is the setting to apply, and what it rests on.
type Recommendation struct {
	PreStopSeconds int
	GraceSeconds   int64
	// Shutdown is the app's longest measured shutdown after SIGTERM over
	// every run (-1: none measured); Margin what the grace period adds.
	Shutdown time.Duration
	Margin   time.Duration
	// Tail is the longest propagation tail measured on the path (when the
	// app names its pod); Pods how many terminating pods it rests on.
	Tail         time.Duration
	TailMeasured bool
	// Killed counts SIGKILLed app containers over every run.
	Killed int
}

// Recommend turns the search's result into the setting to apply: the
// smallest preStop that passed and a grace period of that preStop, the
// app's longest measured shutdown after SIGTERM (rounded up to the second)
// and the margin.
func Recommend(res Result, margin time.Duration) (Recommendation, error) {
	if !res.Found {
		return Recommendation{}, errors.New("tune: no candidate passed: nothing to recommend")
	}
	r := Recommendation{PreStopSeconds: res.PreStop, Shutdown: -1, Margin: margin}
	for _, st := range res.Steps {
		for _, t := range st.Trials {
			r.Shutdown = max(r.Shutdown, t.Shutdown)
			r.Killed += t.Killed
			if t.TailMeasured {
				r.Tail, r.TailMeasured = max(r.Tail, t.Tail), true
			}
		}
	}
	r.GraceSeconds = int64(res.PreStop) + ceilSeconds(max(r.Shutdown, 0)) + ceilSeconds(margin)
	return r, nil
}

func ceilSeconds(d time.Duration) int64 {
	return int64(math.Ceil(d.Seconds()))
}

// Patch is the recommendation as a strategic merge patch of the
// controller's pod template (kubectl patch KIND NAME --patch-file FILE):
// the container, by name, gets the preStop sleep in place of any hook it
// had; the pod, the grace period.
func (r Recommendation) Patch(container string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "spec:\n  template:\n    spec:\n      terminationGracePeriodSeconds: %d\n      containers:\n        - name: %s\n", r.GraceSeconds, container)
	if r.PreStopSeconds > 0 {
		// replace: merged into an exec or httpGet hook, the sleep would make a
		// handler of two actions, which the API server refuses
		fmt.Fprintf(&b, "          lifecycle:\n            preStop:\n              $patch: replace\n              sleep:\n                seconds: %d\n", r.PreStopSeconds)
	} else {
		b.WriteString("          lifecycle:\n            preStop: null\n")
	}
	return b.String()
}
