package chaos

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// DeletePods deletes Count of the workload's pods (all but one when Count is
// negative), with the pod's own grace period unless GraceSeconds is set, and
// waits until they are gone and replaced.
type DeletePods struct {
	Count        int
	GraceSeconds *int64
}

// Name describes the disruption.
func (d DeletePods) Name() string {
	if d.Count < 0 {
		return "delete-all-but-one"
	}
	return fmt.Sprintf("delete-%d", d.Count)
}

// Run deletes and waits.
func (d DeletePods) Run(ctx context.Context, env Env) error {
	ps, err := pods(ctx, env)
	if err != nil {
		return err
	}
	n := d.Count
	if n < 0 {
		n = len(ps) - 1
	}
	if n < 1 || n > len(ps) {
		return fmt.Errorf("delete %d pods: the workload has %d", n, len(ps))
	}
	victims := ps[:n]
	for _, p := range victims {
		env.note("pod_delete", p.Name)
		if err := env.Client.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: d.GraceSeconds}); err != nil {
			return fmt.Errorf("delete pod %s: %w", p.Name, err)
		}
	}
	return waitReplacedVerified(ctx, env, names(victims), len(ps))
}
