package chaos

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/workload"

	"github.com/zerodrop/zerodrop/internal/kube"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

func stsPod(ord string, rev string, uid types.UID, ready bool) corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + ord, UID: uid, Labels: map[string]string{
			appsv1.ControllerRevisionHashLabelKey: rev, appsv1.PodIndexLabel: ord}},
		Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
}

func TestPartitionPending(t *testing.T) {
	s := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3)},
		Status: appsv1.StatefulSetStatus{ObservedGeneration: 2, CurrentRevision: "old", UpdateRevision: "new"}}
	uids := map[string]types.UID{"web-0": "a", "web-1": "b", "web-2": "c"}
	for _, tc := range []struct {
		name    string
		pods    []corev1.Pod
		pending string
		err     string
	}{
		{"top ordinal updated and ready", []corev1.Pod{stsPod("0", "old", "a", true), stsPod("1", "old", "b", true), stsPod("2", "new", "c2", true)}, "", ""},
		{"top ordinal still old", []corev1.Pod{stsPod("0", "old", "a", true), stsPod("1", "old", "b", true), stsPod("2", "old", "c", true)}, "web-2 on revision old, not new", ""},
		{"top ordinal not ready", []corev1.Pod{stsPod("0", "old", "a", true), stsPod("1", "old", "b", true), stsPod("2", "new", "c2", false)}, "web-2 not ready", ""},
		{"top ordinal missing", []corev1.Pod{stsPod("0", "old", "a", true), stsPod("1", "old", "b", true)}, "2 of 3 pods exist", ""},
		{"pod below the partition replaced", []corev1.Pod{stsPod("0", "old", "a", true), stsPod("1", "old", "b2", true), stsPod("2", "new", "c2", true)}, "", "web-1 (ordinal 1, below partition 2) was replaced"},
		{"pod below the partition updated", []corev1.Pod{stsPod("0", "new", "a", true), stsPod("1", "old", "b", true), stsPod("2", "new", "c2", true)}, "", "web-0 (ordinal 0, below partition 2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := PartitionPending(s, tc.pods, 2, uids)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !strings.Contains(got, tc.pending) || (tc.pending == "") != (got == "") {
				t.Fatalf("pending %q err %v, want %q", got, err, tc.pending)
			}
		})
	}
	lagging := s.DeepCopy()
	lagging.Status.ObservedGeneration = 1
	if got, _ := PartitionPending(lagging, nil, 2, uids); !strings.Contains(got, "observedGeneration 1 < generation 2") {
		t.Fatalf("a controller behind must be waited for: %q", got)
	}
}

func TestPartitionedRolloutRejectsBadSteps(t *testing.T) {
	cs := fake.NewSimpleClientset(&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](3)}})
	env := Env{Client: cs, Target: workload.Ref{Namespace: "ns", Kind: "StatefulSet", Name: "web"}}
	for _, p := range []PartitionedRollout{{Version: "v2", Partitions: []int32{1, 2}}, {Version: "v2", Partitions: []int32{4}}, {Version: "v2"}} {
		if err := p.Run(context.Background(), env); err == nil {
			t.Errorf("%v: want an error", p.Partitions)
		}
	}
	env.Target.Kind = "Deployment"
	if err := (PartitionedRollout{Version: "v2", Partitions: []int32{0}}).Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), "only StatefulSets") {
		t.Fatalf("a Deployment has no partitions: %v", err)
	}
}

