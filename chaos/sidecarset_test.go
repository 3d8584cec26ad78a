package chaos

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

func TestSidecarSetPending(t *testing.T) {
	set := func(gen, observed, matched, updated, updatedReady int64) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{
			"observedGeneration": observed, "matchedPods": matched, "updatedPods": updated, "updatedReadyPods": updatedReady}}}
		u.SetGeneration(gen)
		return u
	}
	for _, c := range []struct {
		obj  *unstructured.Unstructured
		want string
	}{
		{set(2, 1, 3, 3, 3), "observedGeneration 1 < generation 2"},
		{set(2, 2, 2, 2, 2), "2 pods matched, want 3"},
		{set(2, 2, 3, 1, 1), "1 of 3 pods updated"},
		{set(2, 2, 3, 3, 2), "2 of 3 updated pods ready"},
		{set(2, 2, 3, 3, 3), ""},
	} {
		if got := SidecarSetPending(c.obj, 3); got != c.want {
			t.Errorf("pending %q, want %q", got, c.want)
		}
	}
}

func sidecarPod(name string, uid types.UID, injected bool, proxyID, proxyImage string, proxyReady bool, appID string) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, UID: uid, Annotations: map[string]string{}}}
	if injected {
		p.Annotations[SidecarSetHashAnnotation] = `{"web-proxy":{"hash":"x"}}`
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "proxy", ContainerID: proxyID, Image: proxyImage, Ready: proxyReady})
	}
	p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "fixture", ContainerID: appID, Image: "v1", Ready: true})
	return p
}

func TestSidecarSetInjectedAndUpgraded(t *testing.T) {
	before := []corev1.Pod{sidecarPod("a", "a", true, "p1", "v1", true, "f1"), sidecarPod("b", "b", true, "p2", "v1", true, "f2")}
	if p := injected(before, "proxy"); len(p) != 0 {
		t.Fatalf("injected: %v", p)
	}
	if p := strings.Join(injected([]corev1.Pod{sidecarPod("c", "c", false, "", "", false, "f3")}, "proxy"), "; "); !strings.Contains(p, "not injected") || !strings.Contains(p, "no proxy container") {
		t.Fatalf("a pod the webhook missed: %s", p)
	}
	if p := injected(nil, "proxy"); len(p) == 0 {
		t.Fatal("no pods proves no injection")
	}
	good := []corev1.Pod{sidecarPod("a", "a", true, "p3", "v2", true, "f1"), sidecarPod("b", "b", true, "p4", "v2", true, "f2")}
	if p := verifySidecarUpgrade(before, good, "proxy", "fixture", "v2"); len(p) != 0 {
		t.Fatalf("a clean in-place upgrade: %v", p)
	}
	bad := []corev1.Pod{sidecarPod("a", "a", true, "p1", "v1", true, "f1"), sidecarPod("c", "c", true, "p5", "v2", true, "f9")}
	p := strings.Join(verifySidecarUpgrade(before, bad, "proxy", "fixture", "v2"), "; ")
	if !strings.Contains(p, "a's proxy did not restart") || !strings.Contains(p, "c was recreated") {
		t.Errorf("an untouched proxy and a recreated pod: %s", p)
	}
	appToo := []corev1.Pod{sidecarPod("a", "a", true, "p3", "v2", true, "f7"), sidecarPod("b", "b", true, "p4", "v2", false, "f2")}
	p = strings.Join(verifySidecarUpgrade(before, appToo, "proxy", "fixture", "v2"), "; ")
	if !strings.Contains(p, "a's fixture container restarted too") || !strings.Contains(p, "b: proxy on v2 (want v2), ready false") {
		t.Errorf("the app restarted, a proxy not ready: %s", p)
	}
}
