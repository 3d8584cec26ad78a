package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/zerodrop/zerodrop/workload"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// CloneSetResource is OpenKruise's CloneSet.
var CloneSetResource = schema.GroupVersionResource{Group: "apps.kruise.io", Version: "v1alpha1", Resource: "clonesets"}

// CloneSetUpdate updates an OpenKruise CloneSet's fixture container to Image.
// With the InPlaceIfPossible strategy the pods stay — same pod, same IP, only
// the container restarts — and OpenKruise takes each pod out of its Services
// first (its InPlaceUpdateReady readiness gate goes False) and waits the
// strategy's in-place grace period before it changes the image. Partition
// keeps that many pods on the old revision, as a canary. It waits until the
// CloneSet reports the update done and Ready, and notes how many pods were
// updated in place and how many recreated.
type CloneSetUpdate struct {
	// Version picks the image from Env.Images; Image, when set, is used as is.
	Version   string
	Image     string
	Partition int32
	// Pause, when set, applies the update with updateStrategy.paused and
	// holds it that long before resuming: OpenKruise must change no pod
	// meanwhile (checked every second), then updates them as without it.
	Pause time.Duration
}

// Name describes the disruption.
func (u CloneSetUpdate) Name() string {
	if u.Pause > 0 {
		return fmt.Sprintf("cloneset-update-paused-%s", u.Pause)
	}
	if u.Partition > 0 {
		return fmt.Sprintf("cloneset-update-partition-%d", u.Partition)
	}
	return "cloneset-in-place-update"
}

// Run patches and waits.
func (u CloneSetUpdate) Run(ctx context.Context, env Env) error {
	cs, before, _, index, err := startCloneSetUpdate(ctx, env)
	if err != nil {
		return err
	}
	if u.Image, err = newImage(env, u.Version, u.Image); err != nil {
		return err
	}
	// a JSON patch: a merge patch would replace the whole container list
	patch, _ := json.Marshal([]map[string]any{
		{"op": "add", "path": "/spec/updateStrategy/partition", "value": u.Partition},
		{"op": "add", "path": "/spec/updateStrategy/paused", "value": u.Pause > 0},
		{"op": "replace", "path": fmt.Sprintf("/spec/template/spec/containers/%d/image", index), "value": u.Image},
	})
	env.note("cloneset_update", fmt.Sprintf("image %s, partition %d, paused %v", u.Image, u.Partition, u.Pause > 0))
	if _, err := cs.Patch(ctx, env.Target.Name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch cloneset %s: %w", env.Target.Name, err)
	}
	if u.Pause > 0 {
		if err := holdPaused(ctx, env, before, u.Pause); err != nil {
			return err
		}
		resume, _ := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/updateStrategy/paused", "value": false}})
		env.note("cloneset_resume", fmt.Sprintf("after %s paused", u.Pause))
		if _, err := cs.Patch(ctx, env.Target.Name, types.JSONPatchType, resume, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("resume cloneset %s: %w", env.Target.Name, err)
		}
	}
	if err := poll(ctx, "wait for cloneset "+env.Target.Name, func(ctx context.Context) (string, error) {
		obj, err := cs.Get(ctx, env.Target.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return CloneSetPending(obj), nil
	}); err != nil {
		return err
	}
	after, err := pods(ctx, env)
	if err != nil {
		return err
	}
	inPlace, untouched, problems := verifyInPlace(before, after, env.Target.Container, u.Image)
	env.note("cloneset_updated", fmt.Sprintf("%d pods updated in place, %d untouched", inPlace, untouched))
	// pods already on the image (an earlier update behind a partition) stay
	// as they are and count toward the updated ones
	current := onImage(before, env.Target.Container, u.Image)
	want := max(len(before)-int(u.Partition)-current, 0)
	if len(problems) > 0 || inPlace != want || untouched != len(before)-want {
		return Unverified{fmt.Sprintf("in-place update: %d of %d pods updated in place, %d of %d untouched (%d already on the image, partition %d): %s",
			inPlace, want, untouched, len(before)-want, current, u.Partition, strings.Join(problems, "; "))}
	}
	env.verified("%d pods updated in place (same UID, container restarted on %s, Ready); %d below the partition untouched", inPlace, u.Image, untouched)
	return nil
}

// holdPaused waits for hold with the update paused, checking every second
// that no pod was replaced or restarted: a paused CloneSet must not move.
func holdPaused(ctx context.Context, env Env, before []corev1.Pod, hold time.Duration) error {
	end := time.Now().Add(hold)
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		now, err := pods(ctx, env)
		if err != nil {
			return err
		}
		if moved := pausedChanges(before, now, env.Target.Container); len(moved) > 0 {
			return Unverified{"paused update: the CloneSet changed pods while paused: " + strings.Join(moved, "; ")}
		}
	}
	env.verified("no pod changed while the update was paused for %s", hold)
	return nil
}

