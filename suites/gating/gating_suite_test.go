// The gating suite: `make e2e`. It runs each scenario of suites.GatingSuite on
// the embedded default cluster and fails unless every verdict is what its
// profile expects (zero failed requests, and the negative control failing).
package gating_test

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/kubernetes"

	"github.com/zerodrop/zerodrop/internal/clusterlock"
	"github.com/zerodrop/zerodrop/internal/itest"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/suites/runner"
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

var rt runner.Runtime

var _ = BeforeSuite(func(ctx SpecContext) {
	log := slog.New(slog.NewTextHandler(GinkgoWriter, nil))
	c, in, err := itest.Provision(ctx, log)
	Expect(err).NotTo(HaveOccurred())
	// the cluster is this suite's alone until it ends: another zerodrop run
	// on it would share its node ports, its drained nodes and the CPU
	cs, err := kubernetes.NewForConfig(c.Client.RESTConfig())
	Expect(err).NotTo(HaveOccurred())
	release, err := itest.Lock(ctx, cs, log)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(release) // an error: the lock was lost, and so is the verdict's worth
	out := os.Getenv("ZERODROP_OUT")
	if out == "" {
		out = filepath.Join("..", "..", "out", time.Now().UTC().Format("20060102-150405"))
	}
	// set up only what the selected scenarios need (Traefik, OpenKruise)
	entries, err := suites.Select(suites.GatingSuite(), GinkgoLabelFilter())
	Expect(err).NotTo(HaveOccurred())
	var scenarios []suites.Scenario
	for _, e := range entries {
		scenarios = append(scenarios, e.Scenario)
	}
	rt, err = runner.Setup(ctx, runner.SetupOptions{Cluster: c, Mode: in.Mode, CacheDir: in.CacheDir, SourceDir: in.SourceDir, OutDir: out, Log: log}, scenarios)
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("outcomes in %s\n", out)
}, NodeTimeout(15*time.Minute+clusterlock.DefaultWait))

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
