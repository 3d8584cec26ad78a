package kind

import (
	"context"
	"fmt"
	"log/slog"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// AttachRemote attaches to any cluster through the user's client
// configuration, kind or not, as a cluster whose nodes zerodrop does not
// reach: its images come from a registry the cluster pulls from, load
// enters in-cluster only (no host entry points), and nothing acts on a
// node's container runtime. name labels it in outcomes (the kubeconfig
// context's name). It writes and creates nothing.
func AttachRemote(ctx context.Context, cfg *rest.Config, name string, log *slog.Logger) (*Cluster, error) {
	if log == nil {
		log = phase.Discard()
	}
	cs, nodes, err := clusterNodes(ctx, cfg)
	if err != nil {
		return nil, err
	}
	cl, err := klient.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("kind: client: %w", err)
	}
	if name == "" {
		name = cfg.Host
	}
	spec := Spec{Name: name, Workers: len(nodes.Items) - 1, KubeProxyMode: kubeProxyMode(ctx, cs), PortMappings: []PortMapping{}}
	return &Cluster{Spec: spec, Client: cl, Reused: true, External: true, log: log}, nil
}

// IsKind says whether zerodrop reaches the cluster's node containers (a
// kind cluster on this host's Docker): images load into them, host-side
// load enters at the control-plane node, ungraceful controls act in them.
func (c *Cluster) IsKind() bool { return c.Provider != nil }