// pausedChanges lists what changed between two lists of a CloneSet's pods
// that a paused update must leave alone: the pods themselves (UIDs) and
// their container (its ID and image).
func pausedChanges(before, now []corev1.Pod, container string) []string {
	type state struct{ id, image string }
	of := func(p corev1.Pod) state {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Name == container {
				return state{cs.ContainerID, cs.Image}
			}
		}
		return state{}
	}
	was := map[types.UID]corev1.Pod{}
	for _, p := range before {
		was[p.UID] = p
	}
	var out []string
	seen := map[types.UID]bool{}
	for _, p := range now {
		seen[p.UID] = true
		prev, ok := was[p.UID]
		switch {
		case !ok:
			out = append(out, p.Name+" is new")
		case of(p) != of(prev):
			out = append(out, fmt.Sprintf("%s: container %s %s → %s", p.Name, container, of(prev).id, of(p).id))
		}
	}
	for _, p := range before {
		if !seen[p.UID] {
			out = append(out, p.Name+" is gone")
		}
	}
	return out
}

// verifyInPlace compares the pods before and after an in-place update:
// a pod updated in place kept its UID and runs a new container (another
// container ID, a higher restart count) on the new image, and is Ready; an
// untouched one kept its UID and its container. Anything else is a problem.
func verifyInPlace(before, after []corev1.Pod, container, image string) (inPlace, untouched int, problems []string) {
	old := map[types.UID]corev1.Pod{}
	for _, p := range before {
		old[p.UID] = p
	}
	for _, p := range after {
		prev, ok := old[p.UID]
		if !ok {
			problems = append(problems, p.Name+" was recreated (new UID)")
			continue
		}
		was, _ := containerStatus(prev, container)
		now, ok := containerStatus(p, container)
		switch {
		case !ok:
			problems = append(problems, p.Name+" has no container "+container)
		case now.ContainerID == was.ContainerID:
			untouched++
		case now.RestartCount > was.RestartCount && sameImage(now.Image, image) && podReady(&p):
			inPlace++
		default:
			problems = append(problems, fmt.Sprintf("%s: container %s restarted %d → %d on %s (want %s), ready %v", p.Name, container, was.RestartCount, now.RestartCount, now.Image, image, podReady(&p)))
		}
	}
	return inPlace, untouched, problems
}

// onImage counts the pods whose container already runs image.
func onImage(ps []corev1.Pod, container, image string) int {
	n := 0
	for _, p := range ps {
		for _, c := range p.Spec.Containers {
			if c.Name == container && sameImage(c.Image, image) {
				n++
			}
		}
	}
	return n
}

// CloneSetPending says what a CloneSet update still waits for ("" when
// done), from its status as OpenKruise reports it.
func CloneSetPending(obj *unstructured.Unstructured) string {
	num := func(path ...string) int64 {
		n, _, _ := unstructured.NestedInt64(obj.Object, path...)
		return n
	}
	want := int64(1)
	if r, ok, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas"); ok {
		want = r
	}
	partition, _, _ := unstructured.NestedInt64(obj.Object, "spec", "updateStrategy", "partition")
	target := max(want-partition, 0)
	gen, observed := obj.GetGeneration(), num("status", "observedGeneration")
	switch {
	case observed < gen:
		return fmt.Sprintf("observedGeneration %d < generation %d", observed, gen)
	case num("status", "updatedReplicas") < target:
		return fmt.Sprintf("%d of %d replicas updated", num("status", "updatedReplicas"), target)
	case num("status", "updatedReadyReplicas") < target:
		return fmt.Sprintf("%d of %d updated replicas ready", num("status", "updatedReadyReplicas"), target)
	case num("status", "readyReplicas") < want:
		return fmt.Sprintf("%d of %d replicas ready", num("status", "readyReplicas"), want)
	case num("status", "replicas") > want:
		return fmt.Sprintf("%d extra replicas pending deletion", num("status", "replicas")-want)
	}
	return ""
}

