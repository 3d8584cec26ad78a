package scenariofile

import (
	"reflect"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/workload"
)

func loadFiles(t *testing.T, file, app string, extra map[string]string) *File {
	t.Helper()
	files := map[string]string{"zerodrop.yaml": file, "app.yaml": app}
	for k, v := range extra {
		files[k] = v
	}
	f, err := Load(writeFiles(t, files))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestScenariosOnePerDisruptionWithTheApp(t *testing.T) {
	archive := dockerArchive(t, `[{"Config":"c.json","RepoTags":["shop:v1"],"Layers":[]}]`)
	file := replace(t, goodFile, "  target:", "  images: [images/shop.tar]\n  target:")
	file = replace(t, file, "port: 80", "port: 80\n    path: /buy\n    expectStatus: 200")
	file = replace(t, file, "[rolling-update, evict]", "[rolling-update, evict, scale-down, rollout-undo, kill-container]")
	file = replace(t, file, "rate: 50", "rate: 50\n    timeout: 2s\n    settle: 20s")
	file = replace(t, file, "expect: pass", "expect: pass\n  expectKeepAlive: fail\n  whyKeepAlive: nothing closes pooled connections")
	// the file holds a ConfigMap, the controller, then its Service: the controller is created last
	app := replace(t, goodApp, "apiVersion: apps/v1", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop-config\n---\napiVersion: apps/v1")
	f := loadFiles(t, file, app, map[string]string{"images/shop.tar": archive})
	ss, err := f.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []string{"shop/rolling-update-v2/deployment", "shop/evict-1/deployment", "shop/scale-down-to-2/deployment", "shop/rollout-undo/deployment", "shop/kill-container/deployment"}
	var ids []string
	for _, s := range ss {
		ids = append(ids, s.ID())
	}
	if len(ss) != len(wantIDs) {
		t.Fatalf("scenarios %v, want %v", ids, wantIDs)
	}
	for i, s := range ss {
		if s.ID() != wantIDs[i] {
			t.Errorf("scenario %d is %s, want %s", i, s.ID(), wantIDs[i])
		}
	}
	s := ss[0]
	a := s.App
	if a == nil {
		t.Fatal("no App")
	}
	wantRef := workload.Ref{Kind: workload.Deployment, Name: "shop", Container: "app", Selector: map[string]string{"app": "shop"}, Service: "shop", Port: 80}
	if !reflect.DeepEqual(a.Target, wantRef) {
		t.Errorf("target %+v, want %+v", a.Target, wantRef)
	}
	if a.Name != "shop" || a.HTTPPath != "/buy" || a.ExpectStatus != 200 {
		t.Errorf("app %q, path %q, status %d", a.Name, a.HTTPPath, a.ExpectStatus)
	}
	if tar := a.Images["shop:v1"]; len(a.Images) != 1 || tar == "" || tar[0] != '/' {
		t.Errorf("images %v: want shop:v1 from an absolute path", a.Images)
	}
	var kinds []string
	for _, o := range a.Objects {
		kinds = append(kinds, o.GetKind())
		if o.GetNamespace() != "" {
			t.Errorf("%s %s has namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	if want := []string{"ConfigMap", "Service", "Deployment"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("apply order %v, want %v", kinds, want)
	}
	// each scenario has objects of its own: the runner may change them
	ss[1].App.Objects[0].SetNamespace("zd-1")
	if a.Objects[0].GetNamespace() != "" {
		t.Error("scenarios share their objects")
	}
	if s.Workload != workload.Deployment || !reflect.DeepEqual(s.Paths, DefaultPaths) {
		t.Errorf("workload %s, paths %v", s.Workload, s.Paths)
	}
	wantPlan := suites.GatingPlan
	wantPlan.Rate, wantPlan.Timeout = 50, 2*time.Second
	if s.Plan != wantPlan || s.Settle != 20*time.Second {
		t.Errorf("plan %+v settle %s, want %+v and 20s", s.Plan, s.Settle, wantPlan)
	}
	// a user's app has no version to check
	for _, sc := range ss {
		if sc.NewVersion != "" {
			t.Errorf("%s: NewVersion %q", sc.ID(), sc.NewVersion)
		}
	}
	if ru, ok := s.Disruption.(chaos.RollingUpdate); !ok || ru.Version == "" {
		t.Errorf("rolling-update is %#v: want a template change", s.Disruption)
	}
	if _, ok := ss[3].Prepare.(chaos.RollingUpdate); !ok {
		t.Errorf("rollout-undo prepares %#v: want a first rollout to undo", ss[3].Prepare)
	}
	if sd, ok := ss[2].Disruption.(chaos.ScaleDown); !ok || sd.Replicas != 2 {
		t.Errorf("scale-down is %#v, want to 2 replicas", ss[2].Disruption)
	}
	// the file's expectation, per client; the ungraceful control's own
	x := s.Expectations()
	if x[outcome.NewConnections].Expect != outcome.ExpectPass || x[outcome.KeepAlive].Expect != outcome.ExpectFail || x[outcome.KeepAlive].Why != "nothing closes pooled connections" {
		t.Errorf("expectations %+v", x)
	}
	kx := ss[4].Expectations()
	if kx[outcome.NewConnections].Expect != outcome.ExpectFail || kx[outcome.KeepAlive].Expect != outcome.ExpectFail || kx[outcome.NewConnections].Why == "" {
		t.Errorf("kill-container expectations %+v: an ungraceful control expects fail", kx)
	}
}

// TestTheProfileIsRecordedFromThePodTemplate: the preStop hook (exec sleep,
// the sleep action, none), the grace period, readiness and strategy as the
// API server would have them.
func TestTheProfileIsRecordedFromThePodTemplate(t *testing.T) {
	readiness := &fixtures.Readiness{PeriodSeconds: 2, FailureThreshold: 3}
	deploymentDefaults := fixtures.Strategy{MaxSurge: "25%", MaxUnavailable: "25%"}
	cases := []struct {
		name string
		app  func(string) string
		want fixtures.Profile
	}{
		{name: "preStop exec sh -c sleep",
			want: fixtures.Profile{PreStop: fixtures.PreStopExec, PreStopSeconds: 7, GraceSeconds: 40, Readiness: readiness, Strategy: deploymentDefaults}},
		{name: "preStop exec sleep",
			app: func(s string) string {
				return replace(t, s, `command: [sh, -c, "sleep 7"]`, `command: [/bin/sleep, "12"]`)
			},
			want: fixtures.Profile{PreStop: fixtures.PreStopExec, PreStopSeconds: 12, GraceSeconds: 40, Readiness: readiness, Strategy: deploymentDefaults}},
		{name: "preStop exec of something else",
			app:  func(s string) string { return replace(t, s, `command: [sh, -c, "sleep 7"]`, `command: [/drain.sh]`) },
			want: fixtures.Profile{PreStop: fixtures.PreStopExec, GraceSeconds: 40, Readiness: readiness, Strategy: deploymentDefaults}},
		{name: "the sleep action",
			app: func(s string) string {
				return replace(t, s, "exec:\n              command: [sh, -c, \"sleep 7\"]", "sleep: {seconds: 9}")
			},
			want: fixtures.Profile{PreStop: fixtures.PreStopSleepA, PreStopSeconds: 9, GraceSeconds: 40, Readiness: readiness, Strategy: deploymentDefaults}},
		{name: "no preStop, no grace period, no probe, a strategy",
			app: func(s string) string {
				s = replace(t, s, "        lifecycle:\n          preStop:\n            exec:\n              command: [sh, -c, \"sleep 7\"]\n", "")
				s = replace(t, s, "      terminationGracePeriodSeconds: 40\n", "")
				s = replace(t, s, "        readinessProbe:\n          httpGet: {path: /healthz, port: http}\n          periodSeconds: 2\n", "")
				return replace(t, s, "  replicas: 3\n", "  replicas: 3\n  minReadySeconds: 5\n  strategy:\n    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}\n")
			},
			want: fixtures.Profile{PreStop: fixtures.PreStopNone, GraceSeconds: 30, Strategy: fixtures.Strategy{MaxSurge: "1", MaxUnavailable: "0", MinReadySeconds: 5}}},
		{name: "a Recreate Deployment",
			app: func(s string) string {
				return replace(t, s, "  replicas: 3\n", "  replicas: 3\n  strategy: {type: Recreate}\n")
			},
			want: fixtures.Profile{PreStop: fixtures.PreStopExec, PreStopSeconds: 7, GraceSeconds: 40, Readiness: readiness, Strategy: fixtures.Strategy{MaxSurge: "0", MaxUnavailable: "100%"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app := goodApp
			if c.app != nil {
				app = c.app(app)
			}
			ss, err := loadFiles(t, goodFile, app, nil).Scenarios()
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			want.Name, want.Replicas, want.Expect = "shop", 3, fixtures.ExpectPass
			if got := ss[0].Profile; !reflect.DeepEqual(got, want) {
				t.Errorf("profile\n got %+v\nwant %+v", got, want)
			}
			if ss[0].Profile.OnTerm != "" {
				t.Error("what a user's app does on SIGTERM is unknown")
			}
		})
	}
}

func TestStatefulSetAndCloneSetStrategies(t *testing.T) {
	sts := replace(t, goodApp, "kind: Deployment\nmetadata:\n  name: shop\nspec:\n", "kind: StatefulSet\nmetadata:\n  name: shop\nspec:\n  updateStrategy: {rollingUpdate: {maxUnavailable: 2}}\n")
	f := loadFiles(t, replace(t, replace(t, goodFile, "kind: Deployment", "kind: StatefulSet"), "[rolling-update, evict]", "[partition-rollout]"), sts, nil)
	ss, err := f.Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	if st := ss[0].Profile.Strategy; st != (fixtures.Strategy{MaxUnavailable: "2"}) || ss[0].Workload != workload.StatefulSet {
		t.Errorf("StatefulSet %s strategy %+v", ss[0].Workload, st)
	}
	cs := replace(t, goodApp, "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop\nspec:\n",
		"apiVersion: apps.kruise.io/v1alpha1\nkind: CloneSet\nmetadata:\n  name: shop\nspec:\n  updateStrategy: {type: InPlaceIfPossible, maxUnavailable: 1, inPlaceUpdateStrategy: {gracePeriodSeconds: 10}}\n")
	file := replace(t, replace(t, goodFile, "kind: Deployment", "kind: CloneSet"), "[rolling-update, evict]", "[cloneset-in-place, cloneset-pods-to-delete]")
	file = replace(t, file, "name: shop\n  disruptions", "name: shop\n    updateImage: shop:v2\n  disruptions")
	ss, err = loadFiles(t, file, cs, nil).Scenarios()
	if err != nil {
		t.Fatal(err)
	}
	if st := ss[0].Profile.Strategy; st != (fixtures.Strategy{MaxSurge: "0", MaxUnavailable: "1", InPlaceGraceSeconds: 10}) {
		t.Errorf("CloneSet strategy %+v", st)
	}
	if u, ok := ss[0].Disruption.(chaos.CloneSetUpdate); !ok || u.Image != "shop:v2" {
		t.Errorf("cloneset-in-place is %#v: want an update to shop:v2", ss[0].Disruption)
	}
}

func TestAFileNotLoadedMakesNoScenarios(t *testing.T) {
	if _, err := (&File{}).Scenarios(); err == nil {
		t.Fatal("a file that was not checked made scenarios")
	}
}
