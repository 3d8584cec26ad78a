// Package kube holds the few helpers on Kubernetes objects that the
// disruptions, the observers and the cluster lifecycle all need: readiness
// conditions and a poll that says what it was still waiting for.
package kube

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// PodReady reports the pod's Ready condition.
func PodReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// NodeReady reports the node's Ready condition.
func NodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Poll runs cond every interval until it reports nothing pending or ctx
// ends; on timeout the error carries the last pending description. An error
// from cond is retried (the API server may blip) unless it is a Stop: waiting
// cannot fix that.
func Poll(ctx context.Context, interval time.Duration, what string, cond func(ctx context.Context) (pending string, err error)) error {
	pending := "not checked yet"
	var final error
	err := wait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		p, err := cond(ctx)
		var st stop
		if errors.As(err, &st) {
			final = st.err
			return false, err
		}
		if err != nil {
			pending = err.Error()
			return false, nil
		}
		pending = p
		return p == "", nil
	})
	switch {
	case final != nil:
		return final
	case err != nil:
		return fmt.Errorf("%s: still pending: %s (%w)", what, pending, err)
	}
	return nil
}

// Stop ends a Poll at once with err: waiting cannot fix it.
func Stop(err error) error { return stop{err} }

type stop struct{ err error }

func (s stop) Error() string { return s.err.Error() }
func (s stop) Unwrap() error { return s.err }
