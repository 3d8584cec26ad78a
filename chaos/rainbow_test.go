package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/workload"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	restclient "k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

// rainbowCluster is a fake cluster with the blue colour of web deployed,
// its Services selecting blue, and a stand-in for the controllers: each
// Deployment gets its replicas as Ready pods (when ready says so) and a
// complete status; the pods of a deleted Deployment go. The app's /stats
// answers what stats says for each pod.
type rainbowCluster struct {
	cs    *fake.Clientset
	env   Env
	mu    sync.Mutex
	notes []string
	when  map[string]time.Time // the first time each note kind was made
	ready bool
	stats func(pod string) (appStats, error)
}

const rainbowNS = "ns"

func rainbowSelector() map[string]string {
	return map[string]string{"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "zerodrop"}
}

func coloured(colour string) map[string]string {
	l := rainbowSelector()
	l[workload.ColourLabel] = colour
	return l
}

func newRainbowCluster(t *testing.T, reactors ...func(c *rainbowCluster)) *rainbowCluster {
	t.Helper()
	podLabels := coloured("blue")
	podLabels["zerodrop.dev/version"] = "v1"
	blue := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web-blue", Namespace: rainbowNS, Labels: coloured("blue")},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: coloured("blue")},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "fixture", Image: "fixture:1",
					Env: []corev1.EnvVar{{Name: "POD_NAME"}, {Name: "POD_VERSION", Value: "v1"}}}}}}},
	}
	svc := func(name string, sel map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: rainbowNS}, Spec: corev1.ServiceSpec{Selector: sel}}
	}
	c := &rainbowCluster{
		cs: fake.NewSimpleClientset(blue, svc("web", coloured("blue")), svc("web-nodeport", coloured("blue")),
			svc("other", map[string]string{"app.kubernetes.io/name": "other", workload.ColourLabel: "blue"})),
		when: map[string]time.Time{}, ready: true,
		stats: func(string) (appStats, error) { return appStats{Counts: map[string]int64{}}, nil },
	}
	c.cs.PrependProxyReactor("pods", func(a k8stesting.Action) (bool, restclient.ResponseWrapper, error) {
		g := a.(k8stesting.ProxyGetAction)
		if g.GetPath() != "/stats" || g.GetPort() != "8080" {
			return true, failedResponse{fmt.Errorf("unexpected proxy %s:%s%s", g.GetName(), g.GetPort(), g.GetPath())}, nil
		}
		c.mu.Lock()
		st, err := c.stats(g.GetName())
		c.mu.Unlock()
		if err != nil {
			return true, failedResponse{err}, nil // the fake passes no error on
		}
		raw, _ := json.Marshal(st)
		return true, rawResponse(raw), nil
	})
	c.env = Env{Client: c.cs, Target: workload.Ref{Namespace: rainbowNS, Kind: workload.Deployment, Name: "web-blue", Container: "fixture",
		Selector: rainbowSelector(), Service: "web", Port: 8080, AppEvents: true, VersionEnv: "POD_VERSION", VersionLabel: "zerodrop.dev/version"},
		Note: func(what, detail string) {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.notes = append(c.notes, what+": "+detail)
			if _, ok := c.when[what]; !ok {
				c.when[what] = time.Now()
			}
		}}
	for _, add := range reactors { // before the stand-in controller starts: the fake's chain is not locked
		add(c)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c.reconcile(ctx)
	go func() {
		for ctx.Err() == nil {
			c.reconcile(ctx)
			time.Sleep(10 * time.Millisecond)
		}
	}()
	return c
}

