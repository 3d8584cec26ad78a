package chaos

import (
	"context"
	"fmt"
	"time"

	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// EvictPods evicts Count pods (all when Count <= 0) through the Eviction API
// (policy/v1), one after another as kubectl drain does, honouring
// PodDisruptionBudgets: a 429 is retried with backoff and recorded; a budget
// that blocks longer than BlockTimeout is an error.
type EvictPods struct {
	Count        int
	BlockTimeout time.Duration // default 2m
}

// Name describes the disruption.
func (e EvictPods) Name() string {
	if e.Count <= 0 {
		return "evict-all"
	}
	return fmt.Sprintf("evict-%d", e.Count)
}

// Run evicts and waits until the evicted pods are gone and replaced.
func (e EvictPods) Run(ctx context.Context, env Env) error {
	ps, err := pods(ctx, env)
	if err != nil {
		return err
	}
	n := e.Count
	if n <= 0 || n > len(ps) {
		n = len(ps)
	}
	victims := ps[:n]
	for _, p := range victims {
		attempts, err := Evict(ctx, env.Client, p.Namespace, p.Name, e.BlockTimeout)
		if attempts > 1 {
			env.note("eviction_blocked", fmt.Sprintf("%s: %d attempts (PodDisruptionBudget)", p.Name, attempts))
		}
		if err != nil {
			return err
		}
		env.note("pod_evicted", p.Name)
	}
	return waitReplacedVerified(ctx, env, names(victims), len(ps))
}

// Evict asks the Eviction API to evict one pod, retrying 429 (a
// PodDisruptionBudget says not now) with backoff up to blockTimeout. It
// returns how many attempts it took. A pod already gone is not an error.
func Evict(ctx context.Context, cs kubernetes.Interface, ns, name string, blockTimeout time.Duration) (int, error) {
	if blockTimeout == 0 {
		blockTimeout = 2 * time.Minute
	}
	ev := &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}}
	attempts := 0
	var last error
	backoff := wait.Backoff{Duration: 200 * time.Millisecond, Factor: 1.5, Jitter: 0.1, Steps: 1 << 30, Cap: 5 * time.Second}
	deadline := time.Now().Add(blockTimeout)
	for {
		attempts++
		last = cs.CoreV1().Pods(ns).EvictV1(ctx, ev)
		switch {
		case last == nil, apierrors.IsNotFound(last):
			return attempts, nil
		case !apierrors.IsTooManyRequests(last):
			return attempts, fmt.Errorf("evict pod %s: %w", name, last)
		}
		if time.Now().After(deadline) {
			return attempts, fmt.Errorf("evict pod %s: a PodDisruptionBudget blocked it for %s (%d attempts): %w", name, blockTimeout, attempts, last)
		}
		select {
		case <-ctx.Done():
			return attempts, fmt.Errorf("evict pod %s: %w (last: %v)", name, ctx.Err(), last)
		case <-time.After(backoff.Step()):
		}
	}
}
