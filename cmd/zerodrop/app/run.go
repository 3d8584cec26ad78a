package app

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zerodrop/zerodrop/suites"
)

func newRunCmd(g *globals) *cobra.Command {
	var labels, file, only string
	var list bool
	var f execFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the named scenarios on a running cluster, stream outcomes to --out, render the reports, and exit non-zero unless every verdict is as expected",
		Long: `Run the scenarios the label filter selects (Ginkgo's syntax) on a cluster that 'zerodrop up'
or 'make cluster' brought up. Each scenario writes outcome.json (marked incomplete until it ends),
records.jsonl and timeline.jsonl under --out as it runs; report.md, report.html and junit.xml
follow. Run it from the zerodrop source tree: the fixture images are built from it.

Labels: ` + strings.Join(suites.LabelNames(), ", ") + `.

-f FILE names a scenario file (zerodrop.yaml) with your own workload instead of the named sets: it is
checked, as 'zerodrop validate' does, before any cluster work (exit status 2 with every problem), and
its scenarios run as the named sets do.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var scenarios []suites.Scenario
			if file != "" {
				if cmd.Flags().Changed("labels") {
					return badInput(errors.New("run: --labels selects among the named sets; with -f the scenario file says what runs"))
				}
				var err error
				if scenarios, err = loadScenarioFile("run", file); err != nil {
					return err
				}
				if list {
					for _, s := range scenarios {
						fmt.Fprintf(g.stdout, "%s\t%s\n", s.ID(), file)
					}
					return nil
				}
			} else {
				entries, err := suites.Select(suites.GatingSuite(), labels)
				if err != nil {
					return badInput(fmt.Errorf("run: --labels: %w", err))
				}
				if only != "" {
					var kept []suites.Entry
					for _, e := range entries {
						if e.Scenario.ID() == only {
							kept = append(kept, e)
						}
					}
					if len(kept) == 0 {
						return badInput(fmt.Errorf("run: --scenario %q: no scenario of --labels %q has that ID (see --list)", only, labels))
					}
					entries = kept
				}
				if len(entries) == 0 {
					return badInput(fmt.Errorf("run: --labels %q selects no scenario (labels: %s)", labels, strings.Join(suites.LabelNames(), ", ")))
				}
				if list {
					for _, e := range entries {
						fmt.Fprintf(g.stdout, "%s\t%v\n", e.Scenario.ID(), e.Labels)
					}
					return nil
				}
				for _, e := range entries {
					scenarios = append(scenarios, e.Scenario)
				}
			}
			if err := f.validate("run"); err != nil {
				return err
			}
			return execute(cmd.Context(), g, "run", f, scenarios)
		},
	}
	cmd.Flags().StringVarP(&labels, "labels", "l", string(suites.Gating), "label filter selecting the scenarios, e.g. 'gating || ingress' or 'disruptions && !control'")
	cmd.Flags().StringVarP(&file, "file", "f", "", "a scenario file (zerodrop.yaml): run your own workload's scenarios instead of the named sets")
	cmd.Flags().BoolVar(&list, "list", false, "list the selected scenarios and exit; needs no cluster")
	cmd.Flags().StringVar(&only, "scenario", "", "run only the scenario of this ID among those the labels select (see --list)")
	f.add(cmd, 1)
	return cmd
}

// nowStamp names a run's default output directory.
func nowStamp() string { return time.Now().UTC().Format("20060102-150405") }