// reconcile is the Deployment controller, the ReplicaSets', the kubelet's
// and the garbage collector's part, in one step.
func (c *rainbowCluster) reconcile(ctx context.Context) {
	c.mu.Lock()
	ready := c.ready
	c.mu.Unlock()
	ds, err := c.cs.AppsV1().Deployments(rainbowNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	live := map[string]bool{}
	for _, d := range ds.Items {
		live[d.Spec.Template.Labels[workload.ColourLabel]] = true
		n := replicas(d.Spec.Replicas)
		for i := range n {
			name := fmt.Sprintf("%s-%d", d.Name, i)
			if _, err := c.cs.CoreV1().Pods(rainbowNS).Get(ctx, name, metav1.GetOptions{}); err == nil {
				continue
			}
			st := corev1.ConditionFalse
			if ready {
				st = corev1.ConditionTrue
			}
			c.cs.CoreV1().Pods(rainbowNS).Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: rainbowNS, UID: k8stypes.UID("uid-" + uidOf(name)), Labels: maps.Clone(d.Spec.Template.Labels)},
				Status:     corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
			}, metav1.CreateOptions{})
		}
		avail := int32(0)
		if ready {
			avail = n
		}
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: n, UpdatedReplicas: n, AvailableReplicas: avail, ReadyReplicas: avail}
		c.cs.AppsV1().Deployments(rainbowNS).UpdateStatus(ctx, &d, metav1.UpdateOptions{})
	}
	ps, _ := c.cs.CoreV1().Pods(rainbowNS).List(ctx, metav1.ListOptions{})
	for _, p := range ps.Items {
		if !live[p.Labels[workload.ColourLabel]] {
			c.cs.CoreV1().Pods(rainbowNS).Delete(ctx, p.Name, metav1.DeleteOptions{})
		}
	}
}

func uidOf(s string) string { return strings.ReplaceAll(s, "-", "") }

func (c *rainbowCluster) setStats(f func(pod string) (appStats, error)) {
	c.mu.Lock()
	c.stats = f
	c.mu.Unlock()
}

func (c *rainbowCluster) noted(kind string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, ok := c.when[kind]
	return at, ok
}

func (c *rainbowCluster) allNotes() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.notes, "\n")
}

func (c *rainbowCluster) selector(t *testing.T, svc string) string {
	t.Helper()
	s, err := c.cs.CoreV1().Services(rainbowNS).Get(context.Background(), svc, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Spec.Selector[workload.ColourLabel]
}

func (c *rainbowCluster) exists(t *testing.T, deployment string) bool {
	t.Helper()
	_, err := c.cs.AppsV1().Deployments(rainbowNS).Get(context.Background(), deployment, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return err == nil
}

type rawResponse []byte

type failedResponse struct{ err error }

func (r failedResponse) DoRaw(context.Context) ([]byte, error)         { return nil, r.err }
func (r failedResponse) Stream(context.Context) (io.ReadCloser, error) { return nil, r.err }

func (r rawResponse) DoRaw(context.Context) ([]byte, error) { return r, nil }
func (r rawResponse) Stream(context.Context) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(string(r))), nil
}

// fast is a switch with test-sized waits.
func fast() RainbowSwitch {
	return RainbowSwitch{Deadline: 3 * time.Second, Quiet: 200 * time.Millisecond, Interval: 20 * time.Millisecond}
}

func runSwitch(t *testing.T, c *rainbowCluster, r RainbowSwitch) ([]string, error) {
	t.Helper()
	var verified []string
	env := c.env
	env.Verified = func(what string) { verified = append(verified, what) }
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return verified, r.Run(ctx, env)
}

