package chaos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/zerodrop/zerodrop/workload"
)

// StuckRollout rolls a Deployment out to a broken Version — Env sets what
// breaks it (the fixture's NEVER_READY, or CRASH_AFTER for a version that
// crashes some seconds after it starts) — and expects the Deployment
// controller to give up on it: progressDeadlineSeconds after the last
// progress it sets the Progressing condition False, reason
// ProgressDeadlineExceeded. It then rolls back as `kubectl rollout undo`
// does, waits until the rollback is complete and the broken version's pods
// are gone, and returns Stuck: an outcome of its own (the runner records it
// on the disruption's span and judges the requests as for a pass: zero
// failed, or it fails). It starts only from a complete rollout (the old
// version available), and the progress deadline must fall well inside the
// disruption's timeout.
//
// Meanwhile it watches both ReplicaSets, and what it verified says whether
// the old one served throughout (its pods the same, all available) and
// whether the broken one ever had an available replica.
//
// A broken version the controller counts as available (it crashes after
// minReadySeconds) completes its rollout instead: Run then waits until its
// containers restart (a crash loop), rolls back the same way and returns
// nil — the requests that failed judge it. One that neither gets stuck nor
// crashes within CrashWatch is not broken: Unverified.
type StuckRollout struct {
	Version string
	Env     map[string]string
	// Prefix names the disruption: Prefix-Version (default "stuck-rollout").
	Prefix string
	// CrashWatch bounds the wait for a completed rollout's first crash
	// (default 1m).
	CrashWatch time.Duration
}

// Name describes the disruption.
func (s StuckRollout) Name() string {
	if s.Prefix != "" {
		return s.Prefix + "-" + s.Version
	}
	return "stuck-rollout-" + s.Version
}

// Stuck is the outcome of a rollout the Deployment controller gave up on
// (ProgressDeadlineExceeded) and that was rolled back: what a rollout to a
// broken version must do, not a harness failure.
type Stuck struct {
	Deployment, Version string
	// Deadline is the Deployment's progressDeadlineSeconds.
	Deadline int32
	// After is from the template change to the controller's verdict.
	After        time.Duration
	Condition    string // the Progressing condition's message
	RolledBackTo string // the revision the rollback returned to
	// RecoveredIn is from the rollback until its rollout was complete and
	// the broken version's pods were gone.
	RecoveredIn time.Duration
	// Replicas is what the Deployment wants; OldMinAvailable the fewest
	// available replicas the old ReplicaSet had meanwhile, NewMaxAvailable
	// the most the broken one had.
	Replicas, OldMinAvailable, NewMaxAvailable int32
}

func (s Stuck) Error() string {
	return fmt.Sprintf("rollout stuck (%s): deployment %s gave up on %s after %s (%s); rolled back to revision %s",
		progressDeadlineExceeded, s.Deployment, s.Version, s.After.Round(time.Second), s.Condition, s.RolledBackTo)
}

// progressDeadlineExceeded is the Progressing condition's reason when the
// Deployment controller gives up on a rollout.
const progressDeadlineExceeded = "ProgressDeadlineExceeded"

