package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/zerodrop/zerodrop/cmd/zerodrop/inputs"
	"github.com/zerodrop/zerodrop/kind"
)

// plainCluster is the kind cluster TestRunOnAPlainKindCluster creates as a
// user would, beside zerodrop's own.
const plainCluster = "zd-plain"

// TestRunOnAPlainKindCluster creates a kind cluster the way `kind create
// cluster --image <node image>` does (kind's library and its default
// configuration: one node, no port mappings, nothing of zerodrop's; on a
// cgroup v1 host the kubelet patch every kind cluster needs there) and
// runs zerodrop on it through --kubeconfig: a matrix cell of the fixture
// passes, the example scenario file (a user's app) is judged as it expects,
// a node-level disruption without --allow-node-disruptions is refused with
// exit status 2, the same cell passes with the cluster taken as any
// cluster (--registry: its images pushed to a registry on this host that
// the node pulls from), and no namespace of zerodrop's is left. A second cluster
// takes a minute and the machine's cores: ZERODROP_EXTERNAL=1 (make
// test-external) runs it.
func TestRunOnAPlainKindCluster(t *testing.T) {
	if testing.Short() || os.Getenv("ZERODROP_EXTERNAL") == "" {
		t.Skip("creates a second cluster: ZERODROP_EXTERNAL=1 (make test-external)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	in := inputs.Resolve(ctx, kind.Auto, "", "")
	image, err := kind.ResolveNodeImage(in.Mode, in.CacheDir)
	if err != nil {
		t.Fatal(err)
	}
	example := filepath.Join("..", "..", "docs", "examples", "plain-app", "plain-app.tar")
	if _, err := os.Stat(example); err != nil {
		t.Fatalf("the example app's image archive: %v (make example-image writes it)", err)
	}
	bin := buildZerodrop(t)
	kubeconfig := filepath.Join(t.TempDir(), "plain.kubeconfig")
	p := cluster.NewProvider(cluster.ProviderWithDocker())
	if existing, _ := p.List(); slices.Contains(existing, plainCluster) {
		if err := p.Delete(plainCluster, ""); err != nil {
			t.Fatal(err)
		}
	}
	// kind's default configuration; on a cgroup v1 host (this project's
	// machines) the kubelet of Kubernetes >= 1.35 refuses to start unless
	// told otherwise, in any kind cluster: `kind create cluster --config`
	// with this one patch is what a user here runs
	plain := &v1alpha4.Cluster{TypeMeta: v1alpha4.TypeMeta{Kind: "Cluster", APIVersion: "kind.x-k8s.io/v1alpha4"}}
	// kind's documented recipe for a local registry: containerd reads
	// per-registry hosts files, so a node can pull from a plain-HTTP one
	plain.ContainerdConfigPatches = []string{"[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n"}
	if kind.DetectHost().CgroupV1 {
		plain.KubeadmConfigPatches = []string{"kind: KubeletConfiguration\nfailCgroupV1: false\n"}
	}
	t.Logf("kind create cluster --name %s --image %s (%d kubeadm patches)", plainCluster, image, len(plain.KubeadmConfigPatches))
	if err := p.Create(plainCluster, cluster.CreateWithV1Alpha4Config(plain), cluster.CreateWithNodeImage(image), cluster.CreateWithKubeconfigPath(kubeconfig),
		cluster.CreateWithWaitForReady(3*time.Minute), cluster.CreateWithDisplayUsage(false), cluster.CreateWithDisplaySalutation(false)); err != nil {
		t.Fatalf("create %s: %v", plainCluster, err)
	}
	t.Cleanup(func() {
		if err := p.Delete(plainCluster, kubeconfig); err != nil {
			t.Errorf("delete %s: %v", plainCluster, err)
		}
	})

	zerodrop := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &exit):
			return string(out), exit.ExitCode()
		}
		t.Fatalf("zerodrop %s: %v\n%s", strings.Join(args, " "), err, out)
		return "", -1
	}
	tail := func(s string) string {
		if len(s) > 4000 {
			return s[len(s)-4000:]
		}
		return s
	}

	out, code := zerodrop("matrix", "--kubeconfig", kubeconfig, "--profiles", "naive", "--disruptions", "drain",
		"--paths", "nodeport,clusterip", "--no-extras", "--out", t.TempDir())
	if code != 2 || !strings.Contains(out, "pass --allow-node-disruptions to allow it") {
		t.Errorf("a drain on a cluster zerodrop did not create, without --allow-node-disruptions: exit %d\n%s", code, tail(out))
	}

	cell := t.TempDir()
	out, code = zerodrop("matrix", "--kubeconfig", kubeconfig, "--profiles", "prestop-and-drain", "--disruptions", "delete",
		"--paths", "nodeport,clusterip,headless", "--no-extras", "--out", cell)
	if code != 0 {
		t.Errorf("a matrix cell on %s: exit %d\n%s", plainCluster, code, tail(out))
	}
	if !strings.Contains(out, "ok     prestop-and-drain_delete-1_deployment: pass, expected pass") {
		t.Errorf("the cell's verdict:\n%s", tail(out))
	}

	files := t.TempDir()
	out, code = zerodrop("run", "--kubeconfig", kubeconfig, "-f", filepath.Join("..", "..", "docs", "examples", "plain-app-prestop", "zerodrop.yaml"), "--out", files)
	if code != 0 {
		t.Errorf("the example scenario file on %s: exit %d\n%s", plainCluster, code, tail(out))
	}

	// the same cluster as any cluster: its images from a registry its node
	// pulls from, load in-cluster only
	out, code = zerodrop("matrix", "--kubeconfig", kubeconfig, "--registry", "localhost:5000", "--profiles", "prestop-and-drain", "--disruptions", "delete",
		"--paths", "nodeport,clusterip", "--no-extras", "--out", t.TempDir())
	if code != 2 || !strings.Contains(out, "the nodeport path enters from this host at a kind node's address") {
		t.Errorf("the nodeport path with --registry: exit %d\n%s", code, tail(out))
	}
	reg := startRegistry(t, p)
	pushed := t.TempDir()
	out, code = zerodrop("matrix", "--kubeconfig", kubeconfig, "--registry", reg.addr+"/zerodrop", "--profiles", "prestop-and-drain", "--disruptions", "delete",
		"--paths", "clusterip,headless", "--no-extras", "--out", pushed)
	if code != 0 || !strings.Contains(out, "ok     prestop-and-drain_delete-1_deployment: pass, expected pass") {
		t.Errorf("a matrix cell through --registry %s: exit %d\n%s", reg.addr, code, tail(out))
	}
	// the node pulled what zerodrop pushed: the images' manifests, asked for by a node's address
	if got := reg.pulls(); len(got) < 2 {
		t.Errorf("manifests pulled from the registry by the node: %v, want the load generator's and the fixture's", got)
	} else {
		t.Logf("the node asked the registry for %d manifests: %v", len(got), got)
	}
	cs := clientsetOf(t, kubeconfig)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, ns := range nss.Items {
			if strings.HasPrefix(ns.Name, "zd-") {
				left = append(left, ns.Name+" ("+string(ns.Status.Phase)+")")
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("namespaces left on %s: %s", plainCluster, strings.Join(left, ", "))
		}
		time.Sleep(2 * time.Second)
	}
}