// The switch: the new colour deployed at the new version and Ready, both
// of the workload's Services switched (not another app's), the old colour
// kept while its streams are open and deleted once it is idle.
func TestRainbowSwitchKeepsTheOldColourUntilItsStreamsEnd(t *testing.T) {
	c := newRainbowCluster(t)
	// the old pods hold streams until 400 ms after the switch, and are
	// served requests until then; a kept-alive connection stays open, idle,
	// 300 ms longer, until its client retires it
	var streamsEnd time.Time
	var served int64
	c.setStats(func(pod string) (appStats, error) {
		if !strings.HasPrefix(pod, "web-blue-") {
			return appStats{}, fmt.Errorf("the rainbow reads only the old colour, not %s", pod)
		}
		if _, ok := c.when["rainbow_switch"]; !ok {
			served++
			return appStats{Counts: map[string]int64{"nodeport+sse": served}, StreamsOpen: 2, ConnsOpen: ptr.To(3)}, nil
		}
		if streamsEnd.IsZero() {
			streamsEnd = time.Now().Add(400 * time.Millisecond)
		}
		switch {
		case time.Now().Before(streamsEnd):
			served++
			return appStats{Counts: map[string]int64{"nodeport+sse": served, "unlabelled": 1}, StreamsOpen: 1, ConnsOpen: ptr.To(2)}, nil
		case time.Now().Before(streamsEnd.Add(300 * time.Millisecond)):
			return appStats{Counts: map[string]int64{"nodeport+sse": served, "unlabelled": served}, ConnsOpen: ptr.To(1)}, nil // probes do not count
		}
		return appStats{Counts: map[string]int64{"nodeport+sse": served, "unlabelled": served}, ConnsOpen: ptr.To(0)}, nil
	})
	verified, err := runSwitch(t, c, fast())
	if err != nil {
		t.Fatalf("%v\n%s", err, c.allNotes())
	}
	for _, svc := range []string{"web", "web-nodeport"} {
		if got := c.selector(t, svc); got != "green" {
			t.Errorf("service %s selects %q, want green", svc, got)
		}
	}
	if got := c.selector(t, "other"); got != "blue" {
		t.Errorf("another app's Service was switched: %q", got)
	}
	if c.exists(t, "web-blue") || !c.exists(t, "web-green") {
		t.Fatalf("web-blue exists %v, web-green %v: want only green", c.exists(t, "web-blue"), c.exists(t, "web-green"))
	}
	green, _ := c.cs.AppsV1().Deployments(rainbowNS).Get(context.Background(), "web-green", metav1.GetOptions{})
	tmpl := green.Spec.Template
	if green.Spec.Selector.MatchLabels[workload.ColourLabel] != "green" || tmpl.Labels[workload.ColourLabel] != "green" ||
		tmpl.Labels["zerodrop.dev/version"] != "v2" || tmpl.Annotations[VersionAnnotation] != "v2" ||
		tmpl.Spec.Containers[0].Env[1] != (corev1.EnvVar{Name: "POD_VERSION", Value: "v2"}) || *green.Spec.Replicas != 3 ||
		green.Labels[workload.ColourLabel] != "green" {
		t.Fatalf("the new colour: %+v", green)
	}
	for _, step := range []string{"rainbow_deploy", "rainbow_ready", "rainbow_switch", "rainbow_old_open", "rainbow_old_idle", "rainbow_delete", "rainbow_old_gone"} {
		if _, ok := c.noted(step); !ok {
			t.Errorf("no %s on the timeline:\n%s", step, c.allNotes())
		}
	}
	if _, ok := c.noted("rainbow_deadline"); ok {
		t.Errorf("the old colour went idle: no deadline\n%s", c.allNotes())
	}
	deleted, _ := c.noted("rainbow_delete")
	if connsEnd := streamsEnd.Add(300 * time.Millisecond); streamsEnd.IsZero() || deleted.Before(connsEnd) {
		t.Fatalf("the old colour was deleted at %s, its last connection closed at %s: want it kept until then", deleted.Format("15:04:05.000"), connsEnd.Format("15:04:05.000"))
	}
	notes := c.allNotes()
	for _, want := range []string{"web, web-nodeport: zerodrop.dev/colour=blue → green", "3 streams and 6 load connections open on the blue colour",
		"0 streams and 3 load connections open on the blue colour", "0 streams and 0 load connections open", "its streams all ended by", "its load connections all closed by"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if !strings.Contains(strings.Join(verified, "\n"), "rainbow switch blue → green: Services web, web-nodeport select zerodrop.dev/colour=green; 3 green pods Ready; deployment web-blue (idle) deleted and its 3 pods gone") {
		t.Fatalf("verified %q", verified)
	}
	if got := fast().Successor(c.env.Target); got.Name != "web-green" || got.Selector[workload.ColourLabel] != "" {
		t.Fatalf("successor %+v", got)
	}
}

// Connections that never leave (a kept-alive pool: requests keep coming)
// keep the old colour until the deadline; then it goes all the same.
func TestRainbowSwitchDeletesABusyOldColourAtTheDeadline(t *testing.T) {
	c := newRainbowCluster(t)
	var served int64
	c.setStats(func(string) (appStats, error) {
		served++
		return appStats{Counts: map[string]int64{"nodeport+ka": served}, ConnsOpen: ptr.To(2)}, nil
	})
	r := fast()
	r.Deadline = 500 * time.Millisecond
	start := time.Now()
	verified, err := runSwitch(t, c, r)
	if err != nil {
		t.Fatalf("%v\n%s", err, c.allNotes())
	}
	switched, _ := c.noted("rainbow_switch")
	deleted, _ := c.noted("rainbow_delete")
	if d := deleted.Sub(switched); d < r.Deadline || d > r.Deadline+time.Second {
		t.Fatalf("deleted %s after the switch, want the deadline %s (run took %s)", d, r.Deadline, time.Since(start))
	}
	notes := c.allNotes()
	if !strings.Contains(notes, "rainbow_deadline: deadline 500ms passed with the blue colour still busy (web-blue-0: 0 streams, 2 connections, a request 0.0s ago") ||
		!strings.Contains(notes, "its streams: none open since the switch; its load connections: 6 still open") {
		t.Fatalf("notes:\n%s", notes)
	}
	if c.exists(t, "web-blue") || !strings.Contains(strings.Join(verified, "\n"), "(still busy at the deadline) deleted") {
		t.Fatalf("verified %q, web-blue exists %v", verified, c.exists(t, "web-blue"))
	}
}

// A kept-alive connection left idle is still open: a deletion would cut it
// (and a client may pick it just then), so it keeps the old colour until
// the deadline although no request comes. An app that counts no
// connections cannot say so: it is idle once no request comes, and the
// timeline says what was not seen.
func TestRainbowSwitchWaitsForIdleConnections(t *testing.T) {
	c := newRainbowCluster(t)
	c.setStats(func(string) (appStats, error) {
		return appStats{Counts: map[string]int64{"nodeport+ka": 7}, ConnsOpen: ptr.To(1)}, nil
	})
	r := fast()
	r.Deadline = 600 * time.Millisecond
	if _, err := runSwitch(t, c, r); err != nil {
		t.Fatal(err)
	}
	if _, idle := c.noted("rainbow_old_idle"); idle || !strings.Contains(c.allNotes(), "web-blue-2: 0 streams, 1 connections") {
		t.Fatalf("an open connection must keep the old colour:\n%s", c.allNotes())
	}

	c = newRainbowCluster(t)
	c.setStats(func(string) (appStats, error) { return appStats{Counts: map[string]int64{"nodeport+ka": 7}}, nil })
	if _, err := runSwitch(t, c, r); err != nil {
		t.Fatal(err)
	}
	if _, idle := c.noted("rainbow_old_idle"); !idle || !strings.Contains(c.allNotes(), "the app counts no connections: kept-alive ones idle then were not seen") ||
		!strings.Contains(c.allNotes(), "0 streams open (the app counts no connections)") {
		t.Fatalf("no connection counts: idle when no request comes, and said so:\n%s", c.allNotes())
	}
}

// An app whose counts cannot be read is never seen idle: its old colour
// lives until the deadline, and the timeline says why.
func TestRainbowSwitchWithoutCountsWaitsForTheDeadline(t *testing.T) {
	c := newRainbowCluster(t)
	c.setStats(func(string) (appStats, error) {
		return appStats{}, apierrors.NewNotFound(schema.GroupResource{Resource: "pods/proxy"}, "stats")
	})
	r := fast()
	r.Deadline = 300 * time.Millisecond
	if _, err := runSwitch(t, c, r); err != nil {
		t.Fatal(err)
	}
	notes := c.allNotes()
	if !strings.Contains(notes, "rainbow_old_unknown: the old colour's counts could not be read") || !strings.Contains(notes, "counts unknown") {
		t.Fatalf("notes:\n%s", notes)
	}
}

// The switch is verified, or not claimed.
func TestRainbowSwitchUnverified(t *testing.T) {
	t.Run("a Service the switch did not move", func(t *testing.T) {
		// something (an admission webhook, a GitOps controller) keeps web on blue
		c := newRainbowCluster(t, func(c *rainbowCluster) {
			c.cs.PrependReactor("patch", "services", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if a.(k8stesting.PatchAction).GetName() != "web" {
					return false, nil, nil
				}
				s, err := c.cs.Tracker().Get(schema.GroupVersionResource{Version: "v1", Resource: "services"}, rainbowNS, "web")
				return true, s, err
			})
		})
		verified, err := runSwitch(t, c, fast())
		var u Unverified
		if !asUnverified(err, &u) || !strings.Contains(u.What, "service web selects") || !strings.Contains(u.What, "the blue colour was left in place") {
			t.Fatalf("err %v", err)
		}
		if !c.exists(t, "web-blue") || len(verified) != 0 {
			t.Fatalf("the old colour must stay while a Service still sends to it: exists %v, verified %q", c.exists(t, "web-blue"), verified)
		}
		if _, ok := c.noted("rainbow_delete"); ok {
			t.Fatal("deleted the old colour")
		}
	})
	t.Run("an old Deployment that stays", func(t *testing.T) {
		c := newRainbowCluster(t, func(c *rainbowCluster) {
			// a finalizer holds the Deployment; its pods go
			c.cs.PrependReactor("delete", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
				// (the fake holds its lock while reactors run: the tracker only)
				pods := schema.GroupVersionResource{Version: "v1", Resource: "pods"}
				ps, _ := c.cs.Tracker().List(pods, schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, rainbowNS)
				for _, p := range ps.(*corev1.PodList).Items {
					if p.Labels[workload.ColourLabel] == "blue" {
						c.cs.Tracker().Delete(pods, rainbowNS, p.Name)
					}
				}
				return true, nil, nil
			})
			// its pods must not come back: the stand-in controller sees no blue Deployment
			c.cs.PrependReactor("list", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
				if _, ok := c.noted("rainbow_delete"); !ok {
					return false, nil, nil
				}
				green, err := c.cs.Tracker().Get(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, rainbowNS, "web-green")
				if err != nil {
					return true, nil, err
				}
				return true, &appsv1.DeploymentList{Items: []appsv1.Deployment{*green.(*appsv1.Deployment)}}, nil
			})
		})
		verified, err := runSwitch(t, c, fast())
		var u Unverified
		if !asUnverified(err, &u) || !strings.Contains(u.What, "deployment web-blue still exists after its deletion") || strings.Contains(strings.Join(verified, "\n"), "rainbow switch") {
			t.Fatalf("err %v, verified %q", err, verified)
		}
	})
}

