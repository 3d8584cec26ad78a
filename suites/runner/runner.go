// Package runner runs one scenario as an ordered list of named phases, in
// the manner of kind's cluster creation (a list of actions, each with one
// Execute): namespace → deploy → ready → observe → load → warm → disrupt →
// finish → settle → stop → judge, and then, whatever happened, collect and
// cleanup. Load and disruption follow Kubernetes' chaosmonkey handshake:
// the load is warm on every path before the disruption starts (ready), and
// it outlives the disruption by the settle time (stop, then done).
//
// The loop reports each phase through the logger and records its start and
// duration in the outcome, so the harness's own time is measured too.
package runner

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/zerodrop/zerodrop/internal/phase"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
)

// Phase is one step of a scenario.
type Phase interface {
	Execute(ctx context.Context, st *State) error
}

// PhaseFunc adapts a function to Phase.
type PhaseFunc func(ctx context.Context, st *State) error

// Execute calls f.
func (f PhaseFunc) Execute(ctx context.Context, st *State) error { return f(ctx, st) }

// step is a named phase; an always step runs even after an earlier phase failed.
type step struct {
	name   string
	phase  Phase
	always bool
}

// phases is the scenario, in order.
var phases = []step{
	{"namespace", namespacePhase{}, false},
	{"deploy", deployPhase{}, false},
	{"ready", readyPhase{}, false},
	{"observe", observePhase{}, false},
	{"load", loadPhase{}, false},
	{"warm", warmPhase{}, false},
	{"disrupt", disruptPhase{}, false},
	{"finish", finishPhase{}, false},
	{"settle", settlePhase{}, false},
	{"stop", stopPhase{}, true},
	{"judge", judgePhase{}, false},
	{"collect", collectPhase{}, true},
	{"cleanup", cleanupPhase{}, true},
}

// PhaseNames lists the phases in order.
func PhaseNames() []string {
	out := make([]string, len(phases))
	for i, p := range phases {
		out[i] = p.name
	}
	return out
}

// Ingress is the controller serving the ingress and gateway paths.
type Ingress interface {
	IngressClass() string
	Gateway() string // namespace/name
}

// Runtime is what scenarios run against: the cluster's clients, the images
// on its nodes, where host-side load enters, where outcomes go.
type Runtime struct {
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	RESTConfig *rest.Config // reaches the load generator through the API server's pod proxy
	Images     Images
	// Ingress serves the ingress and gateway paths (nil: those paths are not available).
	Ingress Ingress
	// NodeExec runs a command on a node, for ungraceful controls (nil: not available).
	NodeExec func(ctx context.Context, node string, args ...string) error
	// NodeFreeze stops and starts a node, for ungraceful controls (nil: not available).
	NodeFreeze func(ctx context.Context, node string, frozen bool) error
	// Entry is each host-side path's base URL.
	Entry map[suites.Path]string
	// NodeAddress, when set, is the node address host-side load reaches
	// directly: each scenario's NodePort Service then takes a port the API
	// server allocates (scenarios can run side by side); otherwise it takes
	// NodePort, the one the 127.0.0.1 mapping forwards.
	NodeAddress   string
	NodePort      int32
	OutDir        string
	Environment   outcome.Environment
	Log           *slog.Logger
	KeepOnFailure bool
}

// Images are the images the runner deploys, present on every node.
type Images struct {
	Fixture string // the fixture workload
	Loadgen string // the in-cluster load generator
	// Variants are the fixture's image variants by version (in-place updates).
	Variants map[string]string
}

// interrupted is the verdict reason of an outcome whose run did not end.
const interrupted = "incomplete: the run was interrupted"

// Run executes one scenario and returns its outcome, which is also streamed
// to OutDir: written first marked incomplete, then after every phase.
func (rt Runtime) Run(ctx context.Context, s suites.Scenario) (*outcome.Outcome, error) {
	log := rt.Log
	if log == nil {
		log = phase.Discard()
	}
	st, err := newState(rt, s, log)
	if err != nil {
		return nil, err
	}
	done := phase.Start(log, "scenario "+s.ID(), "namespace", st.ns)
	runErr := execute(ctx, st, phases)
	st.out.Ended = time.Now().UTC()
	switch {
	case runErr != nil && st.out.Verdict.Reason == interrupted:
		st.out.Verdict = outcome.Verdict{Result: outcome.Error, Reason: runErr.Error(), Expected: s.Expectation()}
	case runErr == nil:
		st.out.Complete = true
	}
	if werr := st.out.Write(st.dir); werr != nil && runErr == nil {
		runErr = werr
	}
	return st.out, done(runErr)
}

// execute runs the steps in order, recording each in the outcome and
// rewriting it on disk after each: once a step fails, only the always steps
// run. It returns the first error.
func execute(ctx context.Context, st *State, steps []step) error {
	var runErr error
	for _, p := range steps {
		if runErr != nil && !p.always {
			continue
		}
		began := time.Now()
		step := phase.Step(st.log, p.name, "namespace", st.ns)
		perr := step(p.phase.Execute(ctx, st))
		rec := outcome.Phase{Name: p.name, Start: began.UTC(), Duration: time.Since(began)}
		if perr != nil {
			rec.Error = perr.Error()
			if runErr == nil {
				runErr = perr
			}
		}
		st.log.Debug("phase", "name", p.name, "elapsed", rec.Duration.Round(time.Millisecond), "err", perr)
		st.out.Phases = append(st.out.Phases, rec)
		if werr := st.out.Write(st.dir); werr != nil && runErr == nil {
			runErr = werr
		}
	}
	return runErr
}

// newState prepares a scenario's directory and writes its outcome, marked
// incomplete, so an interrupted run leaves it behind as such.
func newState(rt Runtime, s suites.Scenario, log *slog.Logger) (*State, error) {
	if s.Settle == 0 {
		s.Settle = 5 * time.Second
	}
	ns := "zd-" + utilrand.String(6)
	dir := filepath.Join(rt.OutDir, s.Dir())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	out := &outcome.Outcome{
		Schema: outcome.Schema, Started: time.Now().UTC(), Environment: rt.Environment, RecordsFile: recordsFile,
		Scenario: outcome.ScenarioInfo{ID: s.ID(), Workload: string(s.Workload), Profile: s.Profile.Record(), Disruption: s.Disruption.Name(),
			Paths: s.PathNames(), Namespace: ns, Trial: s.Trial},
		Verdict: outcome.Verdict{Result: outcome.Error, Reason: interrupted, Expected: s.Expectation()},
	}
	if err := out.Write(dir); err != nil {
		return nil, err
	}
	return &State{rt: rt, sc: s, ns: ns, dir: dir, out: out, log: log}, nil
}

// The files beside outcome.json.
const (
	recordsFile  = "records.jsonl"
	timelineFile = "timeline.jsonl"
)
