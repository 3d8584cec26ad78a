package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
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

// Run scales and waits. A StatefulSet's scale-down is also checked against
// its pod management policy: OrderedReady stops one pod and waits until it
// is gone before the next, Parallel stops them together.
func (s ScaleDown) Run(ctx context.Context, env Env) error {
	t := env.Target
	var sc scaleClient
	policy := ""
	switch t.Kind {
	case workload.Deployment:
		sc = env.Client.AppsV1().Deployments(t.Namespace)
	case workload.StatefulSet:
		sets := env.Client.AppsV1().StatefulSets(t.Namespace)
		set, err := sets.Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		sc, policy = sets, string(set.Spec.PodManagementPolicy)
		if policy == "" {
			policy = string(appsv1.OrderedReadyPodManagement)
		}
	default:
		return fmt.Errorf("scale-down of a %s: use Deployment or StatefulSet", t.Kind)
	}
	scale, err := sc.GetScale(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get scale: %w", err)
	}
	if s.Replicas >= scale.Spec.Replicas || s.Replicas < 1 {
		return fmt.Errorf("scale down to %d: the %s has %d replicas; use 1 to %d", s.Replicas, strings.ToLower(string(t.Kind)), scale.Spec.Replicas, scale.Spec.Replicas-1)
	}
	scale.Spec.Replicas = s.Replicas
	env.note("scale", fmt.Sprintf("%d", s.Replicas))
	if _, err := sc.UpdateScale(ctx, t.Name, scale, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("scale: %w", err)
	}
	spans, err := waitScaledDown(ctx, env, s.Replicas)
	if err != nil {
		return err
	}
	if policy == "" {
		env.verified("scaled down to %d Ready pods, none terminating", s.Replicas)
		return nil
	}
	if problem := orderProblem(policy, spans); problem != "" {
		return Unverified{problem}
	}
	env.verified("scaled down to %d Ready pods, none terminating; %s", s.Replicas, describeOrder(policy, spans))
	return nil
}

// scaleClient is the scale subresource of Deployments and StatefulSets.
type scaleClient interface {
	GetScale(ctx context.Context, name string, opts metav1.GetOptions) (*autoscalingv1.Scale, error)
	UpdateScale(ctx context.Context, name string, scale *autoscalingv1.Scale, opts metav1.UpdateOptions) (*autoscalingv1.Scale, error)
}

// podSpan is when a pod was first seen terminating and first seen gone.
type podSpan struct {
	Pod      string
	From, To time.Time
}

// orderTolerance is how far two pods' termination may overlap and still
// count as one after the other: the polls that see them are 250 ms apart.
const orderTolerance = 500 * time.Millisecond

// waitScaledDown waits until want pods are Ready and none terminates,
// recording when each removed pod began terminating and when it was gone.
func waitScaledDown(ctx context.Context, env Env, want int32) ([]podSpan, error) {
	spans := map[string]*podSpan{}
	seen := map[string]bool{}
	err := poll(ctx, "wait for the scale-down", func(ctx context.Context) (string, error) {
		ps, err := pods(ctx, env)
		if err != nil {
			return "", err
		}
		now := time.Now()
		present := map[string]bool{}
		for _, p := range ps {
			present[p.Name], seen[p.Name] = true, true
			if p.DeletionTimestamp != nil && spans[p.Name] == nil {
				spans[p.Name] = &podSpan{Pod: p.Name, From: now}
			}
		}
		for name := range seen {
			if present[name] {
				continue
			}
			sp := spans[name]
			if sp == nil { // gone between two polls: both ends unknown but now
				sp = &podSpan{Pod: name, From: now}
				spans[name] = sp
			}
			if sp.To.IsZero() {
				sp.To = now
			}
		}
		return readyPending(ps, want), nil
	})
	out := make([]podSpan, 0, len(spans))
	for _, sp := range spans {
		out = append(out, *sp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].From.Before(out[j].From) })
	return out, err
}

// orderProblem says how the removed pods' terminations contradict the
// pod management policy ("" when they do not): OrderedReady's must not
// overlap, Parallel's must.
func orderProblem(policy string, spans []podSpan) string {
	if len(spans) < 2 {
		return ""
	}
	for i := 1; i < len(spans); i++ {
		prev, next := spans[i-1], spans[i]
		overlap := prev.To.Sub(next.From)
		switch {
		case policy == string(appsv1.OrderedReadyPodManagement) && overlap > orderTolerance:
			return fmt.Sprintf("OrderedReady scale-down: %s began terminating %s before %s was gone", next.Pod, overlap.Round(time.Millisecond), prev.Pod)
		case policy == string(appsv1.ParallelPodManagement) && overlap <= 0:
			return fmt.Sprintf("Parallel scale-down: %s began terminating only %s after %s was gone", next.Pod, (-overlap).Round(time.Millisecond), prev.Pod)
		}
	}
	return ""
}

// describeOrder says how the removed pods went, for the verified note.
func describeOrder(policy string, spans []podSpan) string {
	names := make([]string, len(spans))
	for i, sp := range spans {
		names[i] = sp.Pod
	}
	if policy == string(appsv1.ParallelPodManagement) {
		return fmt.Sprintf("Parallel: %s terminated together", strings.Join(names, " and "))
	}
	return fmt.Sprintf("%s: %s terminated one after the other", policy, strings.Join(names, ", then "))
}
