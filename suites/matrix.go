package suites

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/load"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/workload"
)

// MatrixPlan is the load of every matrix cell on each path: the gate's
// rate, which the capacity curve measured for ten paths at once (five
// paths, both clients). Measured on 2 cores (docs/benchmarks.md): at 50
// requests a second per path the ten paths' median latency was 250 ms
// against the app's 50 ms and the generator ran up to 0.55 s late in a
// quiet window; in a full matrix run 11 of 29 cells were invalid from
// generator stalls over 1 s and the Traefik paths failed requests in the
// harness's own queues. At 25 per path the median stayed at 62 ms.
var MatrixPlan = GatingPlan

// PlanFor is a plan whose client waits for the profile's slowest answer:
// an app whose long requests take longer than the plan's timeout would
// fail them at the client whatever its shutdown does (grace-too-short's
// every tenth request takes 20 s, against the gate's 3 s timeout).
func PlanFor(plan load.Plan, p fixtures.Profile) load.Plan {
	if slowest := p.Latency + p.SlowLatency + 3*time.Second; p.SlowEvery > 0 && plan.Timeout < slowest {
		plan.Timeout = slowest
	}
	return plan
}

// MatrixFilter selects the matrix's cells. Empty lists select everything.
type MatrixFilter struct {
	Profiles    []fixtures.ProfileName
	Disruptions []DisruptionKind
	// Paths are the base paths every cell loads at once.
	Paths []Path
	// Clients: new connections, keep-alive, or both (empty).
	Clients []outcome.Client
	// Extras adds the strategy, PodDisruptionBudget and stuck-rollout cases.
	Extras bool
}

// Strategy is a rollout strategy case of the strategy axis.
type Strategy struct {
	Name     string
	Strategy fixtures.Strategy
}

// Strategies are the rolling-update strategies the matrix adds for the
// naive and the recommended profile (the seeds' rolling-update articles).
var Strategies = []Strategy{
	{"surge0-unavailable1", fixtures.Strategy{MaxSurge: "0", MaxUnavailable: "1"}},
	{"surge1-unavailable0", fixtures.Strategy{MaxSurge: "1", MaxUnavailable: "0"}},
	{"minready5", fixtures.Strategy{MinReadySeconds: 5}},
}

