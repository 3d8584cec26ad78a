package kind

import (
	"strings"
	"testing"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
)

func TestRenderDefault(t *testing.T) {
	cfg, err := Render(Spec{NodeImage: "zerodrop.local/kind-node:v1.35.4-abc", KubeconfigPath: "/tmp/k"}, HostFacts{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "zerodrop" || len(cfg.Nodes) != 3 {
		t.Fatalf("name %q nodes %d", cfg.Name, len(cfg.Nodes))
	}
	if cfg.Nodes[0].Role != v1alpha4.ControlPlaneRole || cfg.Nodes[1].Role != v1alpha4.WorkerRole || cfg.Nodes[2].Role != v1alpha4.WorkerRole {
		t.Fatalf("roles %v %v %v", cfg.Nodes[0].Role, cfg.Nodes[1].Role, cfg.Nodes[2].Role)
	}
	if cfg.Networking.APIServerAddress != "127.0.0.1" || cfg.Networking.KubeProxyMode != "iptables" {
		t.Fatalf("networking %+v", cfg.Networking)
	}
	for _, n := range cfg.Nodes {
		if n.Image != "zerodrop.local/kind-node:v1.35.4-abc" {
			t.Fatalf("node image %q", n.Image)
		}
	}
	pm := cfg.Nodes[0].ExtraPortMappings
	if len(pm) != 3 {
		t.Fatalf("port mappings %+v", pm)
	}
	for _, p := range pm {
		if p.ListenAddress != "127.0.0.1" {
			t.Fatalf("mapping %+v not bound to loopback", p)
		}
	}
	if len(cfg.KubeadmConfigPatches) != 0 {
		t.Fatalf("cgroup v2 host got patches %v", cfg.KubeadmConfigPatches)
	}
}

func TestRenderCgroupV1AndNftables(t *testing.T) {
	cfg, err := Render(Spec{Name: "x", Workers: 1, KubeProxyMode: "nftables", KubeconfigPath: "/tmp/k"}, HostFacts{CgroupV1: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Nodes) != 2 || cfg.Networking.KubeProxyMode != "nftables" {
		t.Fatalf("%+v", cfg)
	}
	if len(cfg.KubeadmConfigPatches) != 1 || !strings.Contains(cfg.KubeadmConfigPatches[0], "failCgroupV1: false") {
		t.Fatalf("patches %v", cfg.KubeadmConfigPatches)
	}
}

func TestValidateNamesFieldAndFix(t *testing.T) {
	cases := map[string]Spec{
		"cluster.name":                          {Name: "Bad_Name"},
		"cluster.workers":                       {Workers: 11},
		"cluster.kubeProxyMode":                 {KubeProxyMode: "ipvs"},
		"cluster.portMappings[0].containerPort": {PortMappings: []PortMapping{{Name: "a", ContainerPort: 80, HostPort: 30080}}},
		"cluster.portMappings[1].hostPort":      {PortMappings: []PortMapping{{Name: "a", ContainerPort: 30080, HostPort: 30080}, {Name: "b", ContainerPort: 30081, HostPort: 30080}}},
	}
	for field, s := range cases {
		s.KubeconfigPath = "/tmp/k"
		err := s.Defaults().Validate()
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: got %v", field, err)
		}
	}
	if err := (Spec{KubeconfigPath: "/tmp/k"}).Defaults().Validate(); err != nil {
		t.Fatalf("default spec invalid: %v", err)
	}
}

func TestImageVersion(t *testing.T) {
	for ref, want := range map[string]string{
		"kindest/node:v1.35.4@sha256:abc":         "v1.35.4",
		"zerodrop.local/kind-node:v1.35.4-0123ab": "v1.35.4",
		"localhost:5000/node":                     "",
	} {
		if got := ImageVersion(ref); got != want {
			t.Errorf("ImageVersion(%q) = %q, want %q", ref, got, want)
		}
	}
}

// TestRenderBindsLoopbackOnly: whatever the spec, nothing of the cluster
// listens beyond this machine: the API server and every port mapping of
// every node bind 127.0.0.1.
func TestRenderBindsLoopbackOnly(t *testing.T) {
	specs := []Spec{
		{KubeconfigPath: "/tmp/k"},
		{Name: "wide", Workers: 4, KubeconfigPath: "/tmp/k", KubeProxyMode: "nftables", PortMappings: []PortMapping{
			{Name: "nodeport", ContainerPort: 30080, HostPort: 8080}, {Name: "extra", ContainerPort: 32000, HostPort: 32000}}},
	}
	for _, s := range specs {
		for _, host := range []HostFacts{{}, {CgroupV1: true}} {
			cfg, err := Render(s, host)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Networking.APIServerAddress != "127.0.0.1" {
				t.Errorf("%s: API server address %q", cfg.Name, cfg.Networking.APIServerAddress)
			}
			n := 0
			for _, node := range cfg.Nodes {
				for _, p := range node.ExtraPortMappings {
					n++
					if p.ListenAddress != "127.0.0.1" {
						t.Errorf("%s: node %s maps %d on %q", cfg.Name, node.Role, p.HostPort, p.ListenAddress)
					}
				}
			}
			if want := len(s.Defaults().PortMappings); n != want {
				t.Errorf("%s: %d port mappings rendered, want %d", cfg.Name, n, want)
			}
		}
	}
}
