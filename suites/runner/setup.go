package runner

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"k8s.io/client-go/rest"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/zerodrop/zerodrop/internal/phase"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/kind/addons/kruise"
	"github.com/zerodrop/zerodrop/kind/addons/traefik"
	"github.com/zerodrop/zerodrop/kind/factory"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/workload"
)

// SetupOptions are the explicit inputs of Setup, resolved by the entry point.
type SetupOptions struct {
	Cluster *kind.Cluster
	Mode    kind.Mode // online or airgapped: where addon images come from
	// CacheDir caches built images; SourceDir is the zerodrop module the
	// fixture and load generator images are built from.
	CacheDir  string
	SourceDir string
	OutDir    string
	// Publish makes the images zerodrop builds pullable by the cluster's
	// nodes (nil: load them into the kind nodes, Cluster.LoadImages); a
	// registry's publisher renames them.
	Publish Publisher
	Log     *slog.Logger
}

// Publisher makes images (tag -> docker archive) available to a cluster's
// nodes and returns the reference a pod names for each tag.
type Publisher interface {
	Publish(ctx context.Context, images map[string]string) (map[string]string, error)
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, images map[string]string) (map[string]string, error)

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, images map[string]string) (map[string]string, error) {
	return f(ctx, images)
}

// LoadInto publishes into a kind cluster's nodes: the tags stay as they are.
func LoadInto(c *kind.Cluster) Publisher {
	return PublisherFunc(func(ctx context.Context, images map[string]string) (map[string]string, error) {
		if err := c.LoadImages(ctx, images); err != nil {
			return nil, err
		}
		refs := make(map[string]string, len(images))
		for tag := range images {
			refs[tag] = tag
		}
		return refs, nil
	})
}

// Setup prepares what the scenarios need on a kind cluster and returns the
// Runtime to run them: the fixture and load generator images (built here,
// loaded into every node), the ingress controller when a scenario loads the
// ingress or gateway path, OpenKruise and the fixture's second image when
// one runs a CloneSet, and the environment every outcome records.
func Setup(ctx context.Context, o SetupOptions, scenarios []suites.Scenario) (Runtime, error) {
	log := o.Log
	if log == nil {
		log = phase.Discard()
	}
	c := o.Cluster
	publish := o.Publish
	if publish == nil {
		publish = LoadInto(c)
	}
	var needIngress, needKruise, needFixture bool
	appImages := map[string]string{}
	for _, s := range scenarios {
		needIngress = needIngress || s.Uses(suites.PathIngress, suites.PathGateway)
		needKruise = needKruise || s.Workload == workload.CloneSet || s.UsesSidecarSet()
		needFixture = needFixture || s.App == nil
		if s.App != nil {
			for tag, archive := range s.App.Images {
				appImages[tag] = archive
			}
		}
	}
	img := func(name, variant string) (string, error) {
		im, err := factory.BuildImageVariant(ctx, o.SourceDir, o.CacheDir, name, variant)
		if err != nil {
			return "", err
		}
		refs, err := publish.Publish(ctx, map[string]string{im.Tag: im.Archive})
		if err != nil {
			return "", err
		}
		return refs[im.Tag], nil
	}
	var images Images
	var err error
	if needFixture {
		if images.Fixture, err = img("zerodrop-fixture", ""); err != nil {
			return Runtime{}, err
		}
	}
	// a user's app's images, from archives: an air-gapped cluster pulls nothing
	if len(appImages) > 0 {
		if o.Publish != nil {
			return Runtime{}, fmt.Errorf("runner: %d image archives of the scenario's workload: archives load into kind nodes only; on a cluster that pulls from a registry, name images it pulls in the manifests", len(appImages))
		}
		if err := c.LoadImages(ctx, appImages); err != nil {
			return Runtime{}, err
		}
	}
	if images.Loadgen, err = img("zerodrop-loadgen", ""); err != nil {
		return Runtime{}, err
	}
	// client-go's default limiter (5 requests per second) made waits fail
	// at their deadline for want of a request, not of a condition
	cfg := rest.CopyConfig(c.Client.RESTConfig())
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return Runtime{}, fmt.Errorf("runner: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return Runtime{}, fmt.Errorf("runner: %w", err)
	}
	env := outcome.Environment{Mode: string(o.Mode), Cluster: c.Spec.Name, NodeImage: c.Spec.NodeImage, KubeProxyMode: c.Spec.KubeProxyMode,
		Images: map[string]string{"fixture": images.Fixture, "loadgen": images.Loadgen}, Controllers: map[string]string{}}
	if v, err := cs.Discovery().ServerVersion(); err == nil {
		env.KubernetesVersion = v.GitVersion
	}
	if res, err := factory.LastResult(o.CacheDir); err == nil && o.Mode == kind.Airgapped {
		// every image the air-gapped node holds, and the versions they were built from
		env.KindVersion = res.KindVersion
		for tag := range res.Images {
			env.Images[tag] = "built by the image factory"
		}
		v := res.Versions
		env.Images["versions"] = fmt.Sprintf("kubernetes %s, etcd %s, coredns %s, containerd %s, crictl %s, cni-plugins %s, debian %s",
			v.Kubernetes, v.Etcd, v.CoreDNS, v.Containerd, v.Crictl, v.CNIPlugins, v.Suite)
	}
	rt := Runtime{Client: cs, Dynamic: dyn, RESTConfig: cfg, Images: images,
		NodePort: kind.DefaultPortMappings[0].ContainerPort, Entry: map[suites.Path]string{},
		OutDir: o.OutDir, Environment: env, Log: log}
	if c.IsKind() {
		// ungraceful controls act on the node containers
		rt.NodeExec, rt.NodeFreeze = c.NodeExec, c.NodeFreeze
	}
	entries, err := c.Entries(ctx)
	if err != nil {
		return Runtime{}, err
	}
	env.Entries = map[string]string{}
	for _, e := range entries {
		if p, err := suites.ParsePath(e.Name); err == nil {
			rt.Entry[p] = "http://" + e.Addr
			how := "the control-plane node's address on the kind network"
			if !e.Direct {
				how = "a 127.0.0.1 port mapping: Docker's userland proxy is part of the path"
			}
			if e.Direct && p == suites.PathNodePort {
				rt.NodeAddress, _, _ = net.SplitHostPort(e.Addr)
				how += "; each scenario's own node port"
			}
			env.Entries[e.Name] = e.Addr + " (" + how + ")"
		}
	}
	if needIngress {
		a := traefik.Addon{Mode: o.Mode, CacheDir: o.CacheDir, Log: log}
		if err := c.Install(ctx, a); err != nil {
			return Runtime{}, err
		}
		ctrl := a.Controller(c)
		rt.Ingress = ctrl
		env.Controllers[ctrl.Name()] = ctrl.Version()
	}
	if needKruise {
		if err := c.Install(ctx, kruise.Addon{Mode: o.Mode, CacheDir: o.CacheDir, Log: log}); err != nil {
			return Runtime{}, err
		}
		env.Controllers["openkruise"] = kruise.Version
	}
	if needKruise && needFixture {
		// the fixture's second image, for in-place updates
		v2, err := img("zerodrop-fixture", "v2")
		if err != nil {
			return Runtime{}, err
		}
		rt.Images.Variants = map[string]string{"v2": v2}
		env.Images["fixture v2"] = v2
	}
	rt.Environment = env
	return rt, nil
}