// hostRegistry is an in-process registry (go-containerregistry's) where the
// plain cluster's node reaches this host: the kind network's gateway.
type hostRegistry struct {
	addr string // gateway:port
	mu   sync.Mutex
	got  []string // manifests asked for by a node: "GET /v2/.../manifests/<tag>"
}

func (r *hostRegistry) pulls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// startRegistry serves a registry on the kind network's gateway address
// (reachable from the node containers and this host only) and tells the
// plain cluster's containerd to pull from it over plain HTTP, through a
// hosts file as kind's local-registry recipe writes one.
func startRegistry(t *testing.T, p *cluster.Provider) *hostRegistry {
	t.Helper()
	gw, err := exec.Command("docker", "network", "inspect", "kind", "--format", "{{range .IPAM.Config}}{{.Gateway}} {{end}}").Output()
	if err != nil {
		t.Fatalf("the kind network's gateway: %v", err)
	}
	var ip string
	for _, a := range strings.Fields(string(gw)) {
		if addr := net.ParseIP(a); addr != nil && addr.To4() != nil {
			ip = a
		}
	}
	if ip == "" {
		t.Fatalf("the kind network has no IPv4 gateway: %q", gw)
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	r := &hostRegistry{addr: l.Addr().String()}
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		host, _, _ := net.SplitHostPort(req.RemoteAddr)
		if host != ip && strings.Contains(req.URL.Path, "/manifests/") {
			r.mu.Lock()
			r.got = append(r.got, req.Method+" "+req.URL.Path)
			r.mu.Unlock()
		}
		h.ServeHTTP(w, req)
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	nodes, err := p.ListNodes(plainCluster)
	if err != nil || len(nodes) == 0 {
		t.Fatalf("the plain cluster's nodes: %v (%d)", err, len(nodes))
	}
	hosts := fmt.Sprintf("server = \"http://%s\"\n\n[host.\"http://%s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", r.addr, r.addr)
	dir := "/etc/containerd/certs.d/" + r.addr
	for _, n := range nodes {
		cmd := n.Command("sh", "-c", "mkdir -p '"+dir+"' && cat > '"+dir+"/hosts.toml'")
		cmd.SetStdin(strings.NewReader(hosts))
		if err := cmd.Run(); err != nil {
			t.Fatalf("hosts file on %s: %v", n, err)
		}
	}
	return r
}
