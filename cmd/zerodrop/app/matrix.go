package app

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/zerodrop/zerodrop/suites"
)

func newMatrixCmd(g *globals) *cobra.Command {
	var profiles, disruptions, paths, keepalive string
	var list, noExtras bool
	var f execFlags
	cmd := &cobra.Command{
		Use:   "matrix",
		Short: "Judge every graceful-shutdown profile under every disruption, on every path, with new and kept-alive connections, and render the comparison",
		Long: `Run the comparative matrix on a running cluster: every profile (naive, prestop-sleep,
sleep-action, app-drain, prestop-and-drain, grace-too-short) under every disruption (delete,
evict, drain, rolling-update, rollout-restart, scale-down, rollout-undo), each cell loading every
path at once (nodeport, clusterip, headless, ingress, gateway) with a new connection for every
request and with a keep-alive pool, each client judged against its own expectation; plus the
rolling-update strategies, the PodDisruptionBudget cases and the stuck rollouts. Cells whose disruption touches only
their own pods run side by side (--parallel); drains run alone. The exit status is 0 only when
every cell matches its expectation; report.md, report.html and junit.xml go to --out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var mf suites.MatrixFilter
			var err error
			if mf.Profiles, err = suites.ParseProfiles(profiles); err != nil {
				return badInput(fmt.Errorf("matrix: --profiles: %w", err))
			}
			if mf.Disruptions, err = suites.ParseDisruptions(disruptions); err != nil {
				return badInput(fmt.Errorf("matrix: --disruptions: %w", err))
			}
			if mf.Paths, err = suites.ParsePaths(paths); err != nil {
				return badInput(fmt.Errorf("matrix: --paths: %w", err))
			}
			if mf.Clients, err = suites.ParseClients(keepalive); err != nil {
				return badInput(fmt.Errorf("matrix: --keepalive: %w", err))
			}
			mf.Extras = !noExtras
			entries, err := suites.MatrixSet(mf)
			if err != nil {
				return badInput(fmt.Errorf("matrix: %w", err))
			}
			if len(entries) == 0 {
				return badInput(fmt.Errorf("matrix: the filters select no cell"))
			}
			if list {
				fmt.Fprint(g.stdout, suites.ExpectationsMarkdown(entries))
				return nil
			}
			if err := f.validate("matrix"); err != nil {
				return err
			}
			scenarios := make([]suites.Scenario, len(entries))
			for i, e := range entries {
				scenarios[i] = e.Scenario
			}
			return execute(cmd.Context(), g, "matrix", f, scenarios)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&profiles, "profiles", "", "comma-separated profiles (default all)")
	fl.StringVar(&disruptions, "disruptions", "", "comma-separated disruptions (default the seven: "+strings.Join(kinds(suites.MatrixDisruptions), ", ")+")")
	fl.StringVar(&paths, "paths", "", "comma-separated paths every cell loads at once (default all five)")
	fl.StringVar(&keepalive, "keepalive", "both", "clients: both, on (keep-alive only) or off (a new connection for every request)")
	fl.BoolVar(&noExtras, "no-extras", false, "leave out the strategy, PodDisruptionBudget and stuck-rollout cases")
	fl.BoolVar(&list, "list", false, "print the cells the filters select, with their expectations and why, and exit; needs no cluster")
	// one cell at a time: one cell's ten paths at 50 rps already saturated
	// 2 cores (docs/benchmarks.md); more cores may take --parallel
	f.add(cmd, 1)
	return cmd
}

func kinds(ks []suites.DisruptionKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return out
}
