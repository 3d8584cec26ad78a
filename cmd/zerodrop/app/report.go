package app

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/zerodrop/zerodrop/outcome"

	"github.com/spf13/cobra"

	"github.com/zerodrop/zerodrop/reports"
)

func newReportCmd(g *globals) *cobra.Command {
	var out, baseline, format string
	var failOnUnexpected bool
	cmd := &cobra.Command{
		Use:   "report DIR...",
		Short: "Render outcomes on disk as a Markdown or self-contained HTML report (profile × disruption × path); needs no cluster",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			for _, d := range dirs {
				if st, err := os.Stat(d); err != nil || !st.IsDir() {
					return badInput(fmt.Errorf("report: %s is not a directory of outcomes (give the --out of a run, e.g. out/<time>)", d))
				}
			}
			outs, err := outcome.LoadDirs(dirs...)
			if errors.Is(err, outcome.ErrNoOutcomes) {
				return badInput(fmt.Errorf("report: %w (give the --out directory of a run)", err))
			}
			if err != nil {
				return err
			}
			var changes []reports.Change
			if baseline != "" {
				base, err := outcome.LoadDirs(baseline)
				if err != nil {
					return badInput(fmt.Errorf("report: --baseline: %w", err))
				}
				changes = reports.Compare(base, outs)
			}
			if format == "" {
				format = "md"
				if strings.HasSuffix(out, ".html") {
					format = "html"
				}
			}
			var text string
			switch format {
			case "md", "markdown":
				text = reports.MarkdownWithChanges(outs, changes)
			case "html":
				if text, err = reports.HTML(outs, changes); err != nil {
					return err
				}
			default:
				return badInput(fmt.Errorf("report: --format %q: use md or html", format))
			}
			if out == "" || out == "-" {
				fmt.Fprint(g.stdout, text)
			} else if err := os.WriteFile(out, []byte(text), 0o644); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			if baseline != "" && failOnUnexpected {
				for _, c := range changes {
					if c.Worse {
						return fmt.Errorf("report: worse than the baseline: %s: %s", c.Scenario, c.What)
					}
				}
			}
			if failOnUnexpected {
				for _, o := range outs {
					if !o.Verdict.AsExpected {
						return fmt.Errorf("report: %s: %s (expected %s)", o.Scenario.ID, o.Verdict.Result, o.Verdict.Expected)
					}
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "o", "", "write the report to this file (default: stdout)")
	cmd.Flags().BoolVar(&failOnUnexpected, "fail", false, "exit non-zero when any verdict is not as expected (or, with --baseline, any cell got worse)")
	cmd.Flags().StringVar(&baseline, "baseline", "", "compare with the outcomes of an earlier run, cell by cell, and flag what got worse")
	cmd.Flags().StringVar(&format, "format", "", "md or html (default: html when --out ends in .html, else md)")
	return cmd
}
