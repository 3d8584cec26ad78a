package chaos

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/workload"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

func tooMany() error {
	return apierrors.NewTooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0)
}

func TestEvictRetriesWhileABudgetBlocks(t *testing.T) {
	cs := fake.NewSimpleClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns"}})
	calls := 0
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "eviction" {
			return false, nil, nil
		}
		calls++
		if calls < 3 {
			return true, nil, tooMany()
		}
		return true, nil, nil
	})
	attempts, err := Evict(context.Background(), cs, "ns", "web-1", 10*time.Second)
	if err != nil || attempts != 3 {
		t.Fatalf("attempts %d err %v, want 3 and nil", attempts, err)
	}
}

func TestEvictGivesUpWithAClearError(t *testing.T) {
	cs := fake.NewSimpleClientset()
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, tooMany()
	})
	attempts, err := Evict(context.Background(), cs, "ns", "web-1", 700*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "PodDisruptionBudget blocked it") || attempts < 2 {
		t.Fatalf("attempts %d err %v", attempts, err)
	}
}

func TestEvictOtherErrorsAndGonePods(t *testing.T) {
	cs := fake.NewSimpleClientset()
	cs.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "web-1")
	})
	if _, err := Evict(context.Background(), cs, "ns", "web-1", time.Second); err != nil {
		t.Fatalf("a pod already gone is not an error: %v", err)
	}
	cs2 := fake.NewSimpleClientset()
	cs2.PrependReactor("create", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "web-1", nil)
	})
	if attempts, err := Evict(context.Background(), cs2, "ns", "web-1", time.Second); err == nil || attempts != 1 {
		t.Fatalf("forbidden must fail at once: %d %v", attempts, err)
	}
}

func TestDeploymentPending(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3)}}
	cases := []struct {
		st   appsv1.DeploymentStatus
		want string
	}{
		{appsv1.DeploymentStatus{ObservedGeneration: 1}, "observedGeneration 1 < generation 2"},
		{appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 2, Replicas: 4}, "2 of 3 replicas updated"},
		{appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 3, Replicas: 4}, "1 old replicas pending termination"},
		{appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 3, Replicas: 3, AvailableReplicas: 2}, "2 of 3 updated replicas available"},
		{appsv1.DeploymentStatus{ObservedGeneration: 2, UpdatedReplicas: 3, Replicas: 3, AvailableReplicas: 3}, ""},
		{appsv1.DeploymentStatus{ObservedGeneration: 2, Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Reason: "ProgressDeadlineExceeded", Message: "timed out"}}}, "progress deadline exceeded: timed out"},
	}
	for _, c := range cases {
		d.Status = c.st
		if got := DeploymentPending(d); got != c.want {
			t.Errorf("status %+v: got %q, want %q", c.st, got, c.want)
		}
	}
}

func TestDeleteRejectsImpossibleCounts(t *testing.T) {
	cs := fake.NewSimpleClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", Labels: map[string]string{"app": "web"}}})
	env := Env{Client: cs, Target: workload.Ref{Namespace: "ns", Name: "web", Selector: map[string]string{"app": "web"}}}
	if err := (DeletePods{Count: 2}).Run(context.Background(), env); err == nil || !strings.Contains(err.Error(), "has 1") {
		t.Fatalf("got %v", err)
	}
}

func TestDoRecordsTimeline(t *testing.T) {
	var notes []string
	env := Env{Note: func(what, detail string) { notes = append(notes, what+":"+detail) }, Timeout: time.Second}
	err := Do(context.Background(), Func{N: "noop", F: func(ctx context.Context, env Env) error { env.note("step", "x"); return nil }}, env)
	if err != nil || strings.Join(notes, ",") != "disruption_start:noop,step:x,disruption_done:noop" {
		t.Fatalf("%v %v", err, notes)
	}
}

func TestPreviousRevision(t *testing.T) {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", UID: "d1", Annotations: map[string]string{revisionAnnotation: "3"}}}
	owned := func(name, rev string) appsv1.ReplicaSet {
		return appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{revisionAnnotation: rev},
			OwnerReferences: []metav1.OwnerReference{{UID: "d1", Controller: ptr.To(true)}}}}
	}
	stranger := owned("other-5", "2")
	stranger.OwnerReferences[0].UID = "d2"
	rs, err := PreviousRevision(d, []appsv1.ReplicaSet{owned("web-1", "1"), owned("web-3", "3"), owned("web-2", "2"), stranger})
	if err != nil || rs.Name != "web-2" {
		t.Fatalf("got %v %v, want web-2", rs, err)
	}
	if _, err := PreviousRevision(d, []appsv1.ReplicaSet{owned("web-3", "3")}); err == nil {
		t.Fatal("want an error when there is nothing to roll back to")
	}
}

func TestRolloutUndoPatchesThePreviousTemplate(t *testing.T) {
	labels := map[string]string{"app": "web"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns", UID: "d1", Annotations: map[string]string{revisionAnnotation: "2"}},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	prev := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "ns", Labels: labels, Annotations: map[string]string{revisionAnnotation: "1"},
		OwnerReferences: []metav1.OwnerReference{{UID: "d1", Controller: ptr.To(true)}}}}
	prev.Spec.Template.Labels = map[string]string{"app": "web", appsv1.DefaultDeploymentUniqueLabelKey: "abc", "zerodrop.dev/version": "v1"}
	cs := fake.NewSimpleClientset(d, &prev)
	var patched []byte
	cs.PrependReactor("patch", "deployments", func(a k8stesting.Action) (bool, runtime.Object, error) {
		patched = a.(k8stesting.PatchAction).GetPatch()
		return true, nil, context.Canceled // stop before waiting: the patch is what this test checks
	})
	env := Env{Client: cs, Target: workload.Ref{Namespace: "ns", Kind: workload.Deployment, Name: "web", Selector: labels}}
	_ = (RolloutUndo{}).Run(context.Background(), env)
	if !strings.Contains(string(patched), `"zerodrop.dev/version":"v1"`) || strings.Contains(string(patched), "pod-template-hash") {
		t.Fatalf("patch %s", patched)
	}
}

func TestContainerIDAndKillNeedsNodes(t *testing.T) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-1"}, Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
		{Name: "fixture", ContainerID: "containerd://abc123", RestartCount: 2}}}}
	id, n, err := ContainerID(p, "fixture")
	if err != nil || id != "abc123" || n != 2 {
		t.Fatalf("%q %d %v", id, n, err)
	}
	if _, _, err := ContainerID(p, "other"); err == nil {
		t.Fatal("want an error for a missing container")
	}
	if err := (KillContainer{}).Run(context.Background(), Env{}); err == nil || !strings.Contains(err.Error(), "nodes") {
		t.Fatalf("got %v", err)
	}
}
