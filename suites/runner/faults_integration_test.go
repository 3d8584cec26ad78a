package runner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/internal/itest"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/suites/runner"
	"github.com/zerodrop/zerodrop/workload"
)

// faultScenario is the recommended profile on the given paths, with a
// disruption that is a fault of the harness's own, not of the workload.
func faultScenario(t *testing.T, d chaos.Disruption, paths ...suites.Path) suites.Scenario {
	p, err := fixtures.Preset(fixtures.PreStopAndDrain)
	if err != nil {
		t.Fatal(err)
	}
	return suites.Scenario{Workload: workload.Deployment, Profile: p, Disruption: d, Paths: paths, Plan: suites.GatingPlan}
}

func setup(t *testing.T, tc itest.Cluster, scenarios ...suites.Scenario) runner.Runtime {
	t.Helper()
	rt, err := runner.Setup(tc.Ctx, runner.SetupOptions{Cluster: tc.Cluster, Mode: tc.Inputs.Mode, CacheDir: tc.Inputs.CacheDir,
		SourceDir: tc.Inputs.SourceDir, OutDir: t.TempDir()}, scenarios)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// TestLoadGeneratorKilledMidRunIsInvalid: the in-cluster load generator
// killed while it drives the clusterip path leaves records that are no
// evidence: the scenario is invalid, never a pass.
func TestLoadGeneratorKilledMidRunIsInvalid(t *testing.T) {
	tc := itest.Start(t, 10*time.Minute, nil)
	kill := chaos.Func{N: "kill-load-generator", F: func(ctx context.Context, env chaos.Env) error {
		pods := env.Client.CoreV1().Pods(env.Target.Namespace)
		if err := pods.Delete(ctx, "loadgen", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
			return err
		}
		return wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := pods.Get(ctx, "loadgen", metav1.GetOptions{})
			return err != nil, nil
		})
	}}
	s := faultScenario(t, kill, suites.PathClusterIP)
	o, err := setup(t, tc, s).Run(tc.Ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if o.Verdict.Result != outcome.Invalid || !strings.Contains(o.Verdict.Reason, "in-cluster load generator failed") {
		t.Fatalf("verdict %+v: want invalid, the load generator failed", o.Verdict)
	}
}

// TestAPIServerRestartMidRun: the API server unavailable for a few seconds
// during the disruption window (its container stopped; the kubelet starts
// it again) must leave a run that survives — the data path does not go
// through it, the records stream resumes — or one that is invalid with a
// clear reason; never a failure blamed on the profile, never an error.
func TestAPIServerRestartMidRun(t *testing.T) {
	tc := itest.Start(t, 10*time.Minute, nil)
	cp := tc.Cluster.Spec.Name + "-control-plane"
	restart := chaos.Func{N: "restart-api-server", F: func(ctx context.Context, env chaos.Env) error {
		if err := env.NodeExec(ctx, cp, "sh", "-c", "crictl stop $(crictl ps -q --name kube-apiserver)"); err != nil {
			return err
		}
		return wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := env.Client.Discovery().ServerVersion()
			return err == nil, nil
		})
	}}
	s := faultScenario(t, restart, suites.PathNodePort, suites.PathClusterIP)
	o, err := setup(t, tc, s).Run(tc.Ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	switch r := o.Verdict.Result; {
	case r == outcome.Pass:
		t.Logf("survived: %s", o.Verdict.Reason)
	case r == outcome.Invalid && o.Verdict.Reason != "":
		t.Logf("invalid, as it may be: %s", o.Verdict.Reason)
	default:
		t.Fatalf("verdict %+v: an API server restart must leave a pass or an invalid run", o.Verdict)
	}
}
