package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
)

// SidecarSetResource is OpenKruise's SidecarSet (cluster-scoped).
var SidecarSetResource = schema.GroupVersionResource{Group: "apps.kruise.io", Version: "v1alpha1", Resource: "sidecarsets"}

// SidecarSetHashAnnotation is what OpenKruise's pod webhook writes on a pod
// it injected a SidecarSet's containers into.
const SidecarSetHashAnnotation = "kruise.io/sidecarset-hash"

// SidecarSetUpgrade upgrades the sidecar an OpenKruise SidecarSet injected
// into the target's pods (Env.Target.Sidecars[0]) to a new image, in place:
// OpenKruise changes each pod's container image, one pod at a time, and the
// kubelet stops that container alone (its preStop hook, SIGTERM) and starts
// it anew, while the app's container and the pod stay. It finds the one
// SidecarSet that selects the target's namespace, and verifies: the pods
// were injected (annotation, container), none was recreated, each one's
// sidecar restarted on the new image and is Ready, and the app's container
// did not restart.
type SidecarSetUpgrade struct {
	// Version picks the image from Env.Images; Image, when set, is used as is.
	Version string
	Image   string
}

// Name describes the disruption.
func (u SidecarSetUpgrade) Name() string { return "sidecarset-upgrade" }

// Run patches the SidecarSet and waits until every pod runs the new sidecar.
func (u SidecarSetUpgrade) Run(ctx context.Context, env Env) error {
	if env.Dynamic == nil {
		return fmt.Errorf("a SidecarSet upgrade needs a dynamic client (OpenKruise's SidecarSet)")
	}
	if len(env.Target.Sidecars) == 0 {
		return fmt.Errorf("workload %s names no sidecar container to upgrade", env.Target.Name)
	}
	sidecar := env.Target.Sidecars[0]
	var err error
	if u.Image, err = newImage(env, u.Version, u.Image); err != nil {
		return err
	}
	before, err := pods(ctx, env)
	if err != nil {
		return err
	}
	if problems := injected(before, sidecar); len(problems) > 0 {
		return Unverified{"SidecarSet injection: " + strings.Join(problems, "; ")}
	}
	r := env.Dynamic.Resource(SidecarSetResource)
	set, err := sidecarSetOf(ctx, env)
	if err != nil {
		return err
	}
	containers, _, _ := unstructured.NestedSlice(set.Object, "spec", "containers")
	index := -1
	for i, c := range containers {
		if m, _ := c.(map[string]any); m["name"] == sidecar {
			index = i
		}
	}
	if index < 0 {
		return fmt.Errorf("SidecarSet %s has no container %q", set.GetName(), sidecar)
	}
	patch, _ := json.Marshal([]map[string]any{{"op": "replace", "path": fmt.Sprintf("/spec/containers/%d/image", index), "value": u.Image}})
	env.note("sidecarset_upgrade", fmt.Sprintf("SidecarSet %s container %s to %s", set.GetName(), sidecar, u.Image))
	if _, err := r.Patch(ctx, set.GetName(), types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch SidecarSet %s: %w", set.GetName(), err)
	}
	if err := poll(ctx, "wait for SidecarSet "+set.GetName(), func(ctx context.Context) (string, error) {
		obj, err := r.Get(ctx, set.GetName(), metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return SidecarSetPending(obj, len(before)), nil
	}); err != nil {
		return err
	}
	if err := WaitReady(ctx, env, len(before)); err != nil {
		return err
	}
	after, err := pods(ctx, env)
	if err != nil {
		return err
	}
	if problems := verifySidecarUpgrade(before, after, sidecar, env.Target.Container, u.Image); len(problems) > 0 {
		return Unverified{"SidecarSet upgrade: " + strings.Join(problems, "; ")}
	}
	env.note("sidecarset_upgraded", fmt.Sprintf("%d pods' %s upgraded in place", len(after), sidecar))
	env.verified("%d pods' injected %s upgraded in place to %s (same pod UIDs, the %s container restarted and Ready, the %s container not restarted)",
		len(after), sidecar, u.Image, sidecar, env.Target.Container)
	return nil
}

// sidecarSetOf finds the one SidecarSet that selects the target's namespace
// (spec.namespaceSelector on kubernetes.io/metadata.name, or spec.namespace).
func sidecarSetOf(ctx context.Context, env Env) (*unstructured.Unstructured, error) {
	list, err := env.Dynamic.Resource(SidecarSetResource).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list SidecarSets: %w", err)
	}
	var found []unstructured.Unstructured
	for _, s := range list.Items {
		byLabel, _, _ := unstructured.NestedString(s.Object, "spec", "namespaceSelector", "matchLabels", corev1.LabelMetadataName)
		byField, _, _ := unstructured.NestedString(s.Object, "spec", "namespace")
		if byLabel == env.Target.Namespace || byField == env.Target.Namespace {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%d SidecarSets select namespace %s, want 1", len(found), env.Target.Namespace)
	}
	return &found[0], nil
}

// SidecarSetPending says what a SidecarSet's upgrade still waits for over
// its want matched pods ("" when every one runs the current revision and is
// Ready).
func SidecarSetPending(obj *unstructured.Unstructured, want int) string {
	num := func(f string) int64 {
		n, _, _ := unstructured.NestedInt64(obj.Object, "status", f)
		return n
	}
	switch {
	case num("observedGeneration") < obj.GetGeneration():
		return fmt.Sprintf("observedGeneration %d < generation %d", num("observedGeneration"), obj.GetGeneration())
	case num("matchedPods") != int64(want):
		return fmt.Sprintf("%d pods matched, want %d", num("matchedPods"), want)
	case num("updatedPods") < int64(want):
		return fmt.Sprintf("%d of %d pods updated", num("updatedPods"), want)
	case num("updatedReadyPods") < int64(want):
		return fmt.Sprintf("%d of %d updated pods ready", num("updatedReadyPods"), want)
	}
	return ""
}

// injected checks that OpenKruise injected the sidecar into every pod.
func injected(ps []corev1.Pod, sidecar string) (problems []string) {
	if len(ps) == 0 {
		return []string{"no pods"}
	}
	for _, p := range ps {
		if p.Annotations[SidecarSetHashAnnotation] == "" {
			problems = append(problems, p.Name+" carries no "+SidecarSetHashAnnotation+" annotation (not injected: is the namespace opted in to OpenKruise's pod webhook?)")
		}
		if _, ok := containerStatus(p, sidecar); !ok {
			problems = append(problems, p.Name+" has no "+sidecar+" container")
		}
	}
	return problems
}

func containerStatus(p corev1.Pod, name string) (corev1.ContainerStatus, bool) {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == name {
			return cs, true
		}
	}
	return corev1.ContainerStatus{}, false
}

