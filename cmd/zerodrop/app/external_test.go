package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/workload"
)

const twoContexts = `apiVersion: v1
kind: Config
clusters:
- name: kind-plain
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: kind-plain
  user: {token: abc}
contexts:
- name: kind-plain
  context: {cluster: kind-plain, user: kind-plain}
- name: other
  context: {cluster: kind-plain, user: kind-plain}
current-context: kind-plain
`

func externalScenario(t *testing.T, kind suites.DisruptionKind, w workload.Kind, paths ...suites.Path) suites.Scenario {
	t.Helper()
	p, err := fixtures.Preset(fixtures.PreStopAndDrain)
	if err != nil {
		t.Fatal(err)
	}
	d, err := kind.Build(3)
	if err != nil {
		t.Fatal(err)
	}
	return suites.Scenario{Workload: w, Profile: p, Disruption: d.Do, NewVersion: d.NewVersion, Paths: paths, Plan: suites.GatingPlan}
}

// TestExternalClusterInputs: every problem with --kubeconfig, --context and
// --allow-node-disruptions, and every scenario that does not fit a cluster
// zerodrop did not create, is bad input named before any cluster work.
func TestExternalClusterInputs(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(good, []byte(twoContexts), 0o600); err != nil {
		t.Fatal(err)
	}
	noCurrent := filepath.Join(dir, "no-current")
	if err := os.WriteFile(noCurrent, []byte(strings.Replace(twoContexts, "current-context: kind-plain", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage")
	if err := os.WriteFile(garbage, []byte("clusters: [\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	nodeport := externalScenario(t, suites.RollingUpdate, workload.Deployment, suites.PathNodePort, suites.PathClusterIP)
	inCluster := externalScenario(t, suites.RollingUpdate, workload.Deployment, suites.PathClusterIP, suites.PathHeadless)
	withArchives := externalScenario(t, suites.Delete, workload.Deployment, suites.PathClusterIP)
	withArchives.App = &suites.App{Name: "shop", Images: map[string]string{"shop:v1": filepath.Join(dir, "shop.tar")}}
	cases := []struct {
		name      string
		f         execFlags
		scenarios []suites.Scenario
		want      string // "" for a valid configuration
	}{
		{"own cluster", execFlags{}, []suites.Scenario{nodeport}, ""},
		{"context without kubeconfig", execFlags{context: "other"}, nil, "run: --context other: pass the --kubeconfig file it is in too"},
		{"node disruptions allowed on own cluster", execFlags{allowNodeDisruptions: true}, nil, "--allow-node-disruptions is for a --kubeconfig cluster"},
		{"missing file", execFlags{kubeconfig: filepath.Join(dir, "nope")}, nil, "run: --kubeconfig " + filepath.Join(dir, "nope") + ": open"},
		{"not a kubeconfig", execFlags{kubeconfig: garbage}, nil, "run: --kubeconfig " + garbage},
		{"unknown context", execFlags{kubeconfig: good, context: "prod"}, nil, "--context prod is not one of its contexts (kind-plain, other): pass --context NAME"},
		{"no current context", execFlags{kubeconfig: noCurrent}, nil, `its current-context "" is not one of its contexts (kind-plain, other)`},
		{"ingress path", execFlags{kubeconfig: good}, []suites.Scenario{externalScenario(t, suites.RollingUpdate, workload.Deployment, suites.PathNodePort, suites.PathIngress)},
			"the ingress and gateway paths go through zerodrop's own Traefik"},
		{"cloneset", execFlags{kubeconfig: good}, []suites.Scenario{externalScenario(t, suites.Delete, workload.CloneSet, suites.PathNodePort)},
			"a CloneSet needs OpenKruise"},
		{"drain without permission", execFlags{kubeconfig: good}, []suites.Scenario{nodeport, externalScenario(t, suites.Drain, workload.Deployment, suites.PathNodePort)},
			"1 scenarios do not fit a cluster zerodrop did not create:\n  prestop-and-drain/drain-node/deployment: drain-node acts on a whole node of a cluster zerodrop did not create: pass --allow-node-disruptions to allow it"},
		{"drain with permission", execFlags{kubeconfig: good, allowNodeDisruptions: true}, []suites.Scenario{externalScenario(t, suites.Drain, workload.Deployment, suites.PathNodePort)}, ""},
		{"another context", execFlags{kubeconfig: good, context: "other"}, []suites.Scenario{nodeport}, ""},
		{"registry on own cluster", execFlags{registry: "localhost:5000"}, nil,
			"run: --registry localhost:5000 is for a --kubeconfig cluster that is not a kind cluster of this host"},
		{"registry without a host", execFlags{kubeconfig: good, registry: "acme/zerodrop"}, []suites.Scenario{inCluster},
			`run: --registry: push: registry "acme/zerodrop": its first part must be a registry host`},
		{"registry with a scheme", execFlags{kubeconfig: good, registry: "https://ghcr.io/acme"}, []suites.Scenario{inCluster}, "without a scheme"},
		{"registry and the nodeport path", execFlags{kubeconfig: good, registry: "localhost:5000"}, []suites.Scenario{nodeport},
			"the nodeport path enters from this host at a kind node's address; on a --registry cluster load the in-cluster paths: clusterip, headless"},
		{"registry and a killed container", execFlags{kubeconfig: good, registry: "localhost:5000"}, []suites.Scenario{externalScenario(t, suites.KillContainer, workload.Deployment, suites.PathClusterIP)},
			"kill-container acts in a node's container runtime, which zerodrop reaches only on a kind cluster of this host"},
		{"registry and image archives", execFlags{kubeconfig: good, registry: "localhost:5000"}, []suites.Scenario{withArchives},
			"its workload's image archives (workload.images) load into kind nodes only"},
		{"registry", execFlags{kubeconfig: good, registry: "localhost:5000/zerodrop", allowNodeDisruptions: true},
			[]suites.Scenario{inCluster, externalScenario(t, suites.Drain, workload.Deployment, suites.PathHeadless)}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := c.f.externalConfig("run", c.scenarios)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.want == "" && c.f.kubeconfig != "" && (cfg == nil || cfg.Host != "https://127.0.0.1:6443" || cfg.BearerToken != "abc"):
				t.Fatalf("config %+v", cfg)
			case c.want == "" && c.f.kubeconfig == "" && cfg != nil:
				t.Fatalf("a config without --kubeconfig: %+v", cfg)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("want %q, got %v", c.want, err)
			}
		})
	}
}
