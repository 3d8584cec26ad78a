package tune

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/workload"
)

const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: sidecar
          image: proxy:v1
        - name: app
          image: web:v1
          lifecycle:
            preStop:
              exec:
                command: [/bin/drain]
            postStart:
              exec:
                command: [/bin/warm]
`

func object(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func scenario(t *testing.T) suites.Scenario {
	svc := object(t, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n")
	return suites.Scenario{
		Workload:   workload.Deployment,
		Disruption: chaos.EvictPods{Count: 1},
		Profile:    fixtures.Profile{Name: "web", PreStop: fixtures.PreStopExec, GraceSeconds: 30, Expect: outcome.ExpectFail},
		Paths:      []suites.Path{suites.PathNodePort, suites.PathClusterIP},
		App: &suites.App{Name: "web", Objects: []*unstructured.Unstructured{svc, object(t, deployment)},
			Target: workload.Ref{Kind: workload.Deployment, Name: "web", Container: "app", Service: "web", Port: 80}},
	}
}

func container(t *testing.T, o *unstructured.Unstructured, name string) map[string]any {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
	for _, c := range cs {
		if c.(map[string]any)["name"] == name {
			return c.(map[string]any)
		}
	}
	t.Fatalf("no container %s", name)
	return nil
}

func TestApplyPatchesTheAppContainerOfACopy(t *testing.T) {
	base := scenario(t)
	s, err := Apply(base, suites.PathNodePort, Candidate{PreStopSeconds: 8, GraceSeconds: 15})
	if err != nil {
		t.Fatal(err)
	}
	d := s.App.Objects[1]
	app := container(t, d, "app")
	lc := app["lifecycle"].(map[string]any)
	if got := lc["preStop"]; !jsonEqual(got, map[string]any{"sleep": map[string]any{"seconds": 8}}) {
		t.Errorf("preStop %v, want the sleep action of 8 s (replacing the exec)", got)
	}
	if lc["postStart"] == nil {
		t.Error("the container's other hook is gone")
	}
	if _, ok := container(t, d, "sidecar")["lifecycle"]; ok {
		t.Error("the sidecar got a hook")
	}
	if g, _, _ := unstructured.NestedInt64(d.Object, "spec", "template", "spec", "terminationGracePeriodSeconds"); g != 15 {
		t.Errorf("grace %d, want 15", g)
	}
	if s.ID() != "web/evict-1/deployment@prestop-8s" {
		t.Errorf("ID %s: want the candidate's variant", s.ID())
	}
	if len(s.Paths) != 1 || s.Paths[0] != suites.PathNodePort || s.Expectations()[outcome.NewConnections].Expect != outcome.ExpectPass {
		t.Errorf("paths %v, expectations %v: want the tuned path, expected to pass", s.Paths, s.Expectations())
	}
	if p := s.Profile; p.PreStop != fixtures.PreStopSleepA || p.PreStopSeconds != 8 || p.GraceSeconds != 15 {
		t.Errorf("profile %+v: want what ran recorded", p)
	}
	// the base scenario is untouched
	if _, ok := container(t, base.App.Objects[1], "app")["lifecycle"].(map[string]any)["preStop"].(map[string]any)["exec"]; !ok || base.Profile.GraceSeconds != 30 || len(base.Paths) != 2 {
		t.Error("Apply changed the scenario it was given")
	}

	s, err = Apply(base, suites.PathNodePort, Candidate{PreStopSeconds: 0, GraceSeconds: 5})
	if err != nil {
		t.Fatal(err)
	}
	lc = container(t, s.App.Objects[1], "app")["lifecycle"].(map[string]any)
	if _, ok := lc["preStop"]; ok || s.Profile.PreStop != fixtures.PreStopNone {
		t.Errorf("0 s: lifecycle %v, profile %s: want no preStop", lc, s.Profile.PreStop)
	}

	bad := scenario(t)
	bad.App.Target.Container = "nosuch"
	if _, err := Apply(bad, suites.PathNodePort, Candidate{PreStopSeconds: 1, GraceSeconds: 5}); err == nil || !strings.Contains(err.Error(), "no container nosuch") {
		t.Errorf("a missing container: %v", err)
	}
	bad = scenario(t)
	bad.App.Target.Name = "other"
	if _, err := Apply(bad, suites.PathNodePort, Candidate{}); err == nil || !strings.Contains(err.Error(), "no Deployment other") {
		t.Errorf("a missing controller: %v", err)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// TestThePatchIsWhatRan: the printed patch, applied to the Deployment as
// kubectl patch applies it (strategic merge), gives the pod template of the
// candidate that passed.
func TestThePatchIsWhatRan(t *testing.T) {
	for _, preStop := range []int{0, 7} {
		r := Recommendation{PreStopSeconds: preStop, GraceSeconds: int64(preStop) + 4}
		patch, err := yaml.YAMLToJSON([]byte(r.Patch("app")))
		if err != nil {
			t.Fatalf("the patch is no YAML: %v\n%s", err, r.Patch("app"))
		}
		orig, _ := json.Marshal(object(t, deployment).Object)
		got, err := strategicpatch.StrategicMergePatch(orig, patch, appsv1.Deployment{})
		if err != nil {
			t.Fatal(err)
		}
		s, err := Apply(scenario(t), suites.PathNodePort, Candidate{PreStopSeconds: preStop, GraceSeconds: r.GraceSeconds})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(s.App.Objects[1].Object)
		var g, w any
		json.Unmarshal(got, &g)
		json.Unmarshal(want, &w)
		if !jsonEqual(g, w) {
			t.Errorf("preStop %d: patched\n%s\nwant\n%s", preStop, got, want)
		}
	}
}

func TestTrialOfReadsThePath(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, "2026-11-30T10:00:"+s+"Z")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	o := &outcome.Outcome{Complete: true, Verdict: outcome.Verdict{Result: outcome.Fail, Reason: "nodeport: 2 of 100 failed"},
		Failures: []outcome.Record{{Path: "nodeport", Class: outcome.Refused}, {Path: "nodeport", Class: outcome.Timeout}, {Path: "clusterip", Class: outcome.Refused}},
		Tail:     map[string]outcome.Tail{"nodeport": {FromSIGTERM: 1500 * time.Millisecond, Pods: 3}},
		Timeline: []outcome.Event{
			{Kind: "container_terminated", Pod: "a", Time: at("01"), Detail: "app exit 2 Error"}, // before its deletion: a restart
			{Kind: "pod_deleting", Pod: "a", Time: at("10.500")},
			{Kind: "container_terminated", Pod: "a", Time: at("14"), Detail: "app exit 0 Completed"}, // 15 - 10.5 - 2 = 2.5 s
			{Kind: "pod_deleting", Pod: "b", Time: at("20.900")},
			{Kind: "container_terminated", Pod: "b", Time: at("22"), Detail: "app exit 137 Error"}, // 23 - 20.9 - 2 = 0.1 s
		}}
	tr := TrialOf(o, suites.PathNodePort, 2, "app")
	if tr.Result != outcome.Fail || tr.Failed != 2 || !tr.TailMeasured || tr.Tail != 1500*time.Millisecond || tr.Shutdown != 2500*time.Millisecond || tr.Killed != 1 {
		t.Errorf("trial %+v", tr)
	}
	o.Complete, o.Tail, o.Timeline = false, nil, nil
	tr = TrialOf(o, suites.PathNodePort, 2, "app")
	if tr.Result != outcome.Error || tr.TailMeasured || tr.Shutdown != -1 {
		t.Errorf("an incomplete outcome: %+v", tr)
	}
}
