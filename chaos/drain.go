package chaos

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/kubectl/pkg/drain"
)

// DrainNode drains the node that runs the workload's first pod with kubectl's
// drain library (cordon, evict through the Eviction API, ignore DaemonSets),
// waits until the workload is whole again on the other nodes, and uncordons.
type DrainNode struct {
	// Node to drain; empty: the node of the workload's first pod.
	Node    string
	Timeout time.Duration // drain timeout (default 2m): how long a PodDisruptionBudget may block it
	// KeepCordoned leaves the node cordoned afterwards.
	KeepCordoned bool
}

// Name describes the disruption.
func (d DrainNode) Name() string { return "drain-node" }

// Run drains and waits.
func (d DrainNode) Run(ctx context.Context, env Env) error {
	ps, err := pods(ctx, env)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return fmt.Errorf("the workload has no pods")
	}
	node := d.Node
	if node == "" {
		node = ps[0].Spec.NodeName
	}
	var onNode []corev1.Pod
	for _, p := range ps {
		if p.Spec.NodeName == node {
			onNode = append(onNode, p)
		}
	}
	timeout := d.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	out := &logWriter{env: env}
	h := &drain.Helper{
		Ctx: ctx, Client: env.Client, GracePeriodSeconds: -1, IgnoreAllDaemonSets: true, DeleteEmptyDirData: true,
		Timeout: timeout, Out: out, ErrOut: out,
		OnPodDeletionOrEvictionFinished: func(pod *corev1.Pod, usingEviction bool, err error) {
			if err == nil {
				env.note("pod_evicted", pod.Namespace+"/"+pod.Name+" (drain)")
			}
		},
	}
	n, err := env.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	env.note("node_cordon", node)
	if err := drain.RunCordonOrUncordon(h, n, true); err != nil {
		return fmt.Errorf("cordon %s: %w", node, err)
	}
	if !d.KeepCordoned {
		defer func() {
			uctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if n, err := env.Client.CoreV1().Nodes().Get(uctx, node, metav1.GetOptions{}); err == nil {
				h2 := *h
				h2.Ctx = uctx
				if err := drain.RunCordonOrUncordon(&h2, n, false); err == nil {
					env.note("node_uncordon", node)
				}
			}
		}()
	}
	if err := drain.RunNodeDrain(h, node); err != nil {
		if n := out.refusals(); n > 0 && strings.Contains(err.Error(), "global timeout reached") {
			env.note("drain_blocked", fmt.Sprintf("%s: %d evictions refused (429) in %s", node, n, timeout))
			return Blocked{Node: node, Refusals: n, For: timeout}
		}
		return fmt.Errorf("drain %s: %w (%s)", node, err, strings.TrimSpace(out.String()))
	}
	env.note("node_drained", node)
	env.verified("node %s cordoned and drained through the Eviction API (%d of the workload's pods on it)", node, len(onNode))
	return waitReplacedVerified(ctx, env, names(onNode), len(ps))
}

// logWriter keeps kubectl drain's output for errors and debug logs.
type logWriter struct {
	env Env
	b   strings.Builder
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.b.Write(p)
	w.env.log().Debug(strings.TrimSpace(string(p)), "component", "drain")
	return len(p), nil
}

func (w *logWriter) String() string { return w.b.String() }

// refusals counts the evictions the API refused with 429 (a
// PodDisruptionBudget said not now), as kubectl's drain reports them.
func (w *logWriter) refusals() int {
	return strings.Count(w.b.String(), "disruption budget")
}

// Blocked is the error of a drain that PodDisruptionBudgets kept from
// evicting a pod until its timeout: its own outcome, not a harness failure.
// The node is uncordoned again.
type Blocked struct {
	Node     string
	Refusals int
	For      time.Duration
}

func (b Blocked) Error() string {
	return fmt.Sprintf("drain of %s blocked by a PodDisruptionBudget: %d evictions refused (429) over %s; the node was uncordoned", b.Node, b.Refusals, b.For)
}

var _ io.Writer = (*logWriter)(nil)
