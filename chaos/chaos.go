// Package chaos performs the disruptions the mission is about — deletions,
// evictions, drains, rolling updates, scale-downs — the way kubectl does
// them, and waits until the cluster really reflects each one.
//
// A Disruption is one small interface; each lives in its own file.
package chaos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/internal/kube"
	"github.com/zerodrop/zerodrop/workload"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// Env is what a disruption needs.
type Env struct {
	Client kubernetes.Interface
	// Dynamic reaches custom resources (OpenKruise's CloneSet); may be nil otherwise.
	Dynamic dynamic.Interface
	Target  workload.Ref
	Log     *slog.Logger
	// Note records a timestamped step on the scenario's timeline (may be nil).
	Note func(what, detail string)
	// Verified records what a disruption checked the cluster really did
	// (may be nil): the outcome lists it beside the verdict.
	Verified func(what string)
	// Timeout bounds the disruption, including the wait for completion (default 5m).
	Timeout time.Duration
	// NodeExec runs a command on a node (kind: in the node container); nil
	// where the disruptions that need it are not available.
	NodeExec func(ctx context.Context, node string, args ...string) error
	// NodeFreeze stops (frozen) or starts a node's every process at once
	// (kind: docker pause/unpause of the node container); nil where not available.
	NodeFreeze func(ctx context.Context, node string, frozen bool) error
	// Images are the fixture's image variants present on the nodes, by
	// version, for updates that change the image (CloneSet in place).
	Images map[string]string
}

func (e Env) note(what, detail string) {
	if e.Note != nil {
		e.Note(what, detail)
	}
}

func (e Env) verified(format string, args ...any) {
	if e.Verified != nil {
		e.Verified(fmt.Sprintf(format, args...))
	}
}

// Unverified is the error of a disruption that ran but did not do what it
// claims (an in-place update that recreated pods): no evidence either way.
type Unverified struct{ What string }

func (u Unverified) Error() string { return "not verified: " + u.What }

func (e Env) log() *slog.Logger {
	if e.Log == nil {
		return phase.Discard()
	}
	return e.Log
}

// Disruption is one thing done to the cluster. Run performs it and returns
// when the cluster has finished reflecting it (rollout complete, old pods
// gone, node drained), or an error that says what was still pending.
type Disruption interface {
	Name() string
	Run(ctx context.Context, env Env) error
}

// Func adapts a function to Disruption.
type Func struct {
	N string
	F func(ctx context.Context, env Env) error
}

// Name returns the disruption's name.
func (f Func) Name() string { return f.N }

// Run calls F.
func (f Func) Run(ctx context.Context, env Env) error { return f.F(ctx, env) }

// Do runs a disruption under its timeout, as a phase.
func Do(ctx context.Context, d Disruption, env Env) error {
	if env.Timeout == 0 {
		env.Timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, env.Timeout)
	defer cancel()
	done := phase.Start(env.log(), "disruption "+d.Name(), "namespace", env.Target.Namespace, "workload", env.Target.Name)
	env.note("disruption_start", d.Name())
	err := d.Run(ctx, env)
	var stuck Stuck
	if errors.As(err, &stuck) {
		// an outcome of its own: the rollout was rolled back and is whole
		env.note("disruption_done", d.Name()+": "+stuck.Error())
		_ = done(nil) // logged as done: what it had to do
		return fmt.Errorf("chaos: %s: %w", d.Name(), err)
	}
	if err != nil {
		env.note("disruption_error", err.Error())
		return done(fmt.Errorf("chaos: %s: %w", d.Name(), err))
	}
	env.note("disruption_done", d.Name())
	return done(nil)
}

// pods lists the target's pods, sorted by name.
func pods(ctx context.Context, env Env) ([]corev1.Pod, error) {
	list, err := env.Client.CoreV1().Pods(env.Target.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(env.Target.Selector).String()})
	if err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

func podReady(p *corev1.Pod) bool { return kube.PodReady(p) }

// poll waits, every 250 ms, until cond reports nothing pending (see kube.Poll).
func poll(ctx context.Context, what string, cond func(ctx context.Context) (pending string, err error)) error {
	return kube.Poll(ctx, 250*time.Millisecond, what, cond)
}