// Run rolls out, watches, rolls back and waits.
func (s StuckRollout) Run(ctx context.Context, env Env) error {
	t := env.Target
	if t.Kind != workload.Deployment {
		return fmt.Errorf("stuck rollout of a %s: only a Deployment reports ProgressDeadlineExceeded", t.Kind)
	}
	if s.Version == "" || len(s.Env) == 0 {
		return errors.New("set Version and Env: the version to roll out, and what breaks it")
	}
	if s.CrashWatch == 0 {
		s.CrashWatch = time.Minute
	}
	deployments := env.Client.AppsV1().Deployments(t.Namespace)
	// a rollout starts from a complete one: with minReadySeconds, pods
	// Ready only a moment ago are not available yet, and the old version's
	// capacity would be misread (and its becoming available would count
	// as the new rollout's progress)
	if err := waitDeploymentComplete(ctx, env); err != nil {
		return fmt.Errorf("before the rollout: %w", err)
	}
	d, err := deployments.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	pd := int32(600) // the API server's default
	if d.Spec.ProgressDeadlineSeconds != nil {
		pd = *d.Spec.ProgressDeadlineSeconds
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < time.Duration(pd)*time.Second+time.Minute {
		return fmt.Errorf("deployment %s: progressDeadlineSeconds %d: the controller would give up after the disruption's own timeout (%s left): lower it",
			t.Name, pd, time.Until(dl).Round(time.Second))
	}
	rss, err := replicaSets(ctx, env, d)
	if err != nil {
		return err
	}
	old := currentReplicaSet(d, rss)
	if old == nil {
		return fmt.Errorf("deployment %s: no ReplicaSet of its current revision %q", t.Name, d.Annotations[revisionAnnotation])
	}
	oldPods, err := podsOf(ctx, env, old)
	if err != nil {
		return err
	}
	want := replicas(d.Spec.Replicas)

	began := time.Now()
	env.note("rollout_start", fmt.Sprintf("%s (broken: %v)", s.Name(), s.Env))
	if _, err := deployments.Patch(ctx, t.Name, types.StrategicMergePatchType, TemplatePatchEnv(t, s.Version, nil, "", s.Env), metav1.PatchOptions{}); err != nil {
		return fmt.Errorf("patch deployment %s: %w", t.Name, err)
	}
	w := &stuckWatch{version: s.Version, want: want, minOld: want, old: old.Name, crashWatch: s.CrashWatch}
	if err := poll(ctx, "wait for the rollout to "+s.Version+" to get stuck", func(ctx context.Context) (string, error) {
		d, err := deployments.Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		rss, err := replicaSets(ctx, env, d)
		if err != nil {
			return "", err
		}
		var broken []corev1.Pod
		if rs := ReplicaSetFor(d, rss, s.Version); rs != nil {
			if broken, err = podsOf(ctx, env, rs); err != nil {
				return "", err
			}
		}
		return w.see(d, rss, broken, time.Now()), nil
	}); err != nil {
		return err
	}
	after := w.decided.Sub(began)
	if w.stuck != "" {
		env.note("rollout_stuck", fmt.Sprintf("%s after %s (progressDeadlineSeconds %d): %s", progressDeadlineExceeded, after.Round(time.Second), pd, w.stuck))
	} else {
		env.note("rollout_crashing", fmt.Sprintf("complete after %s, then %s", after.Round(time.Second), w.crash))
	}

	// roll back, as a platform team would
	d, err = deployments.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if rss, err = replicaSets(ctx, env, d); err != nil {
		return err
	}
	prev, err := PreviousRevision(d, rss)
	if err != nil {
		return err
	}
	brokenRS := ReplicaSetFor(d, rss, s.Version)
	undone := time.Now()
	if err := undoTo(ctx, env, prev); err != nil {
		return err
	}
	if err := waitDeploymentComplete(ctx, env); err != nil {
		return err
	}
	if brokenRS != nil {
		if err := poll(ctx, "wait for the broken version's pods to be gone", func(ctx context.Context) (string, error) {
			left, err := podsOf(ctx, env, brokenRS)
			if err != nil {
				return "", err
			}
			var names []string
			for _, p := range left {
				names = append(names, p.Name)
			}
			return strings.Join(names, ", "), nil
		}); err != nil {
			return err
		}
	}
	oldAfter, err := podsOf(ctx, env, old)
	if err != nil {
		return err
	}
	for _, v := range w.verified(oldPods, oldAfter) {
		env.verified("%s", v)
	}
	rev := prev.Annotations[revisionAnnotation]
	recovered := time.Since(undone)
	env.note("rollout_recovered", fmt.Sprintf("revision %s (%s) whole again %s after the undo", rev, prev.Name, recovered.Round(time.Millisecond)))
	env.verified("rolled back to revision %s (%s): rollout complete, the broken version's pods gone", rev, prev.Name)
	switch {
	case w.stuck != "":
		return Stuck{Deployment: t.Name, Version: s.Version, Deadline: pd, After: after, Condition: w.stuck, RolledBackTo: rev,
			RecoveredIn: recovered, Replicas: want, OldMinAvailable: w.minOld, NewMaxAvailable: w.maxBroken}
	case w.crash == "":
		return Unverified{fmt.Sprintf("the rollout to %s completed and its pods did not crash within %s: the version was not broken", s.Version, s.CrashWatch)}
	}
	return nil
}

// stuckWatch follows a rollout to a broken version until the controller
// gives up on it, or it completes and then crashes (or does not, within
// crashWatch), keeping what the two ReplicaSets did meanwhile.
type stuckWatch struct {
	version    string
	want       int32
	old        string
	crashWatch time.Duration

	minOld    int32 // fewest available replicas the old ReplicaSet had
	maxBroken int32 // most available replicas the broken one had
	complete  time.Time
	decided   time.Time
	stuck     string // the Progressing condition's message, once stuck
	crash     string // what crashed, once a completed rollout's pod did
}

// see takes one look and says what is still pending ("" once decided).
func (w *stuckWatch) see(d *appsv1.Deployment, rss []appsv1.ReplicaSet, broken []corev1.Pod, now time.Time) string {
	for i := range rss {
		rs := &rss[i]
		switch {
		case rs.Name == w.old:
			w.minOld = min(w.minOld, rs.Status.AvailableReplicas)
		case rs.Spec.Template.Annotations[VersionAnnotation] == w.version:
			w.maxBroken = max(w.maxBroken, rs.Status.AvailableReplicas)
		}
	}
	if d.Status.ObservedGeneration < d.Generation {
		return fmt.Sprintf("observedGeneration %d < generation %d", d.Status.ObservedGeneration, d.Generation)
	}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == progressDeadlineExceeded {
			w.stuck, w.decided = c.Message, now
			return ""
		}
	}
	if w.complete.IsZero() {
		if p := DeploymentPending(d); p != "" {
			return p
		}
		w.complete = now
	}
	for _, p := range broken {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.RestartCount > 0 {
				w.crash, w.decided = fmt.Sprintf("%s: container %s restarted %d times", p.Name, cs.Name, cs.RestartCount), now
				return ""
			}
		}
	}
	if now.Sub(w.complete) >= w.crashWatch {
		w.decided = now
		return ""
	}
	return fmt.Sprintf("the rollout to %s completed; waiting for its pods to crash", w.version)
}

