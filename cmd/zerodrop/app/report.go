package app

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/zerodrop/zerodrop/reports"
)

func newReportCmd(g *globals) *cobra.Command {
	var out string
	var failOnUnexpected bool
	cmd := &cobra.Command{
		Use:   "report DIR...",
		Short: "Render outcomes on disk as a Markdown matrix (profile × disruption × path); needs no cluster",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, dirs []string) error {
			for _, d := range dirs {
				if st, err := os.Stat(d); err != nil || !st.IsDir() {
					return badInput(fmt.Errorf("report: %s is not a directory of outcomes (give the --out of a run, e.g. out/<time>)", d))
				}
			}
			outs, err := reports.LoadDirs(dirs...)
			if err != nil {
				return err
			}
			md := reports.Markdown(outs)
			if out == "" || out == "-" {
				fmt.Fprint(g.stdout, md)
			} else if err := os.WriteFile(out, []byte(md), 0o644); err != nil {
				return fmt.Errorf("report: %w", err)
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
	cmd.Flags().BoolVar(&failOnUnexpected, "fail", false, "exit non-zero when any verdict is not as expected")
	return cmd
}