// verifySidecarUpgrade checks an in-place sidecar upgrade: the same pods,
// each one's sidecar restarted on image and Ready, its app container not
// restarted.
func verifySidecarUpgrade(before, after []corev1.Pod, sidecar, app, image string) (problems []string) {
	old := map[types.UID]corev1.Pod{}
	for _, p := range before {
		old[p.UID] = p
	}
	if len(after) != len(before) {
		problems = append(problems, fmt.Sprintf("%d pods after, %d before", len(after), len(before)))
	}
	for _, p := range after {
		prev, ok := old[p.UID]
		if !ok {
			problems = append(problems, p.Name+" was recreated (new UID)")
			continue
		}
		was, _ := containerStatus(prev, sidecar)
		now, ok := containerStatus(p, sidecar)
		switch {
		case !ok:
			problems = append(problems, p.Name+" has no "+sidecar+" container")
		case now.ContainerID == was.ContainerID:
			problems = append(problems, p.Name+"'s "+sidecar+" did not restart")
		case !sameImage(now.Image, image) || !now.Ready:
			problems = append(problems, fmt.Sprintf("%s: %s on %s (want %s), ready %v", p.Name, sidecar, now.Image, image, now.Ready))
		}
		if a, b := containerStatus(prev, app); b {
			if n, _ := containerStatus(p, app); n.ContainerID != a.ContainerID {
				problems = append(problems, p.Name+"'s "+app+" container restarted too")
			}
		}
	}
	return problems
}