// verified says what the two ReplicaSets did, and whether the old one's
// pods (by UID) are the ones that served before.
func (w *stuckWatch) verified(before, after []corev1.Pod) []string {
	var out []string
	if w.stuck != "" {
		out = append(out, fmt.Sprintf("rollout to %s stuck: the Deployment reported ProgressDeadlineExceeded (%s)", w.version, w.stuck))
	} else if w.crash != "" {
		out = append(out, fmt.Sprintf("rollout to %s completed, then crashed (%s)", w.version, w.crash))
	}
	if w.maxBroken == 0 {
		out = append(out, fmt.Sprintf("the %s ReplicaSet never had an available replica", w.version))
	} else {
		out = append(out, fmt.Sprintf("the %s ReplicaSet had up to %d available replicas", w.version, w.maxBroken))
	}
	if w.minOld >= w.want {
		out = append(out, fmt.Sprintf("the old ReplicaSet %s kept all %d replicas available throughout", w.old, w.want))
	} else {
		out = append(out, fmt.Sprintf("the old ReplicaSet %s fell to %d of %d available replicas", w.old, w.minOld, w.want))
	}
	kept := map[types.UID]bool{}
	for _, p := range after {
		kept[p.UID] = true
	}
	same := 0
	for _, p := range before {
		if kept[p.UID] {
			same++
		}
	}
	if same == len(before) && len(after) == len(before) {
		out = append(out, fmt.Sprintf("the old version served throughout: the same %d pods (by UID) before and after", same))
	} else {
		out = append(out, fmt.Sprintf("%d of the old version's %d pods were replaced", len(before)-same, len(before)))
	}
	return out
}

// replicaSets lists the ReplicaSets the Deployment's selector selects.
func replicaSets(ctx context.Context, env Env, d *appsv1.Deployment) ([]appsv1.ReplicaSet, error) {
	list, err := env.Client.AppsV1().ReplicaSets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(d.Spec.Selector.MatchLabels).String()})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

// currentReplicaSet is the Deployment's ReplicaSet of its current revision.
func currentReplicaSet(d *appsv1.Deployment, rss []appsv1.ReplicaSet) *appsv1.ReplicaSet {
	for i := range rss {
		rs := &rss[i]
		if metav1.IsControlledBy(rs, d) && rs.Annotations[revisionAnnotation] == d.Annotations[revisionAnnotation] {
			return rs
		}
	}
	return nil
}

// podsOf lists a ReplicaSet's pods (by its pod-template-hash), terminating
// ones included.
func podsOf(ctx context.Context, env Env, rs *appsv1.ReplicaSet) ([]corev1.Pod, error) {
	hash := rs.Labels[appsv1.DefaultDeploymentUniqueLabelKey]
	if hash == "" {
		return nil, fmt.Errorf("replicaset %s has no %s label", rs.Name, appsv1.DefaultDeploymentUniqueLabelKey)
	}
	list, err := env.Client.CoreV1().Pods(rs.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: labels.SelectorFromSet(map[string]string{appsv1.DefaultDeploymentUniqueLabelKey: hash}).String()})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}
