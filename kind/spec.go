// Package kind manages the clusters zerodrop runs on, with kind's Go library:
// a Spec rendered by a pure function into kind's v1alpha4 config; create,
// reuse (only when healthy and matching), delete; readiness waits that mean
// ready; and image loading into every node.
package kind

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/kind/pkg/apis/config/defaults"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

// Loopback is where the API server and every port mapping bind: nothing of a
// test cluster is reachable from outside this machine.
const Loopback = "127.0.0.1"

// PortMapping exposes a node port of the control-plane node on 127.0.0.1.
type PortMapping struct {
	Name          string // path label: nodeport, ingress, gateway
	ContainerPort int32
	HostPort      int32
}

// Spec says what cluster to run. The zero value, after Defaults, is the
// embedded default: "zerodrop", 1 control plane + 2 workers.
type Spec struct {
	Name           string
	Workers        int
	NodeImage      string // empty: chosen by mode (stock kind image online, factory image air-gapped)
	KubeconfigPath string // the cluster's own kubeconfig (KubeconfigPath); never ~/.kube/config
	KubeProxyMode  string // iptables (default) or nftables
	PortMappings   []PortMapping
}

// DefaultPortMappings are the host entry points of the traffic paths.
var DefaultPortMappings = []PortMapping{
	{Name: "nodeport", ContainerPort: 30080, HostPort: 30080},
	{Name: "ingress", ContainerPort: 30081, HostPort: 30081},
	{Name: "gateway", ContainerPort: 30082, HostPort: 30082},
}

// DefaultName is the embedded default cluster's name.
const DefaultName = "zerodrop"

// Defaults fills unset fields.
func (s Spec) Defaults() Spec {
	if s.Name == "" {
		s.Name = DefaultName
	}
	if s.Workers == 0 {
		s.Workers = 2
	}
	if s.KubeProxyMode == "" {
		s.KubeProxyMode = "iptables"
	}
	if s.PortMappings == nil {
		s.PortMappings = append([]PortMapping(nil), DefaultPortMappings...)
	}
	return s
}

// KubeconfigPath is where a cluster's own kubeconfig lives in a state
// directory (the caller resolves the directory: $ZERODROP_STATE, ~/.zerodrop).
func KubeconfigPath(stateDir, name string) string {
	return filepath.Join(stateDir, name+".kubeconfig")
}

var nameRe = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate names the field and the fix for every problem, before any cluster work.
func (s Spec) Validate() error {
	var errs []error
	if !nameRe.MatchString(s.Name) || len(s.Name) > 40 {
		errs = append(errs, fmt.Errorf("cluster.name %q: use lowercase letters, digits and '-', at most 40 characters", s.Name))
	}
	if s.Workers < 1 || s.Workers > 10 {
		errs = append(errs, fmt.Errorf("cluster.workers %d: use 1 to 10 (drains need at least 1 worker besides the one drained; 2 is the default)", s.Workers))
	}
	if s.KubeProxyMode != "iptables" && s.KubeProxyMode != "nftables" {
		errs = append(errs, fmt.Errorf("cluster.kubeProxyMode %q: use iptables or nftables", s.KubeProxyMode))
	}
	if s.KubeconfigPath == "" {
		errs = append(errs, errors.New("cluster.kubeconfig: empty: give the cluster its own kubeconfig file (zerodrop uses $ZERODROP_STATE/<name>.kubeconfig)"))
	}
	if err := notUserKubeconfig(s.KubeconfigPath); s.KubeconfigPath != "" && err != nil {
		errs = append(errs, fmt.Errorf("cluster.%w", err))
	}
	seenHost, seenName := map[int32]bool{}, map[string]bool{}
	for i, p := range s.PortMappings {
		if p.ContainerPort < 30000 || p.ContainerPort > 32767 {
			errs = append(errs, fmt.Errorf("cluster.portMappings[%d].containerPort %d: use a NodePort (30000-32767)", i, p.ContainerPort))
		}
		if p.HostPort < 1024 || p.HostPort > 65535 {
			errs = append(errs, fmt.Errorf("cluster.portMappings[%d].hostPort %d: use 1024-65535", i, p.HostPort))
		}
		if seenHost[p.HostPort] {
			errs = append(errs, fmt.Errorf("cluster.portMappings[%d].hostPort %d: used twice", i, p.HostPort))
		}
		if seenName[p.Name] || p.Name == "" {
			errs = append(errs, fmt.Errorf("cluster.portMappings[%d].name %q: give each mapping a unique name", i, p.Name))
		}
		seenHost[p.HostPort], seenName[p.Name] = true, true
	}
	return errors.Join(errs...)
}

// HostFacts are the facts about this machine the config depends on.
type HostFacts struct {
	CgroupV1 bool
}

// failCgroupV1Patch lets kubelet >= 1.35 run on cgroup v1 hosts.
const failCgroupV1Patch = `kind: KubeletConfiguration
failCgroupV1: false
`

// Render turns a Spec into kind's config. Pure: same inputs, same config.
func Render(s Spec, host HostFacts) (*v1alpha4.Cluster, error) {
	s = s.Defaults()
	if err := s.Validate(); err != nil {
		return nil, err
	}
	cfg := &v1alpha4.Cluster{
		TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"},
		Name:     s.Name,
		Networking: v1alpha4.Networking{
			APIServerAddress: Loopback,
			KubeProxyMode:    v1alpha4.ProxyMode(s.KubeProxyMode),
		},
	}
	cp := v1alpha4.Node{Role: v1alpha4.ControlPlaneRole, Image: s.NodeImage}
	for _, p := range s.PortMappings {
		cp.ExtraPortMappings = append(cp.ExtraPortMappings, v1alpha4.PortMapping{
			ContainerPort: p.ContainerPort, HostPort: p.HostPort, ListenAddress: Loopback, Protocol: v1alpha4.PortMappingProtocolTCP,
		})
	}
	cfg.Nodes = append(cfg.Nodes, cp)
	for i := 0; i < s.Workers; i++ {
		cfg.Nodes = append(cfg.Nodes, v1alpha4.Node{Role: v1alpha4.WorkerRole, Image: s.NodeImage})
	}
	if host.CgroupV1 {
		cfg.KubeadmConfigPatches = append(cfg.KubeadmConfigPatches, failCgroupV1Patch)
	}
	v1alpha4.SetDefaultsCluster(cfg)
	return cfg, nil
}

// DetectHost reads the host facts.
func DetectHost() HostFacts {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return HostFacts{CgroupV1: err != nil}
}

// StockNodeImage is kind's own default node image (online mode).
const StockNodeImage = defaults.Image

// ImageVersion extracts the Kubernetes version from a node image reference
// (kindest/node:v1.35.4@sha256:..., zerodrop.local/kind-node:v1.35.4-abc).
func ImageVersion(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	_, tag, ok := strings.Cut(ref[strings.LastIndex(ref, "/")+1:], ":")
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(tag, "-")
	return v
}
