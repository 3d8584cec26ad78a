package kind

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestKindClusterName(t *testing.T) {
	for id, want := range map[string]string{
		"kind://docker/kind/kind-control-plane":      "kind",
		"kind://podman/plain/plain-worker2":          "plain",
		"aws:///eu-west-1a/i-0123456789abcdef0":      "",
		"":                                           "",
		"kind://docker//kind-control-plane":          "",
		"kind://docker/kind":                         "",
		"kind://docker/zerodrop/zerodrop-worker/xyz": "",
	} {
		if got := KindClusterName(corev1.Node{Spec: corev1.NodeSpec{ProviderID: id}}); got != want {
			t.Errorf("%q: got %q, want %q", id, got, want)
		}
	}
}
