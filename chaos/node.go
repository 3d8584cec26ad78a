package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/internal/kube"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StopNode is an ungraceful control: it stops the worker node that runs the
// workload's first pod all at once — kubelet, kube-proxy, the container
// runtime and the pods freeze together (kind: the node container is paused
// by the cgroup freezer), nobody is told, nothing is cleaned up — as a hung
// or cut-off node looks to the control plane. It waits until the node
// controller marks the node NotReady and the pods on it not Ready (their
// endpoints leave the Services only then), keeps the node down for Down,
// then starts it again and waits until the node is Ready and the workload
// whole.
//
// Freezing rather than killing the node keeps its address: a kind node
// restarted from a killed container may come back with another IP.
type StopNode struct {
	Node string        // empty: the node of the workload's first pod
	Down time.Duration // how long the node stays stopped after the control plane noticed
}

// Name describes the disruption.
func (StopNode) Name() string { return "stop-node" }

// Run stops, waits, and starts the node again.
func (s StopNode) Run(ctx context.Context, env Env) error {
	if env.NodeFreeze == nil {
		return fmt.Errorf("needs to stop and start nodes (a kind cluster)")
	}
	ps, err := pods(ctx, env)
	if err != nil {
		return err
	}
	if len(ps) == 0 {
		return fmt.Errorf("the workload has no pods")
	}
	node := s.Node
	if node == "" {
		node = ps[0].Spec.NodeName
	}
	n, err := env.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if _, cp := n.Labels["node-role.kubernetes.io/control-plane"]; cp {
		return fmt.Errorf("%s is the control plane, which the cluster cannot lose: pick a worker", node)
	}
	var onNode []string
	for _, p := range ps {
		if p.Spec.NodeName == node {
			onNode = append(onNode, p.Name)
		}
	}
	env.note("node_stop", node)
	if err := env.NodeFreeze(ctx, node, true); err != nil {
		return fmt.Errorf("stop %s: %w", node, err)
	}
	started := false
	start := func(ctx context.Context) error {
		if started {
			return nil
		}
		if err := env.NodeFreeze(ctx, node, false); err != nil {
			return fmt.Errorf("start %s: %w", node, err)
		}
		started = true
		env.note("node_start", node)
		return nil
	}
	// whatever happens, the node comes back; if it cannot, say so loudly:
	// a frozen node breaks every later scenario
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := start(cctx); err != nil {
			env.log().Error("the stopped node could not be started again: start it by hand (docker unpause)", "node", node, "err", err)
			env.note("node_start_failed", err.Error())
		}
	}()
	if err := poll(ctx, "wait for the control plane to mark "+node+" NotReady and its pods not Ready", func(ctx context.Context) (string, error) {
		n, err := env.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if nodeReady(n) {
			return node + " still Ready (the node monitor grace period has not passed)", nil
		}
		var ready []string
		for _, name := range onNode {
			p, err := env.Client.CoreV1().Pods(env.Target.Namespace).Get(ctx, name, metav1.GetOptions{})
			if err == nil && podReady(p) {
				ready = append(ready, name)
			}
		}
		if len(ready) > 0 {
			return "pods still Ready: " + strings.Join(ready, ", "), nil
		}
		return "", nil
	}); err != nil {
		return err
	}
	env.note("node_not_ready", node)
	env.verified("node %s stopped: NotReady, its pods %v not Ready", node, onNode)
	if s.Down > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(s.Down):
		}
	}
	if err := start(ctx); err != nil {
		return err
	}
	if err := poll(ctx, "wait for "+node+" to be Ready again", func(ctx context.Context) (string, error) {
		n, err := env.Client.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if !nodeReady(n) {
			return node + " not Ready", nil
		}
		return "", nil
	}); err != nil {
		return err
	}
	if err := WaitReady(ctx, env, len(ps)); err != nil {
		return err
	}
	env.verified("node %s Ready again, the workload whole (%d pods Ready)", node, len(ps))
	return nil
}

func nodeReady(n *corev1.Node) bool { return kube.NodeReady(n) }
