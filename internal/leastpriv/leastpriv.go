// Package leastpriv says every way a pod spec asks for more than a zerodrop
// pod needs: the fixture, the in-cluster load generator and the ingress
// controller run non-root, unprivileged, read-only, with no capabilities,
// under the runtime's seccomp profile, in no host namespace, with no host
// path, and without an API token unless they talk to the API server. The
// tests of each of them check their rendered pods with it, so a regression
// fails a test that needs no cluster.
package leastpriv

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// UID is the user every zerodrop pod runs as: distroless's "nonroot", which
// the own images and the Traefik image built here use.
const UID = 65532

// Allow lists what a pod may ask for beyond the least, each for a reason its
// caller states.
type Allow struct {
	// APIToken: the pod talks to the API server (a controller), so its
	// service account token is mounted.
	APIToken bool
	// SeccompUnset: the pod runs without a seccomp profile (Unconfined, on a
	// kubelet without --seccomp-default).
	SeccompUnset bool
}

// Check returns one line per excess privilege, naming the container and the
// field; none means least privilege.
func Check(spec corev1.PodSpec, allow Allow) []string {
	var out []string
	bad := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	if spec.HostNetwork || spec.HostPID || spec.HostIPC {
		bad("pod: host namespaces (hostNetwork %t, hostPID %t, hostIPC %t)", spec.HostNetwork, spec.HostPID, spec.HostIPC)
	}
	if !allow.APIToken && (spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken) {
		bad("pod: automountServiceAccountToken is not false: the pod gets API rights it does not use")
	}
	for _, v := range spec.Volumes {
		if v.HostPath != nil {
			bad("pod: volume %s is a hostPath (%s)", v.Name, v.HostPath.Path)
		}
		if v.Projected != nil && !allow.APIToken {
			for _, s := range v.Projected.Sources {
				if s.ServiceAccountToken != nil {
					bad("pod: volume %s projects a service account token", v.Name)
				}
			}
		}
	}
	pod := spec.SecurityContext
	if pod == nil {
		pod = &corev1.PodSecurityContext{}
	}
	var containers []corev1.Container
	containers = append(containers, spec.InitContainers...)
	containers = append(containers, spec.Containers...)
	if len(containers) == 0 {
		bad("pod: no containers")
	}
	for _, c := range containers {
		sc := c.SecurityContext
		if sc == nil {
			sc = &corev1.SecurityContext{}
		}
		name := "container " + c.Name
		// the container's setting wins over the pod's
		if !deref(first(sc.RunAsNonRoot, pod.RunAsNonRoot)) {
			bad("%s: runAsNonRoot is not true", name)
		}
		if uid := first(sc.RunAsUser, pod.RunAsUser); uid == nil || *uid != UID {
			bad("%s: runAsUser is %s, want %d", name, show(uid), UID)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			bad("%s: allowPrivilegeEscalation is not false", name)
		}
		if deref(sc.Privileged) {
			bad("%s: privileged", name)
		}
		if !deref(sc.ReadOnlyRootFilesystem) {
			bad("%s: readOnlyRootFilesystem is not true", name)
		}
		if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			bad("%s: capabilities do not drop ALL", name)
		}
		if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
			bad("%s: capabilities add %v", name, sc.Capabilities.Add)
		}
		seccomp := sc.SeccompProfile
		if seccomp == nil {
			seccomp = pod.SeccompProfile
		}
		switch {
		case seccomp == nil && allow.SeccompUnset:
		case seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault:
			bad("%s: seccompProfile is %s, want RuntimeDefault", name, showSeccomp(seccomp))
		}
		for _, p := range c.Ports {
			if p.HostPort != 0 {
				bad("%s: hostPort %d", name, p.HostPort)
			}
		}
	}
	return out
}

func first[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}

func deref(b *bool) bool { return b != nil && *b }

func show(v *int64) string {
	if v == nil {
		return "unset (the image's user)"
	}
	return fmt.Sprint(*v)
}

func showSeccomp(p *corev1.SeccompProfile) string {
	if p == nil {
		return "unset (Unconfined)"
	}
	return string(p.Type)
}