func TestPollStopsAtOnce(t *testing.T) {
	calls := 0
	start := time.Now()
	err := poll(context.Background(), "x", func(context.Context) (string, error) {
		calls++
		return "", kube.Stop(errFake("partition not honoured"))
	})
	if err == nil || err.Error() != "partition not honoured" || calls != 1 || time.Since(start) > time.Second {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}

type errFake string

func (e errFake) Error() string { return string(e) }

func TestTemplatePatch(t *testing.T) {
	var got map[string]any
	ref := workload.Ref{Container: "app", VersionEnv: "APP_VERSION", VersionLabel: "example.com/version"}
	if err := json.Unmarshal(TemplatePatch(ref, "v2", map[string]any{"paused": true}, "img:2"), &got); err != nil {
		t.Fatal(err)
	}
	spec := got["spec"].(map[string]any)
	meta := spec["template"].(map[string]any)["metadata"].(map[string]any)
	labels, annotations := meta["labels"].(map[string]any), meta["annotations"].(map[string]any)
	c := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	env := c["env"].([]any)[0].(map[string]any)
	if labels["example.com/version"] != "v2" || annotations[VersionAnnotation] != "v2" || spec["paused"] != true ||
		c["name"] != "app" || c["image"] != "img:2" || env["name"] != "APP_VERSION" || env["value"] != "v2" {
		t.Fatalf("patch %v", got)
	}
	// a workload with no version env or label still gets a new revision
	if raw := string(TemplatePatch(workload.Ref{Container: "app"}, "v2", nil, "")); !strings.Contains(raw, VersionAnnotation) || strings.Contains(raw, "containers") {
		t.Fatalf("bare version patch %s", raw)
	}
	if raw := string(TemplatePatch(ref, "", nil, "")); !strings.Contains(raw, "kubectl.kubernetes.io/restartedAt") {
		t.Fatalf("restart patch %s", raw)
	}
}

func TestReplicaSetFor(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "d1"}}
	owned := func(name, version string, owner types.UID) appsv1.ReplicaSet {
		return appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, OwnerReferences: []metav1.OwnerReference{{UID: owner, Controller: ptr.To(true)}}},
			Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{VersionAnnotation: version}}}}}
	}
	rss := []appsv1.ReplicaSet{owned("other", "v2", "d2"), owned("web-1", "v1", "d1"), owned("web-2", "v2", "d1")}
	if rs := ReplicaSetFor(d, rss, "v2"); rs == nil || rs.Name != "web-2" {
		t.Fatalf("got %v", rs)
	}
	if rs := ReplicaSetFor(d, rss, "v3"); rs != nil {
		t.Fatalf("no ReplicaSet for v3 yet, got %s", rs.Name)
	}
}

func TestPausedRolloutRejectsBadInput(t *testing.T) {
	cs := fake.NewSimpleClientset(&appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)}})
	env := Env{Client: cs, Target: workload.Ref{Namespace: "ns", Kind: workload.Deployment, Name: "web"}}
	for _, p := range []PausedRollout{{}, {Version: "v2", PauseAfter: 3}, {Version: "v2", PauseAfter: -1}} {
		if err := p.Run(context.Background(), env); err == nil {
			t.Errorf("%+v: want an error", p)
		}
	}
}

func TestStopNodeRefusesTheControlPlane(t *testing.T) {
	cs := fake.NewSimpleClientset(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "cp", Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", Labels: map[string]string{"app": "web"}}, Spec: corev1.PodSpec{NodeName: "cp"}})
	froze := false
	env := Env{Client: cs, Target: workload.Ref{Namespace: "ns", Name: "web", Selector: map[string]string{"app": "web"}}}
	if err := (StopNode{}).Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), "needs to stop and start nodes") {
		t.Fatalf("without NodeFreeze: %v", err)
	}
	env.NodeFreeze = func(context.Context, string, bool) error { froze = true; return nil }
	if err := (StopNode{}).Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), "control plane") || froze {
		t.Fatalf("err %v, froze %v", err, froze)
	}
}

func TestCloneSetPending(t *testing.T) {
	cs := func(status map[string]any, partition int64) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"generation": int64(2)},
			"spec":     map[string]any{"replicas": int64(3), "updateStrategy": map[string]any{"partition": partition}},
			"status":   status,
		}}
		return u
	}
	st := func(observed, updated, updatedReady, ready, replicas int64) map[string]any {
		return map[string]any{"observedGeneration": observed, "updatedReplicas": updated, "updatedReadyReplicas": updatedReady, "readyReplicas": ready, "replicas": replicas}
	}
	for _, tc := range []struct {
		obj  *unstructured.Unstructured
		want string
	}{
		{cs(st(1, 3, 3, 3, 3), 0), "observedGeneration 1 < generation 2"},
		{cs(st(2, 1, 1, 3, 3), 0), "1 of 3 replicas updated"},
		{cs(st(2, 3, 2, 2, 3), 0), "2 of 3 updated replicas ready"},
		{cs(st(2, 2, 2, 3, 3), 1), ""},
		{cs(st(2, 2, 2, 2, 3), 1), "2 of 3 replicas ready"},
		{cs(st(2, 3, 3, 3, 4), 0), "1 extra replicas pending deletion"},
		{cs(st(2, 3, 3, 3, 3), 0), ""},
	} {
		if got := CloneSetPending(tc.obj); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.obj.Object["status"], got, tc.want)
		}
	}
}