// CloneSetDeletePods has OpenKruise delete Count chosen pods of a CloneSet
// (spec.scaleStrategy.podsToDelete: the controller deletes them, gracefully,
// and creates replacements without changing the replica count) and waits
// until they are gone and replaced.
type CloneSetDeletePods struct{ Count int }

// Name describes the disruption.
func (d CloneSetDeletePods) Name() string { return fmt.Sprintf("cloneset-pods-to-delete-%d", d.Count) }

// Run asks and waits.
func (d CloneSetDeletePods) Run(ctx context.Context, env Env) error {
	cs, err := cloneSets(env)
	if err != nil {
		return err
	}
	ps, err := pods(ctx, env)
	if err != nil {
		return err
	}
	if d.Count < 1 || d.Count > len(ps) {
		return fmt.Errorf("cloneset pods to delete: %d: the cloneset has %d pods", d.Count, len(ps))
	}
	victims := ps[:d.Count]
	var list []string
	for _, p := range victims {
		list = append(list, p.Name)
	}
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"scaleStrategy": map[string]any{"podsToDelete": list}}})
	env.note("cloneset_pods_to_delete", strings.Join(list, ", "))
	if _, err := cs.Patch(ctx, env.Target.Name, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch cloneset %s: %w", env.Target.Name, err)
	}
	return waitReplacedVerified(ctx, env, names(victims), len(ps))
}

func cloneSets(env Env) (dynamic.ResourceInterface, error) {
	if env.Target.Kind != workload.CloneSet {
		return nil, fmt.Errorf("a %q is not an OpenKruise CloneSet", env.Target.Kind)
	}
	if env.Dynamic == nil {
		return nil, fmt.Errorf("CloneSet disruptions need a dynamic client (Env.Dynamic)")
	}
	return env.Dynamic.Resource(CloneSetResource).Namespace(env.Target.Namespace), nil
}

// sameImage compares image references as the kubelet and a manifest may
// spell them (docker.io and library/ implied).
func sameImage(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimPrefix(s, "docker.io/")
		return strings.TrimPrefix(s, "library/")
	}
	return norm(a) == norm(b)
}

// startCloneSetUpdate is what a CloneSet update starts from: the CloneSet
// client, the pods before, the CloneSet and its container's index.
func startCloneSetUpdate(ctx context.Context, env Env) (dynamic.ResourceInterface, []corev1.Pod, *unstructured.Unstructured, int, error) {
	cs, err := cloneSets(env)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	before, err := pods(ctx, env)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	obj, err := cs.Get(ctx, env.Target.Name, metav1.GetOptions{})
	if err != nil {
		return nil, nil, nil, 0, err
	}
	index, err := containerIndex(obj, env.Target.Container)
	if err != nil {
		return nil, nil, nil, 0, err
	}
	return cs, before, obj, index, nil
}

// newImage is the image an update moves to: image when set, else the
// fixture's variant of version on the nodes.
func newImage(env Env, version, image string) (string, error) {
	if image == "" && version != "" {
		image = env.Images[version]
		if image == "" {
			return "", fmt.Errorf("no image of version %q on the nodes (have %v)", version, env.Images)
		}
	}
	if image == "" {
		return "", fmt.Errorf("set Version or Image, the fixture's new image")
	}
	return image, nil
}

// containerIndex is the position of the named container in a CloneSet's
// pod template (a JSON patch addresses containers by index).
func containerIndex(obj *unstructured.Unstructured, name string) (int, error) {
	containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
	for i, c := range containers {
		if m, _ := c.(map[string]any); m["name"] == name {
			return i, nil
		}
	}
	return 0, fmt.Errorf("cloneset %s has no container %q", obj.GetName(), name)
}
