package chaos

import (
	"context"
	"strings"
	"testing"
	"time"

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
	env := Env{Client: cs, Target: Target{Namespace: "ns", Name: "web", Selector: map[string]string{"app": "web"}}}
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