// MatrixSet is every profile under every disruption, each cell loading every
// path at once with both clients (each client judged on its own), plus the
// strategy and PodDisruptionBudget cases.
func MatrixSet(f MatrixFilter) ([]Entry, error) {
	profiles := f.Profiles
	if len(profiles) == 0 {
		profiles = fixtures.ProfileNames
	}
	disruptions := f.Disruptions
	if len(disruptions) == 0 {
		disruptions = MatrixDisruptions
	}
	paths := f.Paths
	if len(paths) == 0 {
		paths = Paths
	}
	var loaded []Path
	for _, p := range paths {
		if len(f.Clients) == 0 || slices.Contains(f.Clients, outcome.NewConnections) {
			loaded = append(loaded, p.Base())
		}
		if len(f.Clients) == 0 || slices.Contains(f.Clients, outcome.KeepAlive) {
			loaded = append(loaded, p.WithKeepAlive())
		}
	}
	var out []Entry
	add := func(profile fixtures.Profile, k DisruptionKind, variant string, labels ...Label) error {
		d, err := k.Build(profile.Replicas)
		if err != nil {
			return err
		}
		paths := loaded
		if profile.Sidecar != nil {
			paths = sidecarPaths(loaded)
			if len(paths) == 0 {
				return nil
			}
		}
		s := Scenario{Workload: workload.Deployment, Profile: profile, Disruption: d.Do, NewVersion: d.NewVersion, Prepare: d.Prepare,
			Paths: paths, Plan: PlanFor(MatrixPlan, profile), Variant: variant}
		out = append(out, Entry{Scenario: s, Labels: append([]Label{Matrix}, labels...)})
		return nil
	}
	for _, name := range profiles {
		p, err := fixtures.Preset(name)
		if err != nil {
			return nil, err
		}
		for _, k := range disruptions {
			if k.Stuck() {
				continue // only with their strategies: the stuck cases below
			}
			if err := add(p, k, ""); err != nil {
				return nil, err
			}
		}
	}
	// the extras of a disruption the filter selects
	selects := func(k DisruptionKind) bool { return len(f.Disruptions) == 0 || slices.Contains(f.Disruptions, k) }
	if f.Extras {
		for _, name := range []fixtures.ProfileName{fixtures.Naive, fixtures.PreStopAndDrain} {
			if len(f.Profiles) > 0 && !slices.Contains(f.Profiles, name) || !selects(RollingUpdate) {
				continue
			}
			p, _ := fixtures.Preset(name)
			for _, st := range Strategies {
				p := p
				p.Strategy = st.Strategy
				if err := add(p, RollingUpdate, st.Name); err != nil {
					return nil, err
				}
			}
		}
		// the app behind a proxy sidecar, classic and native, under a
		// rolling update (the sidecars set's cells; --profiles names them
		// for the other disruptions)
		if len(f.Profiles) == 0 && selects(RollingUpdate) {
			for _, name := range fixtures.SidecarProfileNames {
				p, _ := fixtures.Preset(name)
				if err := add(p, RollingUpdate, "", Sidecars); err != nil {
					return nil, err
				}
			}
		}
		if (len(f.Profiles) == 0 || slices.Contains(f.Profiles, fixtures.PreStopAndDrain)) && selects(Drain) {
			p, _ := fixtures.Preset(fixtures.PreStopAndDrain)
			// a budget of one pod at a time: the drain proceeds pod by pod
			if err := add(p, Drain, "pdb-one-at-a-time"); err != nil {
				return nil, err
			}
			out[len(out)-1].Scenario.PDB = &PDB{MaxUnavailable: 1}
			// a budget that allows nothing: the drain is blocked, and says so
			if err := add(p, Drain, "pdb-blocks"); err != nil {
				return nil, err
			}
			s := &out[len(out)-1].Scenario
			s.PDB = &PDB{MaxUnavailable: 0}
			s.Disruption = chaos.DrainNode{Timeout: 30 * time.Second}
			s.Expect, s.Why = outcome.ExpectBlocked, "a PodDisruptionBudget of maxUnavailable 0 allows no eviction: kubectl drain retries its 429s until it gives up, and the node must be left uncordoned"
		}
		// the stuck rollouts (the stuck set), on the matrix's paths
		if len(f.Profiles) == 0 || slices.Contains(f.Profiles, fixtures.PreStopAndDrain) {
			for _, e := range stuckCases(loaded) {
				k := StuckRollout
				if strings.HasPrefix(e.Scenario.Disruption.Name(), string(CrashRollout)) {
					k = CrashRollout
				}
				if !selects(k) {
					continue
				}
				e.Scenario.Plan = MatrixPlan
				e.Labels = append([]Label{Matrix}, e.Labels...)
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// sidecarPaths are the paths on which a client's connection ends at the
// pod's proxy sidecar: not the Ingress and Gateway paths, where Traefik holds
// the connections to the pod (and leaves a terminating pod when its
// endpoint goes), so a sidecar preset's expectations for kept-alive clients
// do not speak of them.
func sidecarPaths(paths []Path) []Path {
	var out []Path
	for _, p := range paths {
		if b := p.Base(); b != PathIngress && b != PathGateway {
			out = append(out, p)
		}
	}
	return out
}

// PDB is a scenario's own PodDisruptionBudget (default: maxUnavailable 1).
type PDB struct {
	MaxUnavailable int32
}

// ParseProfiles parses a comma-separated list of preset names.
func ParseProfiles(list string) ([]fixtures.ProfileName, error) {
	var out []fixtures.ProfileName
	for _, s := range splitList(list) {
		p, err := fixtures.ParseProfile(s)
		if err != nil {
			return nil, err
		}
		out = append(out, fixtures.ProfileName(p.Name))
	}
	return out, nil
}

// ParseDisruptions parses a comma-separated list of disruption kinds.
func ParseDisruptions(list string) ([]DisruptionKind, error) {
	var out []DisruptionKind
	for _, s := range splitList(list) {
		k, err := ParseDisruption(s)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// ParsePaths parses a comma-separated list of paths.
func ParsePaths(list string) ([]Path, error) {
	var out []Path
	for _, s := range splitList(list) {
		p, err := ParsePath(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ParseClients parses "both", "on" (keep-alive only) or "off" (new connections only).
func ParseClients(s string) ([]outcome.Client, error) {
	switch s {
	case "", "both":
		return nil, nil
	case "on":
		return []outcome.Client{outcome.KeepAlive}, nil
	case "off":
		return []outcome.Client{outcome.NewConnections}, nil
	}
	return nil, fmt.Errorf("keepalive %q: use both, on or off", s)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ExpectationsMarkdown lists the entries' cells with what each client must
// show and why: docs/matrix.md is this, for the whole matrix.
func ExpectationsMarkdown(entries []Entry) string {
	var b strings.Builder
	b.WriteString("| scenario | paths | new connections | keep-alive |\n|---|---|---|---|\n")
	seen := map[string]bool{}
	for _, e := range entries {
		s := e.Scenario
		x := s.Expectations()
		var base []string
		for _, p := range s.Paths {
			if !p.KeepAlive() {
				base = append(base, string(p))
			}
		}
		loads := map[outcome.Client]bool{}
		for _, p := range s.Paths {
			loads[outcome.ClientOf(string(p))] = true
		}
		cell := func(c outcome.Client) string {
			if !loads[c] {
				return "— (not loaded)"
			}
			return "**" + string(x[c].Expect) + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", s.ID(), strings.Join(base, ", "), cell(outcome.NewConnections), cell(outcome.KeepAlive))
		seen[s.Profile.Name] = true
	}
	b.WriteString("\nWhy, per profile (new connections; keep-alive):\n\n")
	for _, name := range fixtures.AllProfileNames() {
		if !seen[string(name)] {
			continue
		}
		p, _ := fixtures.Preset(name)
		x := spareHeadless(name, p.Expectations())
		fmt.Fprintf(&b, "- **%s** — %s: %s; %s: %s\n", name, x[outcome.NewConnections].Expect, x[outcome.NewConnections].Why, x[outcome.KeepAlive].Expect, x[outcome.KeepAlive].Why)
		for _, c := range []outcome.Client{outcome.NewConnections, outcome.KeepAlive} {
			for _, path := range slices.Sorted(maps.Keys(x[c].MayPass)) {
				fmt.Fprintf(&b, "  - %s may pass: %s\n", path, x[c].MayPass[path])
			}
		}
		few := spareFewExits(name, chaos.DeletePods{Count: 1}, spareHeadless(name, p.Expectations()))
		for _, c := range []outcome.Client{outcome.NewConnections, outcome.KeepAlive} {
			for _, path := range slices.Sorted(maps.Keys(few[c].MayPass)) {
				if _, always := x[c].MayPass[path]; !always {
					fmt.Fprintf(&b, "  - %s may pass under a delete, an eviction, a drain or a scale-down: %s\n", path, few[c].MayPass[path])
				}
			}
		}
	}
	for _, e := range entries {
		if e.Scenario.Expect != "" && e.Scenario.Why != "" {
			fmt.Fprintf(&b, "- **%s** — %s: %s\n", e.Scenario.ID(), e.Scenario.Expect, e.Scenario.Why)
			for _, path := range slices.Sorted(maps.Keys(e.Scenario.MayPass)) {
				if e.Scenario.Uses(path) {
					fmt.Fprintf(&b, "  - %s may pass: %s\n", path, e.Scenario.MayPass[path])
				}
			}
		}
	}
	return b.String()
}
