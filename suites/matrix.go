package suites

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/chaos"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/workload"
)

// MatrixPlan is the load of every matrix cell on each path.
var MatrixPlan = GatingPlan

// MatrixFilter selects the matrix's cells. Empty lists select everything.
type MatrixFilter struct {
	Profiles    []fixtures.ProfileName
	Disruptions []DisruptionKind
	// Paths are the base paths every cell loads at once.
	Paths []Path
	// Clients: new connections, keep-alive, or both (empty).
	Clients []outcome.Client
	// Extras adds the strategy and PodDisruptionBudget cases.
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
			Paths: paths, Plan: MatrixPlan, Variant: variant}
		out = append(out, Entry{Scenario: s, Labels: append([]Label{Matrix}, labels...)})
		return nil
	}
	for _, name := range profiles {
		p, err := fixtures.Preset(name)
		if err != nil {
			return nil, err
		}
		for _, k := range disruptions {
			if err := add(p, k, ""); err != nil {
				return nil, err
			}
		}
	}
	if f.Extras {
		for _, name := range []fixtures.ProfileName{fixtures.Naive, fixtures.PreStopAndDrain} {
			if len(f.Profiles) > 0 && !slices.Contains(f.Profiles, name) {
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
		if len(f.Profiles) == 0 {
			for _, name := range fixtures.SidecarProfileNames {
				p, _ := fixtures.Preset(name)
				if err := add(p, RollingUpdate, "", Sidecars); err != nil {
					return nil, err
				}
			}
		}
		if len(f.Profiles) == 0 || slices.Contains(f.Profiles, fixtures.PreStopAndDrain) {
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
		fmt.Fprintf(&b, "| %s | %s | **%s** | **%s** |\n", s.ID(), strings.Join(base, ", "), x[outcome.NewConnections].Expect, x[outcome.KeepAlive].Expect)
		seen[s.Profile.Name] = true
	}
	b.WriteString("\nWhy, per profile (new connections; keep-alive):\n\n")
	for _, name := range fixtures.AllProfileNames() {
		if !seen[string(name)] {
			continue
		}
		p, _ := fixtures.Preset(name)
		x := p.Expectations()
		fmt.Fprintf(&b, "- **%s** — %s: %s; %s: %s\n", name, x[outcome.NewConnections].Expect, x[outcome.NewConnections].Why, x[outcome.KeepAlive].Expect, x[outcome.KeepAlive].Why)
	}
	for _, e := range entries {
		if e.Scenario.Expect != "" && e.Scenario.Why != "" {
			fmt.Fprintf(&b, "- **%s** — %s: %s\n", e.Scenario.ID(), e.Scenario.Expect, e.Scenario.Why)
		}
	}
	return b.String()
}
