package kind

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func node(name string, ready bool) corev1.Node {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: st}}}}
}

func pod(name, app, nodeName string, ready bool) corev1.Pod {
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"k8s-app": app}}, Spec: corev1.PodSpec{NodeName: nodeName},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}}}
}

func TestPendingReadiness(t *testing.T) {
	nodes := []corev1.Node{node("cp", true), node("w1", true)}
	pods := []corev1.Pod{pod("coredns-1", "kube-dns", "cp", true), pod("kube-proxy-a", "kube-proxy", "cp", true), pod("kube-proxy-b", "kube-proxy", "w1", true)}
	if p := pendingReadiness(nodes, pods, 2); p != "" {
		t.Fatalf("ready cluster pending %q", p)
	}
	if p := pendingReadiness(nodes, pods, 3); !strings.Contains(p, "2 of 3 nodes") {
		t.Fatalf("missing node not reported: %q", p)
	}
	nodes[1] = node("w1", false)
	if p := pendingReadiness(nodes, pods, 2); !strings.Contains(p, "node w1 not Ready") {
		t.Fatalf("%q", p)
	}
	nodes[1] = node("w1", true)
	pods[0] = pod("coredns-1", "kube-dns", "cp", false)
	pods[0].Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "coredns", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImageNeverPull", Message: "image not present"}}}}
	if p := pendingReadiness(nodes, pods, 2); !strings.Contains(p, "coredns-1 ErrImageNeverPull") {
		t.Fatalf("%q", p)
	}
	if p := pendingReadiness(nodes, pods[1:], 2); !strings.Contains(p, "no CoreDNS") {
		t.Fatalf("%q", p)
	}
	if p := pendingReadiness(nodes, pods[:2], 2); !strings.Contains(p, "no kube-proxy on w1") {
		t.Fatalf("%q", p)
	}
}
