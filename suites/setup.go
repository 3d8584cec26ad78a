package suites

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/onsi/ginkgo/v2/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/fixtures/kruise"
	"github.com/zerodrop/zerodrop/internal/phase"
	"github.com/zerodrop/zerodrop/internal/testcluster"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/kind/factory"
	"github.com/zerodrop/zerodrop/reports"
)

// Select returns the entries a label filter (Ginkgo's syntax: "gating",
// "gating || ingress", "disruptions && !control") selects. Every entry also
// carries the Cluster label, as its spec does.
func Select(entries []Entry, filter string) ([]Entry, error) {
	match, err := types.ParseLabelFilter(filter)
	if err != nil {
		msg := err.Error()
		var ge types.GinkgoError
		if errors.As(err, &ge) {
			msg = ge.Message
		}
		// Ginkgo's message is for a terminal: colour codes and markup
		msg = strings.Join(strings.Fields(ansi.ReplaceAllString(msg, "")), " ")
		return nil, fmt.Errorf("suites: label filter %q: %s (labels: %s)", filter, msg, strings.Join(LabelNames(), ", "))
	}
	var out []Entry
	for _, e := range entries {
		ls := []string{string(Cluster)}
		for _, l := range e.Labels {
			ls = append(ls, string(l))
		}
		if match(ls) {
			out = append(out, e)
		}
	}
	return out, nil
}

var ansi = regexp.MustCompile(`\x1b\[[0-9;]*m|\{\{/?[a-z-]*\}\}`)

// LabelNames lists the labels scenarios carry, for messages.
func LabelNames() []string {
	return []string{string(Gating), string(Control), string(Ingress), string(Disruptions), string(OpenKruise), string(Cluster)}
}

// Setup prepares what the entries need on a kind cluster and returns the
// Runtime to run them: the fixture and load generator images (built here,
// loaded into every node), the ingress controller when a scenario uses the
// ingress or gateway path, OpenKruise and the fixture's second image when
// one runs a CloneSet, and the environment every outcome records.
func Setup(ctx context.Context, c *kind.Cluster, entries []Entry, outDir string, log *slog.Logger) (Runtime, error) {
	if log == nil {
		log = phase.Discard()
	}
	var needIngress, needKruise bool
	for _, e := range entries {
		needIngress = needIngress || slices.Contains(e.Scenario.Paths, IngressPath) || slices.Contains(e.Scenario.Paths, GatewayPath)
		needKruise = needKruise || e.Scenario.Workload == fixtures.CloneSet
	}
	image, err := testcluster.FixtureImage(ctx, c)
	if err != nil {
		return Runtime{}, err
	}
	loadgen, err := testcluster.Image(ctx, c, "zerodrop-loadgen")
	if err != nil {
		return Runtime{}, err
	}
	cs, err := kubernetes.NewForConfig(c.Client.RESTConfig())
	if err != nil {
		return Runtime{}, fmt.Errorf("suites: %w", err)
	}
	dyn, err := dynamic.NewForConfig(c.Client.RESTConfig())
	if err != nil {
		return Runtime{}, fmt.Errorf("suites: %w", err)
	}
	mode, _ := kind.ResolveMode(ctx, kind.Auto)
	envInfo := reports.Environment{Mode: string(mode), Cluster: c.Spec.Name, NodeImage: c.Spec.NodeImage, KubeProxyMode: c.Spec.KubeProxyMode,
		Images: map[string]string{"fixture": image, "loadgen": loadgen}, Controllers: map[string]string{}}
	if v, err := cs.Discovery().ServerVersion(); err == nil {
		envInfo.KubernetesVersion = v.GitVersion
	}
	if res, err := factory.LastResult(factory.DefaultCacheDir()); err == nil && mode == kind.Airgapped {
		// every image the air-gapped node holds, and the versions they were built from
		envInfo.KindVersion = res.KindVersion
		for tag := range res.Images {
			envInfo.Images[tag] = "built by the image factory"
		}
		v := res.Versions
		envInfo.Images["versions"] = fmt.Sprintf("kubernetes %s, etcd %s, coredns %s, containerd %s, crictl %s, cni-plugins %s, debian %s",
			v.Kubernetes, v.Etcd, v.CoreDNS, v.Containerd, v.Crictl, v.CNIPlugins, v.Suite)
	}
	rt := Runtime{Client: cs, Dynamic: dyn, Image: image, LoadgenImage: loadgen, RESTConfig: c.Client.RESTConfig(),
		NodePort: kind.DefaultPortMappings[0].ContainerPort, Entry: map[string]string{},
		NodeExec: c.NodeExec, NodeFreeze: c.NodeFreeze, OutDir: outDir, Environment: envInfo, Log: log}
	for _, m := range c.Spec.PortMappings {
		rt.Entry[m.Name] = fmt.Sprintf("http://127.0.0.1:%d", m.HostPort)
	}
	if needIngress {
		ctrl, err := testcluster.Ingress(ctx, c, log)
		if err != nil {
			return Runtime{}, err
		}
		rt.Ingress = ctrl
		envInfo.Controllers[ctrl.Name()] = ctrl.Version()
	}
	if needKruise {
		if err := testcluster.OpenKruise(ctx, c, log); err != nil {
			return Runtime{}, err
		}
		v2, err := testcluster.ImageVariant(ctx, c, "zerodrop-fixture", "v2")
		if err != nil {
			return Runtime{}, err
		}
		rt.Images = map[string]string{"v2": v2}
		envInfo.Images["fixture v2"] = v2
		envInfo.Controllers["openkruise"] = kruise.Version
	}
	return rt, nil
}
