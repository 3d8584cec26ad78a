package chaos

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/zerodrop/zerodrop/workload"
)

// PausedRollout is a Deployment rollout with `kubectl rollout pause` and
// `resume` in it. With PauseAfter 0 it pauses first and then changes the
// template, as one does before several edits: the controller must start no
// rollout while paused. With PauseAfter n it changes the template, pauses as
// soon as n replicas are updated — old and new versions then serve side by
// side, a canary — and the controller must not progress while paused. Either
// way it holds the pause for Hold, checking that nothing moved, then resumes
// and waits until the rollout is complete and every old pod is gone.
type PausedRollout struct {
	Version    string
	PauseAfter int32
	Hold       time.Duration // default 10s
}

// Name describes the disruption.
func (p PausedRollout) Name() string {
	return fmt.Sprintf("paused-rollout-%s-after-%d", p.Version, p.PauseAfter)
}

// Run pauses, changes, holds, resumes and waits.
func (p PausedRollout) Run(ctx context.Context, env Env) error {
	t := env.Target
	if t.Kind != workload.Deployment {
		return fmt.Errorf("paused rollout of a %s: only Deployments pause", t.Kind)
	}
	if p.Version == "" {
		return fmt.Errorf("set Version, the version to roll out")
	}
	hold := p.Hold
	if hold == 0 {
		hold = 10 * time.Second
	}
	deployments := env.Client.AppsV1().Deployments(t.Namespace)
	d, err := deployments.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if want := replicas(d.Spec.Replicas); p.PauseAfter < 0 || p.PauseAfter >= want {
		return fmt.Errorf("PauseAfter %d: use 0 (pause before the change) to %d (one replica short of done) for %d replicas",
			p.PauseAfter, want-1, want)
	}
	before, err := pods(ctx, env)
	if err != nil {
		return err
	}
	setPaused := func(paused bool) error {
		_, err := deployments.Patch(ctx, t.Name, types.MergePatchType, fmt.Appendf(nil, `{"spec":{"paused":%t}}`, paused), metav1.PatchOptions{})
		if err != nil {
			return fmt.Errorf("set paused=%t on deployment %s: %w", paused, t.Name, err)
		}
		if paused {
			env.note("rollout_paused", t.Name)
		} else {
			env.note("rollout_resumed", t.Name)
		}
		return nil
	}
	change := func() error {
		env.note("rollout_start", p.Name())
		_, err := deployments.Patch(ctx, t.Name, types.StrategicMergePatchType, TemplatePatch(t, p.Version, nil, ""), metav1.PatchOptions{})
		if err != nil {
			return fmt.Errorf("patch deployment %s: %w", t.Name, err)
		}
		return nil
	}
	if p.PauseAfter == 0 {
		if err := setPaused(true); err != nil {
			return err
		}
		if err := change(); err != nil {
			return err
		}
	} else {
		if err := change(); err != nil {
			return err
		}
		if err := poll(ctx, fmt.Sprintf("wait for %d updated replicas", p.PauseAfter), func(ctx context.Context) (string, error) {
			d, err := deployments.Get(ctx, t.Name, metav1.GetOptions{})
			if err != nil {
				return "", err
			}
			if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas < p.PauseAfter {
				return fmt.Sprintf("%d of %d replicas updated", d.Status.UpdatedReplicas, p.PauseAfter), nil
			}
			return "", nil
		}); err != nil {
			return err
		}
		if err := setPaused(true); err != nil {
			return err
		}
	}
	// the controller has seen the pause once observedGeneration catches up;
	// from then on the new ReplicaSet's size must not move
	var held int32
	if err := poll(ctx, "wait for the controller to see the pause", func(ctx context.Context) (string, error) {
		d, err := deployments.Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if d.Status.ObservedGeneration < d.Generation {
			return fmt.Sprintf("observedGeneration %d < generation %d", d.Status.ObservedGeneration, d.Generation), nil
		}
		held, err = newReplicas(ctx, env, d, p.Version)
		return "", err
	}); err != nil {
		return err
	}
	if p.PauseAfter > 0 && held >= replicas(d.Spec.Replicas) {
		return fmt.Errorf("the new version had all %d replicas before the pause took effect: lower PauseAfter or slow the readiness of new pods", held)
	}
	env.note("rollout_held", fmt.Sprintf("new version at %d replicas for %s", held, hold))
	holdCtx, cancel := context.WithTimeout(ctx, hold)
	defer cancel()
	for holdCtx.Err() == nil {
		d, err := deployments.Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		now, err := newReplicas(ctx, env, d, p.Version)
		if err != nil {
			return err
		}
		if now != held {
			return fmt.Errorf("the deployment controller moved while paused: the new version went from %d to %d replicas", held, now)
		}
		select {
		case <-holdCtx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err := setPaused(false); err != nil {
		return err
	}
	if err := waitDeploymentComplete(ctx, env); err != nil {
		return err
	}
	if err := waitGone(ctx, env, before); err != nil {
		return err
	}
	env.note("rollout_complete", p.Name())
	return nil
}

// newReplicas is the size (spec.replicas) of the deployment's ReplicaSet for
// version; 0 when the controller has not created it.
func newReplicas(ctx context.Context, env Env, d *appsv1.Deployment, version string) (int32, error) {
	rss, err := env.Client.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(d.Spec.Selector.MatchLabels).String()})
	if err != nil {
		return 0, err
	}
	if rs := ReplicaSetFor(d, rss.Items, version); rs != nil {
		return replicas(rs.Spec.Replicas), nil
	}
	return 0, nil
}

// ReplicaSetFor finds the deployment's ReplicaSet of version (its pod
// template carries the VersionAnnotation TemplatePatch writes).
func ReplicaSetFor(d *appsv1.Deployment, rss []appsv1.ReplicaSet, version string) *appsv1.ReplicaSet {
	for i := range rss {
		rs := &rss[i]
		if metav1.IsControlledBy(rs, d) && rs.Spec.Template.Annotations[VersionAnnotation] == version {
			return rs
		}
	}
	return nil
}

func replicas(r *int32) int32 {
	if r == nil {
		return 1
	}
	return *r
}
