// The gating suite: `make e2e`. It runs each scenario of suites.GatingSuite on
// the embedded default cluster and fails unless every verdict is what its
// profile expects (zero failed requests, and the negative control failing).
package gating_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/zerodrop/zerodrop/fixtures/kruise"
	"github.com/zerodrop/zerodrop/internal/testcluster"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/kind/factory"
	"github.com/zerodrop/zerodrop/reports"
	"github.com/zerodrop/zerodrop/suites"
)

func TestGating(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a cluster")
	}
	RegisterFailHandler(Fail)
	suiteConfig, reporterConfig := GinkgoConfiguration()
	if suiteConfig.LabelFilter == "" {
		// plain `go test ./...` (make test, CI) runs the gate, not every set
		suiteConfig.LabelFilter = string(suites.Gating)
	}
	RunSpecs(t, "zerodrop gating", suiteConfig, reporterConfig)
}

var rt suites.Runtime

var _ = BeforeSuite(func(ctx SpecContext) {
	log := slog.New(slog.NewTextHandler(GinkgoWriter, nil))
	c, err := testcluster.Get(ctx, log)
	Expect(err).NotTo(HaveOccurred())
	image, err := testcluster.FixtureImage(ctx, c)
	Expect(err).NotTo(HaveOccurred())
	loadgen, err := testcluster.Image(ctx, c, "zerodrop-loadgen")
	Expect(err).NotTo(HaveOccurred())
	ctrl, err := testcluster.Ingress(ctx, c, log)
	Expect(err).NotTo(HaveOccurred())
	cs, err := kubernetes.NewForConfig(c.Client.RESTConfig())
	Expect(err).NotTo(HaveOccurred())
	dyn, err := dynamic.NewForConfig(c.Client.RESTConfig())
	Expect(err).NotTo(HaveOccurred())
	out := os.Getenv("ZERODROP_OUT")
	if out == "" {
		out = filepath.Join("..", "..", "out", time.Now().UTC().Format("20060102-150405"))
	}
	mode, _ := kind.ResolveMode(ctx, kind.Auto)
	envInfo := reports.Environment{Mode: string(mode), Cluster: c.Spec.Name, NodeImage: c.Spec.NodeImage, KubeProxyMode: c.Spec.KubeProxyMode,
		Images:      map[string]string{"fixture": image, "loadgen": loadgen},
		Controllers: map[string]string{ctrl.Name(): ctrl.Version()}}
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
	// OpenKruise and the fixture's second image only when a CloneSet scenario is selected
	var images map[string]string
	if selected(suites.OpenKruise) {
		Expect(testcluster.OpenKruise(ctx, c, log)).To(Succeed())
		v2, err := testcluster.ImageVariant(ctx, c, "zerodrop-fixture", "v2")
		Expect(err).NotTo(HaveOccurred())
		images = map[string]string{"v2": v2}
		envInfo.Images["fixture v2"] = v2
		envInfo.Controllers["openkruise"] = kruise.Version
	}
	nodePort := kind.DefaultPortMappings[0]
	entry := map[string]string{}
	for _, m := range c.Spec.PortMappings {
		entry[m.Name] = fmt.Sprintf("http://127.0.0.1:%d", m.HostPort)
	}
	rt = suites.Runtime{Client: cs, Dynamic: dyn, Image: image, LoadgenImage: loadgen, RESTConfig: c.Client.RESTConfig(), NodePort: nodePort.ContainerPort,
		Entry: entry, Ingress: ctrl, NodeExec: c.NodeExec, NodeFreeze: c.NodeFreeze, Images: images,
		OutDir: out, Environment: envInfo, Log: log}
	GinkgoWriter.Printf("outcomes in %s\n", out)
}, NodeTimeout(15*time.Minute))

// selected says whether the label filter selects any scenario carrying label.
func selected(label suites.Label) bool {
	for _, e := range suites.GatingSuite() {
		ls := suites.Labels(append([]suites.Label{suites.Cluster}, e.Labels...)...)
		if slices.Contains(e.Labels, label) && ls.MatchesLabelFilter(GinkgoLabelFilter()) {
			return true
		}
	}
	return false
}

var _ = Describe("zero dropped requests", Serial, suites.Labels(suites.Cluster), func() {
	var entries []TableEntry
	for _, e := range suites.GatingSuite() {
		entries = append(entries, Entry(e.Scenario.ID(), suites.Labels(e.Labels...), SpecTimeout(8*time.Minute), e.Scenario))
	}
	DescribeTable("profile × disruption", func(ctx SpecContext, sc suites.Scenario) {
		out, err := rt.Run(ctx, sc)
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("verdict", fmt.Sprintf("%s: %s (expected %s)", out.Verdict.Result, out.Verdict.Reason, out.Verdict.Expected))
		for path, tail := range out.Tail {
			AddReportEntry("propagation tail "+path, fmt.Sprintf("%s after SIGTERM, %s after endpoint removal (%d pods)", tail.FromSIGTERM.Round(time.Millisecond), tail.FromEndpointRemoval.Round(time.Millisecond), tail.Pods))
		}
		Expect(out.Verdict.AsExpected).To(BeTrue(), "%s: %s", out.Verdict.Result, out.Verdict.Reason)
	}, entries)
})
