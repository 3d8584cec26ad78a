package kind

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// Cluster is a running kind cluster with its own kubeconfig file, or a
// cluster zerodrop did not create (External): a kind cluster of this host
// (AttachConfig), or any cluster (AttachRemote, no Provider).
type Cluster struct {
	Spec Spec
	// Provider reaches the node containers; nil for a cluster that is not
	// a kind cluster of this host (AttachRemote).
	Provider *cluster.Provider
	Client   klient.Client
	// Reused is true when Up found a healthy, matching cluster instead of creating one.
	Reused bool
	// External is true for a kind cluster zerodrop did not create
	// (AttachConfig): the user's client configuration, no kubeconfig of its
	// own, none of zerodrop's port mappings.
	External bool
	log      *slog.Logger
}

// UpOptions configure Up.
type UpOptions struct {
	Log          *slog.Logger
	ReadyTimeout time.Duration // default 5m
	// Recreate deletes a same-named cluster that does not match the spec or is
	// unhealthy, instead of failing.
	Recreate bool
	// LogsDir receives kind's logs when creation fails (default: logs/ beside the kubeconfig).
	LogsDir string
}

func newProvider(log *slog.Logger) *cluster.Provider {
	return cluster.NewProvider(cluster.ProviderWithDocker(), cluster.ProviderWithLogger(kindLogger{log}))
}

// Up creates the cluster, or reuses a same-named one when it is healthy and
// matches the spec, and waits until it is really ready.
func Up(ctx context.Context, spec Spec, o UpOptions) (*Cluster, error) {
	spec = spec.Defaults()
	log := o.Log
	if log == nil {
		log = phase.Discard()
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 5 * time.Minute
	}
	cfg, err := Render(spec, DetectHost())
	if err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	if spec.NodeImage == "" {
		return nil, errors.New("kind: no node image: choose a mode (ResolveNodeImage) or set cluster.nodeImage")
	}
	p := newProvider(log)
	c := &Cluster{Spec: spec, Provider: p, log: log}

	existing, err := p.List()
	if err != nil {
		return nil, fmt.Errorf("kind: list clusters: %w", err)
	}
	if contains(existing, spec.Name) {
		problem := c.mismatch()
		if problem == "" {
			if err := c.connect(); err == nil {
				rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
				err = c.WaitReady(rctx)
				cancel()
				if err == nil {
					c.guardServiceSubnet()
					err = c.pinDNS(ctx)
				}
				if err == nil {
					c.Reused = true
					log.Info("reusing healthy cluster", "name", spec.Name, "kubeconfig", spec.KubeconfigPath)
					return c, nil
				}
				problem = "it is not healthy: " + err.Error()
			} else {
				problem = "its kubeconfig cannot be written: " + err.Error()
			}
		}
		if !o.Recreate {
			return nil, fmt.Errorf("kind: cluster %q exists but %s; delete it (`zerodrop down --name %s`) or pass --recreate", spec.Name, problem, spec.Name)
		}
		log.Info("recreating cluster", "name", spec.Name, "reason", problem)
		if err := Down(ctx, spec, log); err != nil {
			return nil, err
		}
	}

	if err := os.MkdirAll(filepath.Dir(spec.KubeconfigPath), 0o700); err != nil {
		return nil, fmt.Errorf("kind: kubeconfig dir: %w", err)
	}
	done := phase.Start(log, "create cluster", "name", spec.Name, "image", spec.NodeImage, "workers", spec.Workers)
	err = p.Create(spec.Name,
		cluster.CreateWithV1Alpha4Config(cfg),
		cluster.CreateWithKubeconfigPath(spec.KubeconfigPath),
		cluster.CreateWithRetain(true), // keep failed nodes long enough to collect their logs
		cluster.CreateWithWaitForReady(0),
		cluster.CreateWithDisplayUsage(false),
		cluster.CreateWithDisplaySalutation(false),
	)
	phase.Live(log, "kind") // its status ends with it
	if err != nil {
		dir := o.LogsDir
		if dir == "" {
			dir = filepath.Join(filepath.Dir(spec.KubeconfigPath), "logs", spec.Name+"-"+time.Now().Format("20060102-150405"))
		}
		if lerr := p.CollectLogs(spec.Name, dir); lerr == nil {
			err = fmt.Errorf("%w (node logs in %s)", err, dir)
		}
		_ = p.Delete(spec.Name, spec.KubeconfigPath)
		return nil, done(fmt.Errorf("kind: create cluster %q: %w", spec.Name, withOutput(err)))
	}
	if err := done(nil); err != nil {
		return nil, err
	}
	if err := os.Chmod(spec.KubeconfigPath, 0o600); err != nil {
		return nil, fmt.Errorf("kind: %w", err)
	}
	if err := c.connect(); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, o.ReadyTimeout)
	defer cancel()
	if err := c.WaitReady(rctx); err != nil {
		return nil, err
	}
	c.guardServiceSubnet()
	if err := c.pinDNS(rctx); err != nil {
		return nil, err
	}
	return c, nil
}

// ErrNoCluster is Attach's error when no kind cluster has the spec's name;
// how to create one is the caller's to say (its commands, its flags).
var ErrNoCluster = errors.New("kind: no such cluster")

