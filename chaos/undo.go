package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/zerodrop/zerodrop/workload"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
)

// RolloutUndo rolls a Deployment back to its previous revision, as `kubectl
// rollout undo` does: the pod template of the ReplicaSet with the highest
// revision below the current one becomes the Deployment's template again.
// It waits until that rollout is complete and every pod of the undone
// revision is gone.
type RolloutUndo struct{}

// Name describes the disruption.
func (RolloutUndo) Name() string { return "rollout-undo" }

// revisionAnnotation is where the deployment controller numbers revisions.
const revisionAnnotation = "deployment.kubernetes.io/revision"

// Run rolls back and waits.
func (RolloutUndo) Run(ctx context.Context, env Env) error {
	t := env.Target
	if t.Kind != workload.Deployment {
		return fmt.Errorf("rollout undo of a %s: only Deployments", t.Kind)
	}
	d, err := env.Client.AppsV1().Deployments(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	rss, err := env.Client.AppsV1().ReplicaSets(t.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(d.Spec.Selector.MatchLabels).String()})
	if err != nil {
		return err
	}
	prev, err := PreviousRevision(d, rss.Items)
	if err != nil {
		return err
	}
	before, err := pods(ctx, env)
	if err != nil {
		return err
	}
	if err := undoTo(ctx, env, prev); err != nil {
		return err
	}
	if err := waitDeploymentComplete(ctx, env); err != nil {
		return err
	}
	return waitGone(ctx, env, before)
}

// undoTo makes prev's pod template the Deployment's again, as `kubectl
// rollout undo` does.
func undoTo(ctx context.Context, env Env, prev *appsv1.ReplicaSet) error {
	t := env.Target
	tmpl := prev.Spec.Template.DeepCopy()
	delete(tmpl.Labels, appsv1.DefaultDeploymentUniqueLabelKey) // the ReplicaSet's own hash, not the Deployment's
	patch, _ := json.Marshal([]map[string]any{{"op": "replace", "path": "/spec/template", "value": tmpl}})
	env.note("rollout_undo", fmt.Sprintf("to revision %s (%s)", prev.Annotations[revisionAnnotation], prev.Name))
	if _, err := env.Client.AppsV1().Deployments(t.Namespace).Patch(ctx, t.Name, types.JSONPatchType, patch, metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch deployment %s: %w", t.Name, err)
	}
	return nil
}

// PreviousRevision finds the ReplicaSet of the revision before the
// deployment's current one (owned by the deployment).
func PreviousRevision(d *appsv1.Deployment, rss []appsv1.ReplicaSet) (*appsv1.ReplicaSet, error) {
	current, _ := strconv.ParseInt(d.Annotations[revisionAnnotation], 10, 64)
	type rev struct {
		n  int64
		rs *appsv1.ReplicaSet
	}
	var revs []rev
	for i := range rss {
		rs := &rss[i]
		if !metav1.IsControlledBy(rs, d) {
			continue
		}
		n, err := strconv.ParseInt(rs.Annotations[revisionAnnotation], 10, 64)
		if err != nil || n >= current {
			continue
		}
		revs = append(revs, rev{n, rs})
	}
	if len(revs) == 0 {
		return nil, fmt.Errorf("deployment %s has no revision before %d to roll back to", d.Name, current)
	}
	sort.Slice(revs, func(i, j int) bool { return revs[i].n > revs[j].n })
	return revs[0].rs, nil
}