func TestCloneSetDisruptionsNeedACloneSet(t *testing.T) {
	env := Env{Client: fake.NewSimpleClientset(), Target: workload.Ref{Namespace: "ns", Kind: workload.Deployment, Name: "web"}}
	if err := (CloneSetUpdate{Image: "x"}).Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), "not an OpenKruise CloneSet") {
		t.Fatalf("err %v", err)
	}
	env.Target.Kind = workload.CloneSet
	if err := (CloneSetDeletePods{Count: 1}).Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), "dynamic client") {
		t.Fatalf("err %v", err)
	}
}

// pausedFixture is a deployment mid-rollout to v2 and a reactor that serves
// its v2 ReplicaSet with the size replicasAt(n) at the nth list.
func pausedFixture(replicasAt func(n int) int32) *fake.Clientset {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "d1", Generation: 2},
		Spec:   appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}},
		Status: appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 1}}
	cs := fake.NewSimpleClientset(d)
	n := 0
	cs.PrependReactor("list", "replicasets", func(k8stesting.Action) (bool, runtime.Object, error) {
		n++
		rs := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-v2", Namespace: "ns", Labels: map[string]string{"app": "web"},
			OwnerReferences: []metav1.OwnerReference{{UID: "d1", Controller: ptr.To(true), Kind: "Deployment", Name: "web"}}},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To(replicasAt(n)),
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{VersionAnnotation: "v2"}}}}}
		return true, &appsv1.ReplicaSetList{Items: []appsv1.ReplicaSet{rs}}, nil
	})
	return cs
}

func TestPausedRolloutCatchesAControllerThatMoves(t *testing.T) {
	cs := pausedFixture(func(n int) int32 {
		if n > 2 {
			return 2 // the controller scaled the new version up while paused
		}
		return 1
	})
	env := Env{Client: cs, Target: workload.Ref{Namespace: "ns", Kind: workload.Deployment, Name: "web", Selector: map[string]string{"app": "web"}}}
	// bounded: a hold that misses the move would go on to wait for a rollout the fake never completes
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := PausedRollout{Version: "v2", PauseAfter: 1, Hold: 3 * time.Second}.Run(ctx, env)
	if err == nil || !strings.Contains(err.Error(), "moved while paused: the new version went from 1 to 2 replicas") {
		t.Fatalf("err %v", err)
	}
	d, _ := cs.AppsV1().Deployments("ns").Get(context.Background(), "web", metav1.GetOptions{})
	if !d.Spec.Paused {
		t.Fatal("the deployment was never paused")
	}
}

func TestPausedRolloutNeedsTheRolloutStillRunning(t *testing.T) {
	cs := pausedFixture(func(int) int32 { return 3 }) // all replicas new before the pause took effect
	env := Env{Client: cs, Target: workload.Ref{Namespace: "ns", Kind: workload.Deployment, Name: "web", Selector: map[string]string{"app": "web"}}}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	err := PausedRollout{Version: "v2", PauseAfter: 1, Hold: time.Second}.Run(ctx, env)
	if err == nil || !strings.Contains(err.Error(), "before the pause took effect") {
		t.Fatalf("err %v", err)
	}
}

