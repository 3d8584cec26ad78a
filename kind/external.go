package kind

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// ErrNotKind is returned by AttachConfig for a cluster whose nodes are not
// kind's: zerodrop loads the images it builds (its load generator, the
// fixture) into kind's node containers, and has no registry to push them to.
var ErrNotKind = errors.New("not a kind cluster")

// providerIDPrefix starts the spec.providerID kind gives every node:
// kind://<provider>/<cluster>/<node>.
const providerIDPrefix = "kind://"

// KindClusterName is the kind cluster a node belongs to, from its
// spec.providerID ("" when the node is not kind's).
func KindClusterName(n corev1.Node) string {
	id, ok := strings.CutPrefix(n.Spec.ProviderID, providerIDPrefix)
	if !ok {
		return ""
	}
	parts := strings.Split(id, "/")
	if len(parts) != 3 || parts[1] == "" {
		return ""
	}
	return parts[1]
}

// AttachConfig attaches to a running kind cluster zerodrop did not create,
// through the user's own client configuration (their kubeconfig and
// context): it writes no kubeconfig and creates nothing. The cluster is
// found by its nodes' providerID among the kind clusters of this host's
// Docker. Its host entry points are the control-plane node's own address
// on the kind network only: it has none of zerodrop's 127.0.0.1 mappings.
func AttachConfig(ctx context.Context, cfg *rest.Config, log *slog.Logger) (*Cluster, error) {
	if log == nil {
		log = phase.Discard()
	}
	cs, nodes, err := clusterNodes(ctx, cfg)
	if err != nil {
		return nil, err
	}
	name := ""
	for _, n := range nodes.Items {
		got := KindClusterName(n)
		if got == "" {
			return nil, fmt.Errorf("kind: the cluster at %s: %w: node %s has providerID %q, not kind://<provider>/<cluster>/<node>", cfg.Host, ErrNotKind, n.Name, n.Spec.ProviderID)
		}
		if name != "" && got != name {
			return nil, fmt.Errorf("kind: the cluster at %s has nodes of two kind clusters, %s and %s", cfg.Host, name, got)
		}
		name = got
	}
	p := newProvider(log)
	existing, err := p.List()
	if err != nil {
		return nil, fmt.Errorf("kind: list clusters: %w", err)
	}
	if !contains(existing, name) {
		return nil, fmt.Errorf("kind: the cluster at %s is kind cluster %q, which this host's Docker does not run (it runs %s): zerodrop loads its images into the node containers", cfg.Host, name, strings.Join(existing, ", "))
	}
	cl, err := klient.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("kind: client: %w", err)
	}
	spec := Spec{Name: name, Workers: len(nodes.Items) - 1, KubeProxyMode: kubeProxyMode(ctx, cs), PortMappings: []PortMapping{}}
	c := &Cluster{Spec: spec, Provider: p, Client: cl, Reused: true, External: true, log: log}
	if ns, err := p.ListNodes(name); err == nil && len(ns) > 0 {
		if img, err := nodeImage(ns[0].String()); err == nil {
			c.Spec.NodeImage = img
		}
	}
	return c, nil
}

// clusterNodes is a client of the cluster cfg reaches and its nodes (at
// least one).
func clusterNodes(ctx context.Context, cfg *rest.Config) (kubernetes.Interface, *corev1.NodeList, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kind: client: %w", err)
	}
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, nil, fmt.Errorf("kind: list the cluster's nodes (%s): %w", cfg.Host, err)
	}
	if len(nodes.Items) == 0 {
		return nil, nil, fmt.Errorf("kind: the cluster at %s has no nodes", cfg.Host)
	}
	return cs, nodes, nil
}

// kubeProxyMode reads kube-proxy's mode from its ConfigMap as kubeadm
// writes it ("unknown" when it cannot be read; kube-proxy's default,
// iptables, when the field is empty).
func kubeProxyMode(ctx context.Context, cs kubernetes.Interface) string {
	cm, err := cs.CoreV1().ConfigMaps("kube-system").Get(ctx, "kube-proxy", metav1.GetOptions{})
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(cm.Data["config.conf"], "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "mode:"); ok {
			v = strings.Trim(strings.TrimSpace(v), `"'`)
			if v == "" {
				return "iptables"
			}
			return v
		}
	}
	return "unknown"
}

// ExternalEntries are the host entry points of a cluster zerodrop did not
// create: the node port on the control-plane node's address, when this host
// reaches it. Only the nodeport path: the ingress and gateway paths use
// zerodrop's own Traefik, which it installs only in its own clusters.
func (c *Cluster) externalEntries(ctx context.Context) ([]Entry, error) {
	ip, err := c.controlPlaneIP()
	if err != nil {
		return nil, err
	}
	// a node port with no Service behind it refuses: reachable proves only
	// that the address is routed from here
	addr := net.JoinHostPort(ip, strconv.Itoa(int(DefaultPortMappings[0].ContainerPort)))
	if !reachable(ctx, addr) {
		return nil, fmt.Errorf("kind: cluster %s: its control-plane node's address %s is not reachable from this host: the nodeport path needs it (load the in-cluster paths only: clusterip, headless)", c.Spec.Name, ip)
	}
	return []Entry{{Name: DefaultPortMappings[0].Name, Addr: addr, Direct: true}}, nil
}
