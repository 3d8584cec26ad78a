package kind

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/internal/kube"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/e2e-framework/klient/k8s/resources"
	"sigs.k8s.io/e2e-framework/klient/wait"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// WaitReady waits until the cluster is ready in the sense that matters for
// traffic: every node Ready, and every kube-system pod Ready (CoreDNS, the pod
// network and kube-proxy on every node among them). Pod-to-pod traffic across
// nodes and DNS are proven by CheckTraffic, which needs a workload image.
// On timeout the error says what was still pending.
func (c *Cluster) WaitReady(ctx context.Context) error {
	done := phase.Start(c.log, "wait for cluster ready", "name", c.Spec.Name)
	want := 1 + c.Spec.Workers
	pending := "nothing checked yet"
	cond := func(ctx context.Context) (bool, error) {
		p, err := readiness(ctx, c.Client.Resources(), want)
		if err != nil {
			pending = err.Error()
			return false, nil // the API server may not answer yet
		}
		pending = p
		return p == "", nil
	}
	err := wait.For(cond, wait.WithContext(ctx), wait.WithInterval(time.Second), wait.WithImmediate(), wait.WithTimeout(deadline(ctx, 5*time.Minute)))
	if err != nil {
		return done(fmt.Errorf("kind: cluster %q not ready: %s (%w)", c.Spec.Name, pending, err))
	}
	return done(nil)
}

func deadline(ctx context.Context, def time.Duration) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return def
}

// readiness returns "" when ready, else what is pending.
func readiness(ctx context.Context, r *resources.Resources, wantNodes int) (string, error) {
	var nodes corev1.NodeList
	if err := r.List(ctx, &nodes); err != nil {
		return "", fmt.Errorf("list nodes: %w", err)
	}
	var pods corev1.PodList
	if err := r.WithNamespace("kube-system").List(ctx, &pods); err != nil {
		return "", fmt.Errorf("list kube-system pods: %w", err)
	}
	return pendingReadiness(nodes.Items, pods.Items, wantNodes), nil
}

// pendingReadiness is the pure part of readiness.
func pendingReadiness(nodes []corev1.Node, pods []corev1.Pod, wantNodes int) string {
	var pending []string
	if len(nodes) != wantNodes {
		pending = append(pending, fmt.Sprintf("%d of %d nodes registered", len(nodes), wantNodes))
	}
	for _, n := range nodes {
		if !nodeReady(n) {
			pending = append(pending, "node "+n.Name+" not Ready")
		}
	}
	perNode := map[string]map[string]bool{} // node -> app -> present
	dns := 0
	for _, p := range pods {
		app := p.Labels["k8s-app"]
		if app == "kube-dns" {
			dns++
		}
		if p.Spec.NodeName != "" {
			if perNode[p.Spec.NodeName] == nil {
				perNode[p.Spec.NodeName] = map[string]bool{}
			}
			perNode[p.Spec.NodeName][app] = true
		}
		if p.Status.Phase == corev1.PodSucceeded {
			continue
		}
		if !PodReady(&p) {
			pending = append(pending, fmt.Sprintf("pod kube-system/%s %s", p.Name, podState(&p)))
		}
	}
	if dns == 0 {
		pending = append(pending, "no CoreDNS pod yet")
	}
	for _, n := range nodes {
		if !perNode[n.Name]["kube-proxy"] {
			pending = append(pending, "no kube-proxy on "+n.Name)
		}
	}
	sort.Strings(pending)
	return strings.Join(pending, "; ")
}

func nodeReady(n corev1.Node) bool { return kube.NodeReady(&n) }

// PodReady reports the pod's Ready condition.
func PodReady(p *corev1.Pod) bool { return kube.PodReady(p) }

// podState describes why a pod is not ready, in the words kubectl uses.
func podState(p *corev1.Pod) string {
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil && w.Reason != "" {
			return fmt.Sprintf("%s (%s: %s)", w.Reason, cs.Name, truncate(w.Message, 200))
		}
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return fmt.Sprintf("terminated %s exit %d (%s)", t.Reason, t.ExitCode, cs.Name)
		}
	}
	return "phase " + string(p.Status.Phase) + ", not ready"
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
