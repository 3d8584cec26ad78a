package factory

import "runtime"

// Versions pins every input of an air-gapped cluster. Each is a module version
// the Go module proxy serves; Suite is the Debian release of the node rootfs.
type Versions struct {
	Kubernetes string // k8s.io/kubernetes; staging modules at v0.<minor>.<patch>
	Etcd       string // go.etcd.io/etcd/server/v3
	EtcdTag    string // the image tag kubeadm expects for this etcd
	CoreDNS    string // github.com/coredns/coredns
	Containerd string // github.com/containerd/containerd/v2
	Crictl     string // sigs.k8s.io/cri-tools
	CNIPlugins string // github.com/containernetworking/plugins
	Suite      string // Debian suite for debootstrap
	Arch       string
}

// Default is what `zerodrop images` builds: Kubernetes v1.35.4 as kind v0.33.0 expects it.
var Default = Versions{
	Kubernetes: "v1.35.4",
	Etcd:       "v3.6.6",
	EtcdTag:    "3.6.6-0",
	CoreDNS:    "v1.13.1",
	Containerd: "v2.3.4",
	Crictl:     "v1.36.0",
	CNIPlugins: "v1.9.1",
	Suite:      "bookworm",
	Arch:       runtime.GOARCH,
}

// stagingVersion maps v1.35.4 to v0.35.4, the version of k8s.io/* staging modules.
func stagingVersion(k8s string) string {
	if len(k8s) > 2 && k8s[:2] == "v1" {
		return "v0" + k8s[2:]
	}
	return k8s
}