func asUnverified(err error, u *Unverified) bool {
	v, ok := err.(Unverified)
	if ok {
		*u = v
	}
	return ok
}

// What cannot be switched says why, before anything changes.
func TestRainbowSwitchRefuses(t *testing.T) {
	cases := map[string]struct {
		change func(c *rainbowCluster)
		r      RainbowSwitch
		want   string
	}{
		"a StatefulSet":   {change: func(c *rainbowCluster) { c.env.Target.Kind = workload.StatefulSet }, want: "each colour is a Deployment"},
		"not coloured":    {r: RainbowSwitch{From: "red"}, want: "deployment web-blue is not the red colour"},
		"the same colour": {r: RainbowSwitch{To: "blue"}, want: "switch to another colour"},
		"a bad colour":    {r: RainbowSwitch{To: "Green!"}, want: `colour "Green!"`},
		"no Service on it": {change: func(c *rainbowCluster) {
			c.cs.CoreV1().Services(rainbowNS).Delete(context.Background(), "web", metav1.DeleteOptions{})
			c.cs.CoreV1().Services(rainbowNS).Delete(context.Background(), "web-nodeport", metav1.DeleteOptions{})
		}, want: "no Service selects the blue colour"},
		"no old deployment": {change: func(c *rainbowCluster) { c.env.Target.Name = "web-red" }, want: "the old colour"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := newRainbowCluster(t)
			if tc.change != nil {
				tc.change(c)
			}
			r := tc.r
			r.Deadline, r.Interval = time.Second, 20*time.Millisecond
			if _, err := runSwitch(t, c, r); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
			if c.exists(t, "web-green") {
				t.Error("a refused switch deployed the new colour")
			}
			for _, svc := range []string{"web", "web-nodeport"} {
				if s, err := c.cs.CoreV1().Services(rainbowNS).Get(context.Background(), svc, metav1.GetOptions{}); err == nil && s.Spec.Selector[workload.ColourLabel] != "blue" {
					t.Errorf("service %s switched by a refused switch", svc)
				}
			}
		})
	}
}

// A new colour that never gets Ready is waited for until the disruption's
// time runs out; the Services stay on the old colour.
func TestRainbowSwitchWaitsForTheNewColour(t *testing.T) {
	c := newRainbowCluster(t)
	c.mu.Lock()
	c.ready = false // from now on, new pods are not Ready
	c.mu.Unlock()
	env := c.env
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := fast().Run(ctx, env)
	if err == nil || !strings.Contains(err.Error(), "wait for the green colour to be Ready") {
		t.Fatalf("err %v", err)
	}
	if got := c.selector(t, "web"); got != "blue" || !c.exists(t, "web-blue") {
		t.Fatalf("web selects %q, blue exists %v: nothing may switch before the new colour is Ready", got, c.exists(t, "web-blue"))
	}
}
