package app

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/suites/scenariofile"
)

func newValidateCmd(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "validate",
		Short: "Check a scenario file (zerodrop.yaml), its manifests and image archives, and say which scenarios it makes; needs no cluster",
		Long: `Check a scenario file — your own workload's manifests and what to do to it — the way 'zerodrop run -f'
does before any cluster work: the file decodes strictly, every manifest parses and belongs in zerodrop's own
namespace, the controller, its container and the target Service are among the manifests and fit together,
every disruption and path is known and fits the controller, the load is within the engine's bounds.
Exit status 0 with a one-line summary when it is valid, 2 with every problem otherwise.

The file's JSON Schema, for editors: docs/zerodrop.schema.json.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			scenarios, err := loadScenarioFile("validate", file)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s: valid: %s\n", file, summary(scenarios))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "zerodrop.yaml", "the scenario file")
	return cmd
}

// loadScenarioFile loads and checks a scenario file and makes its
// scenarios; every problem is the user's input (exit status 2).
func loadScenarioFile(command, path string) ([]suites.Scenario, error) {
	f, err := scenariofile.Load(path)
	if err != nil {
		return nil, badInput(fmt.Errorf("%s: %w", command, err))
	}
	scenarios, err := f.Scenarios()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", command, err)
	}
	if len(scenarios) == 0 {
		return nil, badInput(errors.New(command + ": the file makes no scenario"))
	}
	return scenarios, nil
}

// summary says in one line what the scenarios would run: the workload as
// recorded, the paths and rate, each scenario and what it must show.
func summary(scenarios []suites.Scenario) string {
	s := scenarios[0]
	p := s.Profile
	preStop := "no preStop"
	switch {
	case p.PreStop == fixtures.PreStopNone:
	case p.PreStopSeconds > 0:
		preStop = fmt.Sprintf("preStop %s %ds", p.PreStop, p.PreStopSeconds)
	default:
		preStop = fmt.Sprintf("preStop %s", p.PreStop)
	}
	expect := func(sc suites.Scenario) string {
		x := sc.Expectations()
		n, ka := x[outcome.NewConnections].Expect, x[outcome.KeepAlive].Expect
		if n == ka {
			return "expect " + string(n)
		}
		return fmt.Sprintf("expect %s, keep-alive %s", n, ka)
	}
	same := true
	for _, sc := range scenarios {
		same = same && expect(sc) == expect(s)
	}
	ids := make([]string, len(scenarios))
	for i, sc := range scenarios {
		ids[i] = sc.ID()
		if !same {
			ids[i] += " (" + expect(sc) + ")"
		}
	}
	line := fmt.Sprintf("%d scenarios of %s %s (%d replicas, %s, grace %ds) on %s at %d rps: %s",
		len(scenarios), s.Workload, s.App.Target.Name, p.Replicas, preStop, p.GraceSeconds, strings.Join(s.PathNames(), ", "), s.Plan.Rate, strings.Join(ids, ", "))
	if same {
		line += "; " + expect(s)
	}
	return line
}
