package app

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/cmd/zerodrop/inputs"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites/runner"

	"github.com/spf13/cobra"

	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/reports"
	"github.com/zerodrop/zerodrop/suites"
)

func newRunCmd(g *globals) *cobra.Command {
	var labels, out, name, cacheDir, stateDir, sourceDir string
	var list, keep bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the named scenarios on a running cluster, stream outcomes to --out, render the report, and exit non-zero unless every verdict is as expected",
		Long: `Run the scenarios the label filter selects (Ginkgo's syntax), one after another, on a
cluster that 'zerodrop up' or 'make cluster' brought up. Each scenario writes outcome.json (marked
incomplete until it ends), records.jsonl and timeline.jsonl under --out as it runs; report.md and
report.html follow. Run it from the zerodrop source tree: the fixture images are built from it.

Labels: ` + strings.Join(suites.LabelNames(), ", ") + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := suites.Select(suites.GatingSuite(), labels)
			if err != nil {
				return badInput(fmt.Errorf("run: --labels: %w", err))
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
			if out == "" {
				out = filepath.Join("out", time.Now().UTC().Format("20060102-150405"))
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return badInput(fmt.Errorf("run: --out %s: %w", out, err))
			}
			log := g.logger()
			ctx := cmd.Context()
			in, err := inputs.Resolve(ctx, kind.Auto, cacheDir, stateDir).WithSource(sourceDir)
			if err != nil {
				return badInput(fmt.Errorf("run: %w", err))
			}
			spec := kind.Spec{Name: name, KubeconfigPath: in.Kubeconfig(name)}.Defaults()
			c, err := kind.Attach(spec, log)
			if err != nil {
				return fmt.Errorf("run: %w", err)
			}
			if err := c.WaitReady(ctx); err != nil {
				return fmt.Errorf("run: %w", err)
			}
			scenarios := make([]suites.Scenario, len(entries))
			for i, e := range entries {
				scenarios[i] = e.Scenario
			}
			rt, err := runner.Setup(ctx, runner.SetupOptions{Cluster: c, Mode: in.Mode, CacheDir: in.CacheDir, SourceDir: in.SourceDir, OutDir: out, Log: log}, scenarios)
			if err != nil {
				return fmt.Errorf("run: %w", err)
			}
			rt.KeepOnFailure = keep
			fmt.Fprintf(g.stdout, "%d scenarios, outcomes in %s\n", len(entries), out)
			var unexpected []string
			for _, e := range entries {
				o, err := rt.Run(ctx, e.Scenario)
				switch {
				case ctx.Err() != nil:
					return fmt.Errorf("run: interrupted during %s; its outcome is marked incomplete in %s", e.Scenario.ID(), out)
				case err != nil:
					fmt.Fprintf(g.stdout, "ERROR  %s: %v\n", e.Scenario.ID(), err)
					unexpected = append(unexpected, e.Scenario.ID())
					continue
				}
				mark := "ok    "
				if !o.Verdict.AsExpected {
					mark = "NOT OK"
					unexpected = append(unexpected, e.Scenario.ID())
				}
				fmt.Fprintf(g.stdout, "%s %s: %s, expected %s: %s\n", mark, e.Scenario.ID(), o.Verdict.Result, o.Verdict.Expected, o.Verdict.Reason)
			}
			outs, err := outcome.LoadDirs(out)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, "report.md"), []byte(reports.Markdown(outs)), 0o644); err != nil {
				return fmt.Errorf("run: %w", err)
			}
			html, err := reports.HTML(outs, nil)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, "report.html"), []byte(html), 0o644); err != nil {
				return fmt.Errorf("run: %w", err)
			}
			fmt.Fprintf(g.stdout, "report: %s\n", filepath.Join(out, "report.md"))
			if len(unexpected) > 0 {
				return fmt.Errorf("run: %d of %d scenarios not as expected: %s", len(unexpected), len(entries), strings.Join(unexpected, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&labels, "labels", "l", string(suites.Gating), "label filter selecting the scenarios, e.g. 'gating || ingress' or 'disruptions && !control'")
	cmd.Flags().StringVarP(&out, "out", "o", "", "directory for outcomes and reports (default out/<UTC time>)")
	cmd.Flags().StringVar(&name, "name", kind.DefaultName, "the kind cluster to run on")
	cmd.Flags().BoolVar(&list, "list", false, "list the selected scenarios and exit; needs no cluster")
	cmd.Flags().BoolVar(&keep, "keep-on-failure", false, "keep the namespace of a scenario whose verdict is not as expected")
	cmd.Flags().StringVar(&sourceDir, "source-dir", "", "the zerodrop source tree the fixture images are built from (default: the one at or above the working directory)")
	addDirFlags(cmd, &cacheDir, &stateDir)
	return cmd
}