func TestVerifyInPlace(t *testing.T) {
	pod := func(name, uid, cid, image string, restarts int32, ready bool) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(uid)},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "app", ContainerID: cid, Image: image, RestartCount: restarts}}}}
		if ready {
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		}
		return p
	}
	before := []corev1.Pod{pod("a", "1", "c1", "img:v1", 0, true), pod("b", "2", "c2", "img:v1", 0, true), pod("c", "3", "c3", "img:v1", 0, true)}
	good := []corev1.Pod{pod("a", "1", "c4", "docker.io/library/img:v2", 1, true), pod("b", "2", "c5", "img:v2", 1, true), pod("c", "3", "c3", "img:v1", 0, true)}
	in, un, probs := verifyInPlace(before, good, "app", "img:v2")
	if in != 2 || un != 1 || len(probs) != 0 {
		t.Fatalf("in place %d, untouched %d, problems %v", in, un, probs)
	}
	recreated := []corev1.Pod{pod("a", "9", "c9", "img:v2", 0, true), pod("b", "2", "c5", "img:v1", 1, true), pod("c", "3", "c6", "img:v2", 1, false)}
	in, _, probs = verifyInPlace(before, recreated, "app", "img:v2")
	if in != 0 || len(probs) != 3 || !strings.Contains(probs[0], "recreated") {
		t.Fatalf("in place %d, problems %v", in, probs)
	}
}

func TestOnImageCountsPodsAlreadyUpdated(t *testing.T) {
	pod := func(image string) corev1.Pod {
		return corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "side", Image: "img:v2"}, {Name: "app", Image: image}}}}
	}
	ps := []corev1.Pod{pod("docker.io/library/img:v2"), pod("img:v2"), pod("img:v1")}
	if n := onImage(ps, "app", "img:v2"); n != 2 {
		t.Fatalf("%d pods on the image, want 2 (the sidecar's image does not count)", n)
	}
}

func TestPausedChanges(t *testing.T) {
	pod := func(name, uid, cid, image string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID(uid)},
			Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "side", ContainerID: "s-" + cid}, {Name: "app", ContainerID: cid, Image: image}}}}
	}
	before := []corev1.Pod{pod("a", "1", "c1", "img:v1"), pod("b", "2", "c2", "img:v1"), pod("c", "3", "c3", "img:v1")}
	if got := pausedChanges(before, before, "app"); len(got) != 0 {
		t.Fatalf("nothing moved, got %v", got)
	}
	same := []corev1.Pod{pod("a", "1", "c1", "img:v1"), pod("b", "2", "c2", "img:v1"), pod("c", "3", "c3", "img:v1")}
	same[0].Status.ContainerStatuses[0].ContainerID = "s-other" // another container may restart: not the update's
	if got := pausedChanges(before, same, "app"); len(got) != 0 {
		t.Fatalf("only the sidecar restarted, got %v", got)
	}
	moved := []corev1.Pod{pod("a", "1", "c9", "img:v2"), pod("c", "3", "c3", "img:v1"), pod("d", "4", "c4", "img:v2")}
	got := strings.Join(pausedChanges(before, moved, "app"), "; ")
	for _, want := range []string{"a: container app c1 → c9", "d is new", "b is gone"} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in %q", want, got)
		}
	}
}

func TestOrderProblem(t *testing.T) {
	at := func(s float64) time.Time { return time.Unix(0, 0).Add(time.Duration(s * float64(time.Second))) }
	oneByOne := []podSpan{{Pod: "web-2", From: at(0), To: at(13)}, {Pod: "web-1", From: at(13.2), To: at(26)}}
	together := []podSpan{{Pod: "web-2", From: at(0), To: at(13)}, {Pod: "web-1", From: at(0.1), To: at(13.1)}}
	cases := []struct {
		policy string
		spans  []podSpan
		want   string
	}{
		{"OrderedReady", oneByOne, ""},
		{"OrderedReady", []podSpan{{Pod: "web-2", From: at(0), To: at(13)}, {Pod: "web-1", From: at(12.7), To: at(26)}}, ""}, // within the polls' tolerance
		{"OrderedReady", together, "OrderedReady scale-down: web-1 began terminating 12.9s before web-2 was gone"},
		{"Parallel", together, ""},
		{"Parallel", oneByOne, "Parallel scale-down: web-1 began terminating only 200ms after web-2 was gone"},
		{"Parallel", oneByOne[:1], ""},
	}
	for _, c := range cases {
		if got := orderProblem(c.policy, c.spans); got != c.want {
			t.Errorf("%s %v: got %q, want %q", c.policy, c.spans, got, c.want)
		}
	}
	if got := describeOrder("OrderedReady", oneByOne); got != "OrderedReady: web-2, then web-1 terminated one after the other" {
		t.Errorf("describe: %q", got)
	}
}
