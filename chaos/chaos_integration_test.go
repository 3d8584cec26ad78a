package chaos_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/observe"
	"github.com/zerodrop/zerodrop/workload"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/e2e-framework/klient/k8s"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/internal/itest"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/kind/addons/kruise"
)

// clusterEnv is one namespace on the test cluster with a timeline recording it.
type clusterEnv struct {
	t        *testing.T
	ctx      context.Context
	cs       kubernetes.Interface
	dyn      dynamic.Interface
	cluster  *kind.Cluster
	ns       string
	image    string
	timeline *observe.Timeline
	tc       itest.Cluster
}

func newClusterEnv(t *testing.T) *clusterEnv {
	tc := itest.Start(t, 25*time.Minute, nil)
	ctx, c, image, cs := tc.Ctx, tc.Cluster, tc.Image, tc.Client
	ns := tc.Namespace(t, "zd-chaos")
	dyn, err := dynamic.NewForConfig(c.Client.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	e := &clusterEnv{t: t, ctx: ctx, cs: cs, dyn: dyn, cluster: c, ns: ns, image: image, timeline: observe.NewTimeline(), tc: tc}
	t.Cleanup(func() {
		if t.Failed() {
			for _, ev := range e.timeline.Events() {
				t.Logf("%s %-8s %-24s %s %s", ev.Time.Format("15:04:05.000"), ev.Source, ev.Kind, ev.Pod, ev.Detail)
			}
		}
	})
	return e
}

// deploy renders the naive profile (it exits at once on SIGTERM: quick
// disruptions) as kind, applies it and waits until every pod is Ready, with
// the timeline recording the workload.
func (e *clusterEnv) deploy(kind workload.Kind, name string) chaos.Env {
	e.t.Helper()
	return e.deployWith(kind, fixtures.Options{Namespace: e.ns, Name: name, Image: e.image})
}

// deployWith is deploy with the fixture's options (a rainbow's colour).
func (e *clusterEnv) deployWith(kind workload.Kind, o fixtures.Options) chaos.Env {
	e.t.Helper()
	p, _ := fixtures.Preset(fixtures.Naive)
	objs, err := fixtures.Render(kind, p, o)
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.cluster.Client.Resources()
	for _, o := range objs {
		if err := r.Create(e.ctx, o.(k8s.Object)); err != nil {
			e.t.Fatalf("create %T: %v", o, err)
		}
	}
	env := chaos.Env{Client: e.cs, Note: e.timeline.Note, NodeExec: e.cluster.NodeExec, NodeFreeze: e.cluster.NodeFreeze,
		Target: o.Workload(kind), Timeout: 4 * time.Minute}
	if err := e.timeline.Record(e.ctx, e.cs, env.Target); err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(e.ctx, 3*time.Minute)
	defer cancel()
	if err := chaos.WaitReady(ctx, env, int(p.Replicas)); err != nil {
		e.t.Fatal(err)
	}
	return env
}

// variant builds and loads the fixture's image variant.
func (e *clusterEnv) variant(v string) string {
	e.t.Helper()
	return e.tc.OwnImage(e.t, "zerodrop-fixture", v)
}

// optIn labels the namespace (OpenKruise's pod webhooks serve opted-in namespaces only).
func (e *clusterEnv) optIn(key, value string) {
	e.t.Helper()
	patch := fmt.Appendf(nil, `{"metadata":{"labels":{%q:%q}}}`, key, value)
	if _, err := e.cs.CoreV1().Namespaces().Patch(e.ctx, e.ns, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// pods lists the workload's pods sorted by name, the order the disruptions pick them in.
func (e *clusterEnv) pods(env chaos.Env) []corev1.Pod {
	e.t.Helper()
	l, err := e.cs.CoreV1().Pods(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: metav1.FormatLabelSelector(&metav1.LabelSelector{MatchLabels: env.Target.Selector})})
	if err != nil {
		e.t.Fatal(err)
	}
	slices.SortFunc(l.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return l.Items
}

func (e *clusterEnv) do(d chaos.Disruption, env chaos.Env) {
	e.t.Helper()
	if err := chaos.Do(e.ctx, d, env); err != nil {
		e.t.Fatal(err)
	}
}

// saw says whether the timeline holds an event of kind for pod (any pod when "").
func (e *clusterEnv) saw(kind, pod string) bool {
	for _, ev := range e.timeline.Events() {
		if ev.Kind == kind && (pod == "" || ev.Pod == pod || strings.Contains(ev.Detail, pod)) {
			return true
		}
	}
	return false
}

func uids(ps []corev1.Pod) map[types.UID]string {
	m := map[types.UID]string{}
	for _, p := range ps {
		m[p.UID] = p.Name
	}
	return m
}

func versions(ps []corev1.Pod) map[string]int {
	m := map[string]int{}
	for _, p := range ps {
		m[p.Labels[fixtures.VersionLabel]]++
	}
	return m
}

// TestDisruptionsOnTheCluster performs each Deployment disruption on a real
// cluster, one after another on one workload, and checks that the cluster
// did what the disruption claims: pods replaced, budgets respected, node
// cordoned and emptied, versions rolled, a paused rollout held, a container
// restarted in place, a node lost and back. The timeline must have seen it.
func TestDisruptionsOnTheCluster(t *testing.T) {
	e := newClusterEnv(t)
	env := e.deploy(workload.Deployment, "web")

	t.Run("delete", func(t *testing.T) {
		before := e.pods(env)
		victim := before[0] // the disruptions take pods in name order
		e.do(chaos.DeletePods{Count: 1}, env)
		after := e.pods(env)
		if _, still := uids(after)[victim.UID]; still || len(after) != len(before) {
			t.Fatalf("pod %s was not replaced: %v", victim.Name, uids(after))
		}
		if !e.saw("pod_deleting", victim.Name) || !e.saw("k8s_Killing", victim.Name) {
			t.Fatalf("the timeline missed the deletion of %s (or the kubelet's Killing event)", victim.Name)
		}
		// all but one, with no grace period: two replaced at once
		before = e.pods(env)
		e.do(chaos.DeletePods{Count: -1, GraceSeconds: ptr.To[int64](0)}, env)
		kept := 0
		after = e.pods(env)
		for _, p := range after {
			if _, old := uids(before)[p.UID]; old {
				kept++
			}
		}
		if kept != 1 || len(after) != 3 {
			t.Fatalf("delete all but one: %d old pods kept, %d pods now; want 1 and 3", kept, len(after))
		}
		if !e.saw("pod_deleting", "grace 0s") {
			t.Fatal("the timeline missed a deletion with grace 0s")
		}
	})

	t.Run("evict respects a PodDisruptionBudget", func(t *testing.T) {
		pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: e.ns},
			Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: ptr.To(intstr.FromInt32(0)), Selector: &metav1.LabelSelector{MatchLabels: env.Target.Selector}}}
		if _, err := e.cs.PolicyV1().PodDisruptionBudgets(e.ns).Create(e.ctx, pdb, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// the disruption controller must have computed the budget before it protects anything
		if err := waitFor(e.ctx, func() (bool, error) {
			b, err := e.cs.PolicyV1().PodDisruptionBudgets(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
			return err == nil && b.Status.ObservedGeneration == b.Generation && b.Status.ExpectedPods == 3, err
		}); err != nil {
			t.Fatal(err)
		}
		victim := e.pods(env)[0]
		attempts, err := chaos.Evict(e.ctx, e.cs, e.ns, victim.Name, 3*time.Second)
		if err == nil || !strings.Contains(err.Error(), "PodDisruptionBudget blocked it") || attempts < 2 {
			t.Fatalf("a budget of maxUnavailable 0 must block: %d attempts, %v", attempts, err)
		}
		p, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, victim.Name, metav1.GetOptions{})
		if err != nil || p.DeletionTimestamp != nil {
			t.Fatalf("the blocked eviction touched %s: %v", victim.Name, err)
		}
		// a budget that allows one: the disruption evicts and waits for the replacement
		pdb, _ = e.cs.PolicyV1().PodDisruptionBudgets(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
		pdb.Spec.MaxUnavailable = ptr.To(intstr.FromInt32(1))
		if _, err := e.cs.PolicyV1().PodDisruptionBudgets(e.ns).Update(e.ctx, pdb, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		before := e.pods(env)
		e.do(chaos.EvictPods{Count: 1}, env)
		after := uids(e.pods(env))
		gone := 0
		for _, p := range before {
			if _, ok := after[p.UID]; !ok {
				gone++
			}
		}
		if gone != 1 || len(after) != 3 {
			t.Fatalf("evict 1: %d pods replaced, %d pods now; want 1 and 3", gone, len(after))
		}
		if !e.saw("pod_evicted", "") {
			t.Fatal("the timeline missed the eviction")
		}
	})

	t.Run("drain", func(t *testing.T) {
		node := e.pods(env)[0].Spec.NodeName
		e.do(chaos.DrainNode{}, env)
		for _, p := range e.pods(env) {
			if p.Spec.NodeName == node {
				t.Fatalf("pod %s still on drained node %s", p.Name, node)
			}
		}
		n, err := e.cs.CoreV1().Nodes().Get(e.ctx, node, metav1.GetOptions{})
		if err != nil || n.Spec.Unschedulable {
			t.Fatalf("node %s must be uncordoned after the drain: %v", node, err)
		}
		if !e.saw("node_cordoned", node) || !e.saw("node_uncordoned", node) {
			t.Fatalf("the timeline missed the cordon or uncordon of %s", node)
		}
		// spread again for the next steps: a rollout places pods on both workers
	})

	t.Run("rolling update", func(t *testing.T) {
		before := uids(e.pods(env))
		env.Images = map[string]string{"v2": e.variant("v2")}
		e.do(chaos.RollingUpdate{Version: "v2", NewImage: true}, env)
		after := e.pods(env)
		for _, p := range after {
			if _, old := before[p.UID]; old {
				t.Fatalf("pod %s survived the rolling update", p.Name)
			}
			if p.Spec.Containers[0].Image != env.Images["v2"] {
				t.Fatalf("pod %s runs %s, want %s", p.Name, p.Spec.Containers[0].Image, env.Images["v2"])
			}
		}
		if v := versions(after); v["v2"] != 3 || len(v) != 1 {
			t.Fatalf("versions after the update: %v", v)
		}
	})

	t.Run("rollout restart", func(t *testing.T) {
		before := uids(e.pods(env))
		e.do(chaos.RollingUpdate{}, env)
		for _, p := range e.pods(env) {
			if _, old := before[p.UID]; old {
				t.Fatalf("pod %s survived the restart", p.Name)
			}
		}
	})

	t.Run("paused rollout", func(t *testing.T) {
		// PausedRollout itself fails if the controller moves while paused
		e.do(chaos.PausedRollout{Version: "v3", PauseAfter: 1, Hold: 5 * time.Second}, env)
		if v := versions(e.pods(env)); v["v3"] != 3 || len(v) != 1 {
			t.Fatalf("versions after the resumed rollout: %v", v)
		}
		d, err := e.cs.AppsV1().Deployments(e.ns).Get(e.ctx, "web", metav1.GetOptions{})
		if err != nil || d.Spec.Paused {
			t.Fatalf("the deployment must be resumed: %v", err)
		}
		order := []string{"rollout_paused", "rollout_held", "rollout_resumed", "rollout_complete"}
		i := 0
		for _, ev := range e.timeline.Events() {
			if i < len(order) && ev.Kind == order[i] {
				i++
			}
		}
		if i != len(order) {
			t.Fatalf("the timeline has %v only up to %d", order, i)
		}
	})

	t.Run("rollout undo", func(t *testing.T) {
		e.do(chaos.RolloutUndo{}, env)
		if v := versions(e.pods(env)); v["v2"] != 3 || len(v) != 1 {
			t.Fatalf("versions after the undo: %v, want v2 only", v)
		}
	})

	t.Run("scale down", func(t *testing.T) {
		e.do(chaos.ScaleDown{Replicas: 2}, env)
		if n := len(e.pods(env)); n != 2 {
			t.Fatalf("%d pods after scaling down to 2", n)
		}
		sc, err := e.cs.AppsV1().Deployments(e.ns).GetScale(e.ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		sc.Spec.Replicas = 3
		if _, err := e.cs.AppsV1().Deployments(e.ns).UpdateScale(e.ctx, "web", sc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := chaos.WaitReady(e.ctx, env, 3); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("kill container", func(t *testing.T) {
		first := e.pods(env)[0]
		_, restarts, err := chaos.ContainerID(&first, "fixture")
		if err != nil {
			t.Fatal(err)
		}
		e.do(chaos.KillContainer{}, env)
		p, err := e.cs.CoreV1().Pods(e.ns).Get(e.ctx, first.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		_, now, _ := chaos.ContainerID(p, "fixture")
		if p.UID != first.UID || now != restarts+1 {
			t.Fatalf("pod %s: want the same pod with its container restarted once: restarts %d -> %d", first.Name, restarts, now)
		}
	})

	t.Run("stop node", func(t *testing.T) {
		// a minute of the node controller's grace period: make faults runs it
		if os.Getenv("ZERODROP_FAULTS") != "all" {
			t.Skip("a lost node takes a minute: ZERODROP_FAULTS=all (make faults) runs it")
		}
		ps := e.pods(env)
		node := ps[0].Spec.NodeName
		e.do(chaos.StopNode{}, env)
		if !e.saw("node_not_ready", node) || !e.saw("node_ready", node) || !e.saw("k8s_NodeNotReady", node) {
			t.Fatalf("the timeline missed %s going NotReady (and its NodeNotReady event) and Ready again", node)
		}
		if n := len(e.pods(env)); n != 3 {
			t.Fatalf("%d pods after the node came back", n)
		}
	})
}

// TestPartitionedRolloutOnTheCluster stages a StatefulSet rollout: the pod
// below the partition must keep running the old revision, untouched.
func TestPartitionedRolloutOnTheCluster(t *testing.T) {
	e := newClusterEnv(t)
	env := e.deploy(workload.StatefulSet, "db")
	before := map[string]types.UID{}
	for _, p := range e.pods(env) {
		before[p.Name] = p.UID
	}
	e.do(chaos.PartitionedRollout{Version: "v2", Partitions: []int32{2}}, env)
	for _, p := range e.pods(env) {
		updated := p.Labels[fixtures.VersionLabel] == "v2"
		switch p.Name {
		case "db-2":
			if !updated || p.UID == before[p.Name] {
				t.Errorf("db-2 is at or above partition 2: want it replaced on v2, got %s", p.Labels[fixtures.VersionLabel])
			}
		default:
			if updated || p.UID != before[p.Name] {
				t.Errorf("%s is below partition 2: want it untouched on v1", p.Name)
			}
		}
	}
	e.do(chaos.PartitionedRollout{Version: "v2", Partitions: []int32{1, 0}}, env)
	if v := versions(e.pods(env)); v["v2"] != 3 || len(v) != 1 {
		t.Fatalf("versions after partition 0: %v", v)
	}
	if !e.saw("partition_done", "partition 0") {
		t.Fatal("the timeline missed the last step")
	}
}

func waitFor(ctx context.Context, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var last error
	for ctx.Err() == nil {
		ok, err := cond()
		if ok {
			return nil
		}
		last = err
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("condition not met within a minute (last error: %v)", last)
}

// TestCloneSetOnTheCluster installs OpenKruise and updates a CloneSet in
// place, first behind a partition: the pods must stay (same UID), their
// container restarted on the new image, the partitioned one untouched.
func TestCloneSetOnTheCluster(t *testing.T) {
	e := newClusterEnv(t)
	if err := e.cluster.Install(e.ctx, kruise.Addon{Mode: e.tc.Inputs.Mode, CacheDir: e.tc.Inputs.CacheDir, Log: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	e.optIn(kruise.NamespaceLabel, "enabled")
	v2 := e.variant("v2")
	env := e.deploy(workload.CloneSet, "cs")
	env.Dynamic = e.dyn
	before := uids(e.pods(env))
	image := func(p corev1.Pod) string { return p.Spec.Containers[0].Image }

	e.do(chaos.CloneSetUpdate{Image: v2, Partition: 1}, env)
	updated := 0
	for _, p := range e.pods(env) {
		if _, ok := before[p.UID]; !ok {
			t.Fatalf("pod %s was recreated, not updated in place", p.Name)
		}
		if image(p) == v2 {
			updated++
			if p.Status.ContainerStatuses[0].RestartCount != 1 {
				t.Errorf("pod %s: its container must have restarted once for the new image, restarts %d", p.Name, p.Status.ContainerStatuses[0].RestartCount)
			}
		}
	}
	if updated != 2 {
		t.Fatalf("partition 1 of 3: %d pods on the new image, want 2", updated)
	}
	e.do(chaos.CloneSetUpdate{Image: v2}, env)
	for _, p := range e.pods(env) {
		if _, ok := before[p.UID]; !ok || image(p) != v2 {
			t.Fatalf("pod %s: want the same pod on %s, got %s", p.Name, v2, image(p))
		}
	}
	if !e.saw("pod_unready", "") {
		t.Fatal("the timeline saw no pod leave its Services before its in-place update")
	}

	victim := e.pods(env)[0]
	e.do(chaos.CloneSetDeletePods{Count: 1}, env)
	after := e.pods(env)
	if _, still := uids(after)[victim.UID]; still || len(after) != 3 {
		t.Fatalf("podsToDelete %s: still there or not replaced (%d pods)", victim.Name, len(after))
	}
}

// TestRainbowSwitchOnTheCluster releases a new colour beside the blue one:
// the green Deployment at v2 Ready, both Services switched (their
// EndpointSlices then list the green pods alone), the blue colour deleted
// once idle (nothing loads it here: after the quiet time) — verified.
func TestRainbowSwitchOnTheCluster(t *testing.T) {
	e := newClusterEnv(t)
	env := e.deployWith(workload.Deployment, fixtures.Options{Namespace: e.ns, Name: "web", Image: e.image, Colour: "blue", NodePortAuto: true})
	blue := uids(e.pods(env))
	var verified []string
	env.Verified = func(what string) { verified = append(verified, what) }
	e.do(chaos.RainbowSwitch{Version: "v2", Deadline: time.Minute, Quiet: 2 * time.Second}, env)
	after := e.pods(env)
	for _, p := range after {
		if _, old := blue[p.UID]; old || p.Labels[workload.ColourLabel] != "green" || p.Labels[fixtures.VersionLabel] != "v2" {
			t.Fatalf("pod %s (%v) after the switch: want green pods at v2 only", p.Name, p.Labels)
		}
	}
	if len(after) != 3 {
		t.Fatalf("%d pods after the switch", len(after))
	}
	if _, err := e.cs.AppsV1().Deployments(e.ns).Get(e.ctx, "web-blue", metav1.GetOptions{}); err == nil {
		t.Fatal("web-blue still exists")
	}
	green := map[string]bool{}
	for _, p := range after {
		green[p.Name] = true
	}
	for _, svc := range []string{"web", fixtures.NodePortService("web")} {
		if err := waitFor(e.ctx, func() (bool, error) {
			sl, err := e.cs.DiscoveryV1().EndpointSlices(e.ns).List(e.ctx, metav1.ListOptions{LabelSelector: "kubernetes.io/service-name=" + svc})
			if err != nil {
				return false, err
			}
			n := 0
			for _, s := range sl.Items {
				for _, ep := range s.Endpoints {
					if ep.TargetRef == nil || !green[ep.TargetRef.Name] {
						return false, fmt.Errorf("%s lists %v", svc, ep.TargetRef)
					}
					n++
				}
			}
			return n == 3, nil
		}); err != nil {
			t.Fatalf("service %s: %v", svc, err)
		}
	}
	for _, step := range []string{"rainbow_deploy", "rainbow_ready", "rainbow_switch", "rainbow_old_idle", "rainbow_delete", "rainbow_old_gone"} {
		if !e.saw(step, "") {
			t.Errorf("the timeline missed %s", step)
		}
	}
	if !strings.Contains(strings.Join(verified, "\n"), "deployment web-blue (idle) deleted") {
		t.Fatalf("verified %q", verified)
	}
}