// WaitReady waits until the workload has want Ready pods and none terminating.
func WaitReady(ctx context.Context, env Env, want int) error {
	return waitReplaced(ctx, env, nil, want)
}

// waitReplaced waits until none of the gone pods exists any more and the
// workload has want Ready pods, none terminating.
func waitReplaced(ctx context.Context, env Env, gone map[string]bool, want int) error {
	return poll(ctx, "wait for replacement pods", func(ctx context.Context) (string, error) {
		ps, err := pods(ctx, env)
		if err != nil {
			return "", err
		}
		var pending []string
		rest := ps[:0:0]
		for _, p := range ps {
			if gone[p.Name] {
				pending = append(pending, p.Name+" still exists")
			} else {
				rest = append(rest, p)
			}
		}
		if r := readyPending(rest, int32(want)); r != "" {
			pending = append(pending, r)
		}
		return strings.Join(pending, "; "), nil
	})
}

// readyPending says what keeps pods from being want Ready pods, none
// terminating ("" when nothing).
func readyPending(ps []corev1.Pod, want int32) string {
	var pending []string
	ready := int32(0)
	for i := range ps {
		p := &ps[i]
		switch {
		case p.DeletionTimestamp != nil:
			pending = append(pending, p.Name+" terminating")
		case podReady(p):
			ready++
		default:
			pending = append(pending, p.Name+" not ready")
		}
	}
	if ready != want {
		pending = append(pending, fmt.Sprintf("%d of %d pods ready", ready, want))
	}
	return strings.Join(pending, "; ")
}

// waitReplacedVerified is waitReplaced, and records what it saw.
func waitReplacedVerified(ctx context.Context, env Env, gone map[string]bool, want int) error {
	if err := waitReplaced(ctx, env, gone, want); err != nil {
		return err
	}
	names := make([]string, 0, len(gone))
	for n := range gone {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 0 {
		env.verified("pods %s gone and replaced; %d pods Ready, none terminating", strings.Join(names, ", "), want)
	}
	return nil
}

// waitGone waits until none of the given pods (by UID: names may be reused) exists.
func waitGone(ctx context.Context, env Env, before []corev1.Pod) error {
	old := map[string]bool{}
	for _, p := range before {
		old[string(p.UID)] = true
	}
	err := poll(ctx, "wait for old pods to be gone", func(ctx context.Context) (string, error) {
		ps, err := pods(ctx, env)
		if err != nil {
			return "", err
		}
		var left []string
		for _, p := range ps {
			if old[string(p.UID)] || p.DeletionTimestamp != nil {
				left = append(left, p.Name)
			}
		}
		return strings.Join(left, ", "), nil
	})
	if err == nil {
		env.verified("all %d pods present before are gone (by UID)", len(before))
	}
	return err
}

func names(ps []corev1.Pod) map[string]bool {
	m := map[string]bool{}
	for _, p := range ps {
		m[p.Name] = true
	}
	return m
}

// Desired returns how many replicas the workload's controller wants now
// (spec.replicas): what "whole again" means after a disruption, a
// scale-down included.
func Desired(ctx context.Context, env Env) (int, error) {
	t := env.Target
	switch t.Kind {
	case workload.Deployment:
		d, err := env.Client.AppsV1().Deployments(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return 0, err
		}
		return int(replicas(d.Spec.Replicas)), nil
	case workload.StatefulSet:
		s, err := env.Client.AppsV1().StatefulSets(t.Namespace).Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return 0, err
		}
		return int(replicas(s.Spec.Replicas)), nil
	case workload.CloneSet:
		cs, err := cloneSets(env)
		if err != nil {
			return 0, err
		}
		u, err := cs.Get(ctx, t.Name, metav1.GetOptions{})
		if err != nil {
			return 0, err
		}
		n, found, err := unstructured.NestedInt64(u.Object, "spec", "replicas")
		if err != nil || !found {
			return 1, err
		}
		return int(n), nil
	}
	return 0, fmt.Errorf("workload kind %q: use %v", t.Kind, workload.KindNames())
}
