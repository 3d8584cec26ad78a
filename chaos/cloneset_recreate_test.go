package chaos

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

func cloneSetWith(replicas int64, strategy map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"spec": map[string]any{"replicas": replicas, "updateStrategy": strategy},
	}}
}

func TestSurgeBoundsOf(t *testing.T) {
	for _, c := range []struct {
		name     string
		replicas int64
		strategy map[string]any
		want     surgeBounds
	}{
		{"surge 1, unavailable 0", 3, map[string]any{"maxSurge": int64(1), "maxUnavailable": int64(0)}, surgeBounds{3, 1, 0}},
		{"surge 0, unavailable 1", 3, map[string]any{"maxSurge": int64(0), "maxUnavailable": int64(1)}, surgeBounds{3, 0, 1}},
		{"percentages: surge rounds up, unavailable down", 3, map[string]any{"maxSurge": "50%", "maxUnavailable": "50%"}, surgeBounds{3, 2, 1}},
		{"OpenKruise's defaults: 20% of 3 is 0, so one may be unavailable", 3, map[string]any{}, surgeBounds{3, 0, 1}},
		{"both 0 allows one unavailable", 3, map[string]any{"maxSurge": int64(0), "maxUnavailable": int64(0)}, surgeBounds{3, 0, 1}},
	} {
		if got := surgeBoundsOf(cloneSetWith(c.replicas, c.strategy)); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func readyPod(name string, uid types.UID, ready, terminating bool, image string) corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p := corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: uid},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "fixture", Image: image}}},
		Status:     corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
	}
	if terminating {
		p.DeletionTimestamp = &metav1.Time{}
	}
	return p
}

func TestSurgeBoundsCheck(t *testing.T) {
	surge := surgeBounds{replicas: 3, surge: 1, unavailable: 0}
	// three old Ready, one surged not yet Ready, one terminating: within
	ps := []corev1.Pod{readyPod("a", "a", true, false, "v1"), readyPod("b", "b", true, false, "v1"), readyPod("c", "c", true, false, "v1"),
		readyPod("d", "d", false, false, "v2"), readyPod("e", "e", false, true, "v1")}
	if live, ready, problem := surge.check(ps); live != 4 || ready != 3 || problem != "" {
		t.Fatalf("within the bounds: live %d, ready %d, %q", live, ready, problem)
	}
	// a second surged pod breaks maxSurge; an old pod gone before its
	// replacement is Ready breaks maxUnavailable 0
	over := append(ps, readyPod("f", "f", false, false, "v2"))
	if _, _, problem := surge.check(over); !strings.Contains(problem, "5 live pods, above 3 replicas + maxSurge 1") {
		t.Errorf("over the surge: %q", problem)
	}
	under := []corev1.Pod{readyPod("a", "a", true, false, "v1"), readyPod("b", "b", true, false, "v1"), readyPod("d", "d", false, false, "v2")}
	if _, _, problem := surge.check(under); !strings.Contains(problem, "2 Ready pods, below 3 replicas - maxUnavailable 0") {
		t.Errorf("under the availability: %q", problem)
	}
	oneDown := surgeBounds{replicas: 3, surge: 0, unavailable: 1}
	if _, _, problem := oneDown.check(under); problem != "" {
		t.Errorf("maxUnavailable 1 allows two Ready of three: %q", problem)
	}
}

func TestVerifyRecreated(t *testing.T) {
	before := []corev1.Pod{readyPod("a", "a", true, false, "v1"), readyPod("b", "b", true, false, "v1")}
	good := []corev1.Pod{readyPod("c", "c", true, false, "v2"), readyPod("d", "d", true, false, "v2")}
	if p := verifyRecreated(before, good, "fixture", "v2", 2); len(p) != 0 {
		t.Fatalf("all recreated: %v", p)
	}
	inPlace := []corev1.Pod{readyPod("a", "a", true, false, "v2"), readyPod("d", "d", false, false, "v2")}
	p := strings.Join(verifyRecreated(before, inPlace, "fixture", "v2", 2), "; ")
	if !strings.Contains(p, "a was not recreated (same UID)") || !strings.Contains(p, "d is not Ready") {
		t.Errorf("a pod kept and one not Ready: %s", p)
	}
	stale := []corev1.Pod{readyPod("c", "c", true, false, "v1")}
	p = strings.Join(verifyRecreated(before, stale, "fixture", "v2", 2), "; ")
	if !strings.Contains(p, "0 of 1 pods on v2") || !strings.Contains(p, "1 pods, want 2") {
		t.Errorf("an old image and a missing pod: %s", p)
	}
}
