package suites

import (
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/load"
)

// GatingPlan is the load of the gating suite: new connections for every
// request (keep-alive off), the client that meets every endpoint race, at a
// rate two cores sustain with full accounting.
var GatingPlan = load.Plan{Rate: 100, KeepAlive: false, Timeout: 3 * time.Second, MaxDuration: 5 * time.Minute}

// Entry is a named scenario with its labels.
type Entry struct {
	Scenario Scenario
	Labels   []Label
}

func scenario(profile string, d chaos.Disruption, newVersion string) Scenario {
	p, err := fixtures.Preset(profile)
	if err != nil {
		panic(err) // presets are compiled in
	}
	return Scenario{Workload: fixtures.Deployment, Profile: p, Disruption: d, NewVersion: newVersion,
		Paths: []string{NodePortPath, ClusterIPPath, IngressPath, GatewayPath}, Plan: GatingPlan}
}

// GatingSuite is what `make e2e` runs: the recommended profile under each
// disruption must drop nothing, and the naive control must drop requests.
func GatingSuite() []Entry {
	return []Entry{
		{scenario("prestop-and-drain", chaos.RollingUpdate{Version: "v2"}, "v2"), []Label{Gating}},
		{scenario("prestop-and-drain", chaos.RollingUpdate{}, ""), []Label{Gating}},
		{scenario("prestop-and-drain", chaos.DrainNode{}, ""), []Label{Gating}},
		{scenario("prestop-and-drain", chaos.EvictPods{Count: 1}, ""), []Label{Gating}},
		{scenario("naive", chaos.RollingUpdate{Version: "v2"}, "v2"), []Label{Gating, Control}},
	}
}
