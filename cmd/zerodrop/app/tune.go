package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zerodrop/zerodrop/internal/clusterlock"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/suites/scenariofile"
	"github.com/zerodrop/zerodrop/suites/tune"
)

// tuneFlags are tune's own flags; the cluster's are execFlags'.
type tuneFlags struct {
	file, path, disruption string
	max, margin            time.Duration
}

// The bounds of tune's flags.
const (
	tuneMaxLimit    = 10 * time.Minute
	tuneDefaultMax  = 30 * time.Second
	tuneDefaultGap  = 5 * time.Second
	tuneDefaultPath = suites.PathNodePort
)

func newTuneCmd(g *globals) *cobra.Command {
	var t tuneFlags
	var f execFlags
	cmd := &cobra.Command{
		Use:   "tune",
		Short: "Find the smallest preStop sleep (and the grace period it needs) that gives your workload zero failed requests on this cluster, by real runs",
		Long: `Search, by real runs on the cluster, for the smallest preStop sleep that gives the scenario file's
workload zero failed requests on one path under one disruption, and print the patch to apply.

Each candidate is the workload with its app container's preStop hook replaced by the sleep action
(lifecycle.preStop.sleep.seconds, GA in Kubernetes 1.34; none for 0 s) and terminationGracePeriodSeconds
set to the sleep plus the grace period the manifest gives (the app keeps its whole budget after SIGTERM).
A candidate passes only when every one of its --repeat runs passes: zero failed requests, the
disruption really done, every run valid (a run that proves nothing does not pass). The search climbs
0, 1, 2, 4, 8, 16 s ... up to --max to the first candidate that passes, then bisects between the last
one that failed and it.

It prints the strategic merge patch for the controller (also written to --out as patch.yaml), with the
grace period it needs: the sleep, the app's longest shutdown after SIGTERM measured in the runs
(rounded up to a second) and --margin; and the endpoint propagation tail measured on the path, when
the app names its pod in its answers (the X-Pod-Name header) — otherwise what the search bounds.
Every run's outcome and report.md are under --out. Exit status 0 when a candidate passed, 1 when none
did up to --max, 2 for bad input (before any cluster work).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			base, path, err := t.validate(&f)
			if err != nil {
				return err
			}
			return runTune(cmd, g, t, f, base, path)
		},
	}
	cmd.Flags().StringVarP(&t.file, "file", "f", "zerodrop.yaml", "the scenario file whose workload is tuned")
	cmd.Flags().StringVar(&t.path, "path", string(tuneDefaultPath), "the path tuned, one of the file's paths (nodeport, clusterip; +ka for a keep-alive client)")
	cmd.Flags().StringVar(&t.disruption, "disruption", "", "the disruption each run does, one of the file's (default: its first)")
	cmd.Flags().DurationVar(&t.max, "max", tuneDefaultMax, "the longest preStop sleep tried, in whole seconds")
	cmd.Flags().DurationVar(&t.margin, "margin", tuneDefaultGap, "what the recommended grace period adds to the sleep and the app's measured shutdown")
	cmd.Flags().IntVar(&f.repeat, "repeat", 2, "runs per candidate; a candidate passes only when every one passes")
	cmd.Flags().StringVarP(&f.out, "out", "o", "", "directory for every run's outcome, report.md and patch.yaml (default out/<UTC time>)")
	cmd.Flags().StringVar(&f.name, "name", kind.DefaultName, "the kind cluster to run on")
	f.addClusterFlags(cmd)
	cmd.Flags().BoolVar(&f.keep, "keep-on-failure", false, "keep the namespace of a run that did not pass")
	cmd.Flags().DurationVar(&f.waitLock, "wait-lock", clusterlock.DefaultWait, "while another zerodrop process uses the cluster, wait this long for its lock; 0 refuses at once")
	cmd.Flags().StringVar(&f.sourceDir, "source-dir", "", "the zerodrop source tree the load generator's image is built from (default: the one at or above the working directory)")
	addDirFlags(cmd, &f.cacheDir, &f.stateDir)
	return cmd
}

// validate checks every flag and the scenario file before any cluster
// work (exit status 2, naming the flag) and returns the scenario tuned.
func (t *tuneFlags) validate(f *execFlags) (suites.Scenario, suites.Path, error) {
	bad := func(format string, a ...any) (suites.Scenario, suites.Path, error) {
		return suites.Scenario{}, "", badInput(fmt.Errorf("tune: "+format, a...))
	}
	if t.max < time.Second || t.max > tuneMaxLimit || t.max%time.Second != 0 {
		return bad("--max %s: use whole seconds from 1s to %s (the preStop sleep action counts seconds)", t.max, tuneMaxLimit)
	}
	if t.margin < 0 || t.margin > tuneMaxLimit {
		return bad("--margin %s: use 0 to %s", t.margin, tuneMaxLimit)
	}
	if f.repeat < 1 || f.repeat > 100 {
		return bad("--repeat %d: use 1 to 100", f.repeat)
	}
	if f.waitLock < 0 {
		return bad("--wait-lock %s: use 0 (refuse at once) or a duration to wait", f.waitLock)
	}
	path, err := suites.ParsePath(t.path)
	if err != nil {
		return bad("--path: %w", err)
	}
	var k suites.DisruptionKind
	if t.disruption != "" {
		if k, err = suites.ParseDisruption(t.disruption); err != nil {
			return bad("--disruption: %w", err)
		}
		if why := k.Ungraceful(); why != "" {
			return bad("--disruption %s: no preStop helps: %s", k, why)
		}
	}
	file, err := scenariofile.Load(t.file)
	if err != nil {
		return suites.Scenario{}, "", badInput(fmt.Errorf("tune: %w", err))
	}
	scenarios, err := file.Scenarios()
	if err != nil {
		return suites.Scenario{}, "", fmt.Errorf("tune: %w", err)
	}
	if len(scenarios) != len(file.Spec.Disruptions) {
		return suites.Scenario{}, "", fmt.Errorf("tune: %s: %d scenarios of %d disruptions", t.file, len(scenarios), len(file.Spec.Disruptions))
	}
	base := -1
	for i, d := range file.Spec.Disruptions {
		if (t.disruption == "" && d.Ungraceful() == "") || d == k {
			base = i
			break
		}
	}
	switch {
	case base < 0 && t.disruption != "":
		return bad("--disruption %s: %s does not do it (its disruptions: %s); add it to spec.disruptions", k, t.file, joinKinds(file.Spec.Disruptions))
	case base < 0:
		return bad("%s: every disruption of spec.disruptions is ungraceful (no preStop helps): pass --disruption", t.file)
	}
	s := scenarios[base]
	if !slices.Contains(s.Paths, path) {
		return bad("--path %s: %s does not load it (its paths: %s); add it to spec.paths", path, t.file, strings.Join(s.PathNames(), ", "))
	}
	if f.out == "" {
		f.out = filepath.Join("out", nowStamp())
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return bad("--out %s: %w", f.out, err)
	}
	f.parallel = 1
	return s, path, nil
}

func joinKinds(ks []suites.DisruptionKind) string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = string(k)
	}
	return strings.Join(out, ", ")
}

// errNothingPassed: tune tried every candidate up to --max and none passed.
var errNothingPassed = errors.New("no preStop sleep passed")

// runTune searches on the cluster and prints what it found.
func runTune(cmd *cobra.Command, g *globals, t tuneFlags, f execFlags, base suites.Scenario, path suites.Path) (err error) {
	ctx := cmd.Context()
	rt, release, err := openCluster(ctx, g, "tune", f, []suites.Scenario{base})
	if err != nil {
		return err
	}
	defer func() {
		if lerr := release(); lerr != nil {
			err = errors.Join(err, fmt.Errorf("tune: %w: the runs in %s may be disturbed; run again", lerr, f.out))
		}
	}()
	rt.KeepOnFailure = f.keep
	container := base.App.Target.Container
	appGrace := base.Profile.GraceSeconds
	fmt.Fprintf(g.stdout, "tune: %s %s under %s on %s, %d run(s) per candidate, preStop up to %s; outcomes in %s\n",
		base.Workload, base.App.Target.Name, base.Disruption.Name(), path, f.repeat, t.max, f.out)
	run := tune.RunFunc(func(ctx context.Context, c tune.Candidate, trial int) (tune.Trial, error) {
		s, err := tune.Apply(base, path, c)
		if err != nil {
			return tune.Trial{}, err
		}
		if f.repeat > 1 {
			s.Trial = trial
		}
		o, err := rt.Run(ctx, s)
		if err != nil && o == nil {
			return tune.Trial{}, err
		}
		if ctx.Err() != nil {
			return tune.Trial{}, ctx.Err()
		}
		tr := tune.TrialOf(o, path, c.PreStopSeconds, container)
		tr.Dir = filepath.Join(f.out, s.Dir())
		return tr, nil
	})
	res, serr := tune.Search(ctx, run, tune.Options{
		Max: int(t.max / time.Second), Repeat: f.repeat,
		// the app keeps the whole budget its manifest gives it after SIGTERM
		Grace: func(preStop int) int64 { return int64(preStop) + appGrace },
		Progress: func(c tune.Candidate, trial int, tr tune.Trial) {
			what := string(tr.Result)
			if tr.Failed > 0 || tr.Result != outcome.Pass {
				what += ": " + tr.Reason
			}
			fmt.Fprintf(g.stdout, "  %-24s trial %d: %s\n", c.String()+",", trial, what)
		},
	})
	if outs, lerr := outcome.LoadDirs(f.out); lerr == nil {
		if werr := writeReports(f.out, "tune", outs, nil); werr != nil {
			serr = errors.Join(serr, werr)
		}
	}
	if serr != nil {
		return serr
	}
	if !res.Found {
		return fmt.Errorf("tune: %w up to --max %s on %s (the largest, %d s, failed): the app needs more than a preStop sleep, or a longer one; report: %s",
			errNothingPassed, t.max, path, res.Failing, filepath.Join(f.out, "report.md"))
	}
	rec, err := tune.Recommend(res, t.margin)
	if err != nil {
		return err
	}
	patch := rec.Patch(container)
	if err := os.WriteFile(filepath.Join(f.out, "patch.yaml"), []byte(patch), 0o644); err != nil {
		return fmt.Errorf("tune: %w", err)
	}
	fmt.Fprint(g.stdout, describe(res, rec, base, path, f))
	fmt.Fprintf(g.stdout, "\n# kubectl patch %s %s --patch-file %s\n%s", strings.ToLower(string(base.Workload)), base.App.Target.Name,
		filepath.Join(f.out, "patch.yaml"), patch)
	return nil
}

// describe says what was found and what the grace period rests on.
func describe(res tune.Result, rec tune.Recommendation, base suites.Scenario, path suites.Path, f execFlags) string {
	var b strings.Builder
	if res.Failing >= 0 {
		fmt.Fprintf(&b, "smallest preStop that passed: %d s (%d s did not)\n", res.PreStop, res.Failing)
	} else {
		fmt.Fprintf(&b, "smallest preStop that passed: 0 s: the workload drops nothing on %s without one\n", path)
	}
	if rec.TailMeasured {
		fmt.Fprintf(&b, "propagation tail on %s: %s (the longest after SIGTERM a terminating pod still got requests)\n", path, rec.Tail.Round(time.Millisecond))
	} else {
		fmt.Fprintf(&b, "propagation tail on %s: not measured (the app names no pod in its answers: X-Pod-Name); ", path)
		if res.Failing >= 0 {
			fmt.Fprintf(&b, "the search bounds it: requests still reached pods that exited %d s after their deletion, none that exited %d s after\n", res.Failing, res.PreStop)
		} else {
			b.WriteString("no request reached a pod after its exit\n")
		}
	}
	if rec.Shutdown >= 0 {
		fmt.Fprintf(&b, "app shutdown after SIGTERM: at most %s (the kubelet reports an exit to the second)\n", rec.Shutdown.Round(10*time.Millisecond))
	} else {
		b.WriteString("app shutdown after SIGTERM: not measured (no pod seen exiting)\n")
	}
	if rec.Killed > 0 {
		fmt.Fprintf(&b, "SIGKILLed app containers in the runs: %d (the grace period ran out)\n", rec.Killed)
	}
	shutdown := max(rec.Shutdown, 0)
	fmt.Fprintf(&b, "grace period: %d s = preStop %d s + shutdown %s (rounded up to a second) + margin %s\n", rec.GraceSeconds, rec.PreStopSeconds, shutdown.Round(10*time.Millisecond), rec.Margin)
	fmt.Fprintf(&b, "the search: %d candidates, %d runs", len(res.Steps), runs(res))
	if f.repeat > 1 {
		fmt.Fprintf(&b, " (%d per passing candidate)", f.repeat)
	}
	fmt.Fprintf(&b, "; report: %s\n", filepath.Join(f.out, "report.md"))
	return b.String()
}

func runs(res tune.Result) int {
	n := 0
	for _, s := range res.Steps {
		n += len(s.Trials)
	}
	return n
}
