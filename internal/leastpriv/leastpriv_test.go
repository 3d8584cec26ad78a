package leastpriv

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func least() corev1.PodSpec {
	return corev1.PodSpec{
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext:              &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](UID)},
		Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}, SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
			Capabilities:   &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}}},
	}
}

func TestLeastPrivilegeHasNoFindings(t *testing.T) {
	if got := Check(least(), Allow{}); len(got) != 0 {
		t.Fatalf("findings on a least-privilege pod: %v", got)
	}
}

// TestEachExcessIsFound: every excess, one at a time, is named.
func TestEachExcessIsFound(t *testing.T) {
	cases := []struct {
		want    string
		breakIt func(*corev1.PodSpec)
	}{
		{"host namespaces", func(s *corev1.PodSpec) { s.HostNetwork = true }},
		{"hostPID true", func(s *corev1.PodSpec) { s.HostPID = true }},
		{"automountServiceAccountToken", func(s *corev1.PodSpec) { s.AutomountServiceAccountToken = nil }},
		{"is a hostPath", func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}}}
		}},
		{"projects a service account token", func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "t", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}}}}}}
		}},
		{"runAsNonRoot is not true", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.RunAsNonRoot = ptr.To(false) }},
		{"runAsUser is 0", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.RunAsUser = ptr.To[int64](0) }},
		{"runAsUser is unset", func(s *corev1.PodSpec) { s.SecurityContext.RunAsUser = nil }},
		{"allowPrivilegeEscalation", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.AllowPrivilegeEscalation = nil }},
		{"container app: privileged", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.Privileged = ptr.To(true) }},
		{"readOnlyRootFilesystem", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.ReadOnlyRootFilesystem = ptr.To(false) }},
		{"do not drop ALL", func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext.Capabilities.Drop = []corev1.Capability{"NET_RAW"}
		}},
		{"capabilities add [NET_ADMIN]", func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext.Capabilities.Add = []corev1.Capability{"NET_ADMIN"}
		}},
		{"seccompProfile is unset", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext.SeccompProfile = nil }},
		{"seccompProfile is Unconfined", func(s *corev1.PodSpec) {
			s.Containers[0].SecurityContext.SeccompProfile.Type = corev1.SeccompProfileTypeUnconfined
		}},
		{"hostPort 80", func(s *corev1.PodSpec) { s.Containers[0].Ports[0].HostPort = 80 }},
		{"container init: runAsNonRoot", func(s *corev1.PodSpec) {
			s.InitContainers = []corev1.Container{{Name: "init", SecurityContext: s.Containers[0].SecurityContext}}
			s.SecurityContext.RunAsNonRoot = nil
		}},
		{"container app: allowPrivilegeEscalation", func(s *corev1.PodSpec) { s.Containers[0].SecurityContext = nil }},
	}
	for _, c := range cases {
		s := least()
		c.breakIt(&s)
		if got := strings.Join(Check(s, Allow{}), "\n"); !strings.Contains(got, c.want) {
			t.Errorf("%q not found; findings:\n%s", c.want, got)
		}
	}
}

func TestAllowancesAreNarrow(t *testing.T) {
	s := least()
	s.AutomountServiceAccountToken = nil
	s.Containers[0].SecurityContext.SeccompProfile = nil
	if got := Check(s, Allow{APIToken: true, SeccompUnset: true}); len(got) != 0 {
		t.Fatalf("allowed excesses reported: %v", got)
	}
	// allowing an unset profile does not allow Unconfined
	s.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	if got := Check(s, Allow{SeccompUnset: true, APIToken: true}); len(got) != 1 {
		t.Fatalf("findings %v, want Unconfined named", got)
	}
}
