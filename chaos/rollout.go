package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/zerodrop/zerodrop/workload"
)

// RollingUpdate changes the workload's pod template — to Version (see
// TemplatePatch), or a restartedAt annotation (what `kubectl rollout restart`
// writes) when Version is empty; with NewImage also the app container's
// image, to Env.Images[Version], as a release does — and
// waits until the rollout is complete: observedGeneration caught up, every
// replica updated and available, and every old pod gone.
type RollingUpdate struct {
	Version  string
	NewImage bool
}

// Name describes the disruption.
func (r RollingUpdate) Name() string {
	switch {
	case r.Version == "":
		return "rollout-restart"
	case r.NewImage:
		return "image-update-" + r.Version
	}
	return "rolling-update-" + r.Version
}

// Run patches and waits.
func (r RollingUpdate) Run(ctx context.Context, env Env) error {
	before, err := pods(ctx, env)
	if err != nil {
		return err
	}
	image := ""
	if r.NewImage {
		image = env.Images[r.Version]
		if r.Version == "" || image == "" {
			return fmt.Errorf("image update: no image of version %q on the nodes (have %v)", r.Version, env.Images)
		}
	}
	raw := TemplatePatch(env.Target, r.Version, nil, image)
	env.note("rollout_start", r.Name())
	t := env.Target
	switch t.Kind {
	case workload.Deployment:
		if _, err := env.Client.AppsV1().Deployments(t.Namespace).Patch(ctx, t.Name, types.StrategicMergePatchType, raw, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("patch deployment %s: %w", t.Name, err)
		}
		if err := waitDeploymentComplete(ctx, env); err != nil {
			return err
		}
	case workload.StatefulSet:
		if _, err := env.Client.AppsV1().StatefulSets(t.Namespace).Patch(ctx, t.Name, types.StrategicMergePatchType, raw, metav1.PatchOptions{}); err != nil {
			return fmt.Errorf("patch statefulset %s: %w", t.Name, err)
		}
		if err := waitStatefulSetComplete(ctx, env); err != nil {
			return err
		}
	default:
		return fmt.Errorf("rolling update of a %s: use Deployment or StatefulSet", t.Kind)
	}
	// a StatefulSet reuses pod names: old means an old UID
	err = waitGone(ctx, env, before)
	if err == nil {
		env.note("rollout_complete", r.Name())
		env.verified("rollout complete: every replica updated and available")
	}
	return err
}

// VersionAnnotation marks the pod template of a version change, so that a
// change always makes a new revision (even for an app that reads no version
// env) and its ReplicaSet can be found again.
const VersionAnnotation = "zerodrop.dev/version"

// TemplatePatch is the strategic merge patch that changes a workload's pod
// template: to version (the VersionAnnotation, and the workload's version
// label and env when it has them), or, when version is empty, the
// restartedAt annotation `kubectl rollout restart` writes. image, when not
// empty, becomes the app container's image; extraSpec is merged into the
// patch's top-level spec (a partition, a pause).
func TemplatePatch(ref workload.Ref, version string, extraSpec map[string]any, image string) []byte {
	return TemplatePatchEnv(ref, version, extraSpec, image, nil)
}

// TemplatePatchEnv is TemplatePatch that also sets env vars on the app
// container: a version's own settings (the strategic merge patch merges
// env by name, so the others stay).
func TemplatePatchEnv(ref workload.Ref, version string, extraSpec map[string]any, image string, env map[string]string) []byte {
	meta := map[string]any{}
	var vars []any
	if version == "" {
		meta["annotations"] = map[string]any{"kubectl.kubernetes.io/restartedAt": time.Now().Format(time.RFC3339Nano)}
	} else {
		meta["annotations"] = map[string]any{VersionAnnotation: version}
		if ref.VersionLabel != "" {
			meta["labels"] = map[string]any{ref.VersionLabel: version}
		}
		if ref.VersionEnv != "" {
			vars = append(vars, map[string]any{"name": ref.VersionEnv, "value": version})
		}
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		vars = append(vars, map[string]any{"name": k, "value": env[k]})
	}
	var container map[string]any
	if len(vars) > 0 {
		container = map[string]any{"name": ref.Container, "env": vars}
	}
	if image != "" {
		if container == nil {
			container = map[string]any{"name": ref.Container}
		}
		container["image"] = image
	}
	tmpl := map[string]any{"metadata": meta}
	if container != nil {
		tmpl["spec"] = map[string]any{"containers": []any{container}}
	}
	spec := map[string]any{"template": tmpl}
	for k, v := range extraSpec {
		spec[k] = v
	}
	raw, _ := json.Marshal(map[string]any{"spec": spec})
	return raw
}

