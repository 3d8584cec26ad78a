// Package suites holds the scenario model and its typed vocabulary (paths,
// labels), and the named scenario sets: the CI gate, the further
// disruptions, the controls. It describes; package suites/runner runs.
package suites

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/load"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/workload"
)

// Scenario = Workload × Profile × Disruption × Paths × LoadPlan × Expectation.
type Scenario struct {
	// Workload is the controller kind the fixture is deployed as.
	Workload workload.Kind
	Profile  fixtures.Profile
	// Disruption is what the scenario does to the workload while load runs.
	Disruption chaos.Disruption
	// NewVersion is the version a rolling update moves to ("" for other disruptions).
	NewVersion string
	Paths      []Path
	Plan       load.Plan
	// Settle is how long load continues after the disruption finished.
	Settle time.Duration
	// Variant tells apart scenarios that differ only in their paths ("ingress").
	Variant string
	// Prepare runs after the workload is ready and before the load starts
	// (for example a first rolling update, so that an undo has a revision to return to).
	Prepare chaos.Disruption
	// Expect overrides the profile's expectation: an ungraceful control
	// (SIGKILL) must drop requests whatever the profile.
	Expect outcome.Expectation
}

// Expectation is what the scenario must produce: Expect, else the profile's.
func (s Scenario) Expectation() outcome.Expectation {
	if s.Expect != "" {
		return s.Expect
	}
	return s.Profile.Expect
}

// ID names the scenario: profile/disruption/workload[@variant].
func (s Scenario) ID() string {
	id := fmt.Sprintf("%s/%s/%s", s.Profile.Name, s.Disruption.Name(), strings.ToLower(string(s.Workload)))
	if s.Variant != "" {
		id += "@" + s.Variant
	}
	return id
}

// PathNames returns the paths as strings, as the outcome records them.
func (s Scenario) PathNames() []string {
	out := make([]string, len(s.Paths))
	for i, p := range s.Paths {
		out[i] = string(p)
	}
	return out
}

// Uses reports whether the scenario loads one of the paths.
func (s Scenario) Uses(paths ...Path) bool {
	for _, p := range paths {
		if slices.Contains(s.Paths, p) {
			return true
		}
	}
	return false
}

// Path is a traffic path: where the load enters and what it goes through.
type Path string

// The paths. nodeport, ingress and gateway enter from the host; clusterip
// is driven from a load generator inside the cluster to the Service.
const (
	PathNodePort  Path = "nodeport"
	PathClusterIP Path = "clusterip"
	PathIngress   Path = "ingress"
	PathGateway   Path = "gateway"
)

// Paths lists every path, in report order.
var Paths = []Path{PathNodePort, PathClusterIP, PathIngress, PathGateway}

// InCluster reports whether the path's load comes from inside the cluster.
func (p Path) InCluster() bool { return p == PathClusterIP }

// ParsePath returns the path a name names, or an error listing the names.
func ParsePath(s string) (Path, error) {
	for _, p := range Paths {
		if string(p) == s {
			return p, nil
		}
	}
	names := make([]string, len(Paths))
	for i, p := range Paths {
		names[i] = string(p)
	}
	return "", fmt.Errorf("path %q: use one of %s", s, strings.Join(names, ", "))
}
