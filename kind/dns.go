package kind

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/zerodrop/zerodrop/internal/kube"
	"github.com/zerodrop/zerodrop/internal/phase"
)

// controlPlaneLabel marks kind's control-plane node; CoreDNS tolerates its taint.
const controlPlaneLabel = "node-role.kubernetes.io/control-plane"

// pinDNS keeps the cluster's DNS (CoreDNS) on the control-plane node, which
// no disruption drains or stops, as the in-cluster load generator is kept
// there. The in-cluster clients resolve the Service names through it for
// every new connection; a CoreDNS pod evicted by a worker's drain left
// lookups unanswered for seconds (bench-matrix-5: app-drain's drain cell,
// 52 timeouts on clusterip and on headless, every one "lookup ...: i/o
// timeout" or waiting on it, while the workload's own paths lost nothing):
// the harness's path failing, not the workload's shutdown. It is a change
// to zerodrop's own clusters only; on another cluster a failed lookup makes
// the path's load invalid (load: class dns).
func (c *Cluster) pinDNS(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(c.Client.RESTConfig())
	if err != nil {
		return fmt.Errorf("kind: client: %w", err)
	}
	deps := cs.AppsV1().Deployments("kube-system")
	d, err := deps.Get(ctx, "coredns", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil // no CoreDNS: nothing to keep in place
	}
	if err != nil {
		return fmt.Errorf("kind: read the coredns Deployment: %w", err)
	}
	if _, ok := d.Spec.Template.Spec.NodeSelector[controlPlaneLabel]; !ok {
		done := phase.Start(c.log, "keep CoreDNS on the control-plane node")
		patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"nodeSelector":{%q:""}}}}}`, controlPlaneLabel)
		if _, err := deps.Patch(ctx, "coredns", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			return done(fmt.Errorf("kind: patch the coredns Deployment: %w", err))
		}
		return done(c.waitDNSPinned(ctx, cs))
	}
	return c.waitDNSPinned(ctx, cs)
}

// waitDNSPinned waits until the rollout is done: every CoreDNS pod Ready on
// a control-plane node, none elsewhere.
func (c *Cluster) waitDNSPinned(ctx context.Context, cs kubernetes.Interface) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	return kube.Poll(ctx, time.Second, "kind: CoreDNS on the control-plane node", func(ctx context.Context) (string, error) {
		d, err := cs.AppsV1().Deployments("kube-system").Get(ctx, "coredns", metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		if d.Status.ObservedGeneration < d.Generation || d.Status.UpdatedReplicas != want || d.Status.ReadyReplicas != want || d.Status.Replicas != want {
			return fmt.Sprintf("rollout: %d of %d updated, %d ready, %d in all", d.Status.UpdatedReplicas, want, d.Status.ReadyReplicas, d.Status.Replicas), nil
		}
		pods, err := cs.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{LabelSelector: "k8s-app=kube-dns"})
		if err != nil {
			return "", err
		}
		nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: controlPlaneLabel})
		if err != nil {
			return "", err
		}
		cp := map[string]bool{}
		for _, n := range nodes.Items {
			cp[n.Name] = true
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				return fmt.Sprintf("pod %s still going", p.Name), nil
			}
			if !cp[p.Spec.NodeName] || !kube.PodReady(&p) {
				return fmt.Sprintf("pod %s on %q (Ready: %v)", p.Name, p.Spec.NodeName, kube.PodReady(&p)), nil
			}
		}
		return "", nil
	})
}