// Attach returns the running cluster of the spec without creating anything.
func Attach(spec Spec, log *slog.Logger) (*Cluster, error) {
	spec = spec.Defaults()
	if log == nil {
		log = phase.Discard()
	}
	p := newProvider(log)
	existing, err := p.List()
	if err != nil {
		return nil, fmt.Errorf("kind: list clusters: %w", err)
	}
	if !contains(existing, spec.Name) {
		return nil, fmt.Errorf("%w: %q", ErrNoCluster, spec.Name)
	}
	c := &Cluster{Spec: spec, Provider: p, log: log, Reused: true}
	if c.Spec.NodeImage == "" {
		// what the running nodes use, for the outcome's environment
		if ns, err := p.ListNodes(spec.Name); err == nil && len(ns) > 0 {
			if img, err := nodeImage(ns[0].String()); err == nil {
				c.Spec.NodeImage = img
			}
		}
	}
	return c, c.connect()
}

// nodeImage is the image a node container runs.
func nodeImage(container string) (string, error) {
	out, err := kindexec.Output(kindexec.Command("docker", "inspect", "--format", "{{.Config.Image}}", container))
	return strings.TrimSpace(string(out)), err
}

// connect (re)writes the cluster's own kubeconfig and builds a client.
func (c *Cluster) connect() error {
	raw, err := c.Provider.KubeConfig(c.Spec.Name, false)
	if err != nil {
		return fmt.Errorf("kind: kubeconfig of %q: %w", c.Spec.Name, err)
	}
	if err := writeKubeconfig(c.Spec.KubeconfigPath, []byte(raw)); err != nil {
		return fmt.Errorf("kind: write kubeconfig: %w", err)
	}
	cl, err := klient.NewWithKubeConfigFile(c.Spec.KubeconfigPath)
	if err != nil {
		return fmt.Errorf("kind: client: %w", err)
	}
	c.Client = cl
	return nil
}

// mismatch says how the existing cluster differs from the spec ("" if it does not).
func (c *Cluster) mismatch() string {
	ns, err := c.Provider.ListNodes(c.Spec.Name)
	if err != nil {
		return "its nodes cannot be listed: " + err.Error()
	}
	workers, cps := 0, 0
	var images []string
	for _, n := range ns {
		role, _ := n.Role()
		switch role {
		case "control-plane":
			cps++
		case "worker":
			workers++
		}
		out, err := kindexec.Output(kindexec.Command("docker", "inspect", "--format", "{{.Config.Image}}", n.String()))
		if err == nil {
			images = append(images, strings.TrimSpace(string(out)))
		}
	}
	if cps != 1 || workers != c.Spec.Workers {
		return fmt.Sprintf("it has %d control-plane and %d worker nodes, the spec asks for 1 and %d", cps, workers, c.Spec.Workers)
	}
	for _, img := range images {
		if img != c.Spec.NodeImage {
			return fmt.Sprintf("its nodes run image %s, the spec asks for %s", img, c.Spec.NodeImage)
		}
	}
	return ""
}

// Nodes lists the cluster's node containers, sorted by name.
func (c *Cluster) Nodes() ([]nodes.Node, error) {
	if !c.IsKind() {
		return nil, fmt.Errorf("kind: cluster %s: %w: its nodes are not containers of this host", c.Spec.Name, ErrNotKind)
	}
	ns, err := c.Provider.ListNodes(c.Spec.Name)
	if err != nil {
		return nil, fmt.Errorf("kind: list nodes: %w", err)
	}
	sort.Slice(ns, func(i, j int) bool { return ns[i].String() < ns[j].String() })
	return ns, nil
}

// CollectLogs writes kind's node logs (journal, containerd, kubelet, pods) to dir.
func (c *Cluster) CollectLogs(dir string) error {
	if !c.IsKind() {
		return fmt.Errorf("kind: collect logs of %s: %w", c.Spec.Name, ErrNotKind)
	}
	if err := c.Provider.CollectLogs(c.Spec.Name, dir); err != nil {
		return fmt.Errorf("kind: collect logs: %w", err)
	}
	return nil
}

// Down deletes the cluster and its kubeconfig file. A missing cluster is not an error.
func Down(ctx context.Context, spec Spec, log *slog.Logger) error {
	spec = spec.Defaults()
	if log == nil {
		log = phase.Discard()
	}
	// kind removes the cluster's entries from the file, and the file goes too
	if err := notUserKubeconfig(spec.KubeconfigPath); err != nil {
		return fmt.Errorf("kind: %w", err)
	}
	done := phase.Start(log, "delete cluster", "name", spec.Name)
	if err := newProvider(log).Delete(spec.Name, spec.KubeconfigPath); err != nil {
		return done(fmt.Errorf("kind: delete cluster %q: %w", spec.Name, err))
	}
	if err := os.Remove(spec.KubeconfigPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		return done(fmt.Errorf("kind: %w", err))
	}
	// the host rule goes with the last kind cluster of this host
	if remaining, err := newProvider(log).List(); err == nil {
		if err := unguardServiceSubnet(remaining); err != nil {
			return done(err)
		}
	}
	return done(nil)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// withOutput appends a failed command's output, which kind keeps in RunError.
func withOutput(err error) error {
	if re := kindexec.RunErrorForError(err); re != nil && len(re.Output) > 0 {
		out := strings.TrimSpace(string(re.Output))
		if len(out) > 4000 {
			out = "..." + out[len(out)-4000:]
		}
		return fmt.Errorf("%w\n%s", err, out)
	}
	return err
}