func waitDeploymentComplete(ctx context.Context, env Env) error {
	t := env.Target
	return poll(ctx, "wait for rollout of deployment "+t.Name, func(ctx context.Context) (string, error) {
		d, err := env.Client.AppsV1().Deployments(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return DeploymentPending(d), nil
	})
}

// DeploymentPending says what a rollout still waits for ("" when complete),
// as `kubectl rollout status` judges it.
func DeploymentPending(d *appsv1.Deployment) string {
	want := replicas(d.Spec.Replicas)
	s := d.Status
	for _, c := range s.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Reason == "ProgressDeadlineExceeded" {
			return "progress deadline exceeded: " + c.Message
		}
	}
	switch {
	case s.ObservedGeneration < d.Generation:
		return fmt.Sprintf("observedGeneration %d < generation %d", s.ObservedGeneration, d.Generation)
	case s.UpdatedReplicas < want:
		return fmt.Sprintf("%d of %d replicas updated", s.UpdatedReplicas, want)
	case s.Replicas > s.UpdatedReplicas:
		return fmt.Sprintf("%d old replicas pending termination", s.Replicas-s.UpdatedReplicas)
	case s.AvailableReplicas < s.UpdatedReplicas:
		return fmt.Sprintf("%d of %d updated replicas available", s.AvailableReplicas, s.UpdatedReplicas)
	}
	return ""
}

func waitStatefulSetComplete(ctx context.Context, env Env) error {
	t := env.Target
	return poll(ctx, "wait for rollout of statefulset "+t.Name, func(ctx context.Context) (string, error) {
		s, err := env.Client.AppsV1().StatefulSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		want := replicas(s.Spec.Replicas)
		st := s.Status
		switch {
		case st.ObservedGeneration < s.Generation:
			return fmt.Sprintf("observedGeneration %d < generation %d", st.ObservedGeneration, s.Generation), nil
		case st.UpdateRevision != st.CurrentRevision && st.UpdatedReplicas < want:
			return fmt.Sprintf("%d of %d replicas updated", st.UpdatedReplicas, want), nil
		case st.ReadyReplicas < want:
			return fmt.Sprintf("%d of %d replicas ready", st.ReadyReplicas, want), nil
		}
		return "", nil
	})
}

// ScaleDown sets the workload's replicas to Replicas and waits until exactly
// that many pods are Ready and the rest are gone.
type ScaleDown struct{ Replicas int32 }

// Name describes the disruption.
func (s ScaleDown) Name() string { return fmt.Sprintf("scale-down-to-%d", s.Replicas) }

// Run scales and waits.
func (s ScaleDown) Run(ctx context.Context, env Env) error {
	t := env.Target
	sc, err := env.Client.AppsV1().Deployments(t.Namespace).GetScale(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get scale: %w", err)
	}
	if s.Replicas >= sc.Spec.Replicas || s.Replicas < 1 {
		return fmt.Errorf("scale down to %d: the deployment has %d replicas; use 1 to %d", s.Replicas, sc.Spec.Replicas, sc.Spec.Replicas-1)
	}
	sc.Spec.Replicas = s.Replicas
	env.note("scale", fmt.Sprintf("%d", s.Replicas))
	if _, err := env.Client.AppsV1().Deployments(t.Namespace).UpdateScale(ctx, t.Name, sc, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("scale: %w", err)
	}
	if err := waitReplaced(ctx, env, nil, int(s.Replicas)); err != nil {
		return err
	}
	env.verified("scaled down to %d Ready pods, none terminating", s.Replicas)
	return nil
}
