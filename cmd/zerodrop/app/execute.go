package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/zerodrop/zerodrop/cmd/zerodrop/inputs"
	"github.com/zerodrop/zerodrop/internal/clusterlock"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/kind/push"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/reports"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/suites/runner"
	"github.com/zerodrop/zerodrop/workload"
)

// execFlags are what `run` and `matrix` share: where the cluster and the
// outputs are, how many trials and how many at once.
type execFlags struct {
	out, name, cacheDir, stateDir, sourceDir, baseline string
	keep                                               bool
	repeat, parallel                                   int
	waitLock                                           time.Duration
	// kubeconfig and context name a kind cluster zerodrop did not create;
	// node-level disruptions there need allowNodeDisruptions.
	kubeconfig, context  string
	allowNodeDisruptions bool
	// registry is where the images zerodrop builds are pushed for a
	// --kubeconfig cluster that is not a kind cluster of this host.
	registry string
}

func (f *execFlags) add(cmd *cobra.Command, parallel int) {
	cmd.Flags().StringVarP(&f.out, "out", "o", "", "directory for outcomes and reports (default out/<UTC time>)")
	cmd.Flags().StringVar(&f.name, "name", kind.DefaultName, "the kind cluster to run on")
	cmd.Flags().BoolVar(&f.keep, "keep-on-failure", false, "keep the namespace of a scenario whose verdict is not as expected")
	cmd.Flags().IntVar(&f.repeat, "repeat", 1, "run every scenario this many times; cells whose trials disagree are flaky and fail")
	cmd.Flags().IntVar(&f.parallel, "parallel", parallel, "scenarios at once, each in its own namespace (node-level disruptions always run alone)")
	cmd.Flags().StringVar(&f.baseline, "baseline", "", "the outcomes of an earlier run: fail when a cell got worse")
	cmd.Flags().DurationVar(&f.waitLock, "wait-lock", clusterlock.DefaultWait, "while another zerodrop process uses the cluster (its lock, the Lease "+clusterlock.DefaultNamespace+"/"+clusterlock.DefaultName+"), wait this long for it; 0 refuses at once")
	f.addClusterFlags(cmd)
	cmd.Flags().StringVar(&f.sourceDir, "source-dir", "", "the zerodrop source tree the fixture images are built from (default: the one at or above the working directory)")
	addDirFlags(cmd, &f.cacheDir, &f.stateDir)
}

// addClusterFlags adds the flags that choose a cluster zerodrop did not
// create, and what it may do there.
func (f *execFlags) addClusterFlags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "run on an existing cluster zerodrop did not create, through this kubeconfig (read, never written): a kind cluster of this host, or any cluster with --registry; instead of --name")
	cmd.Flags().StringVar(&f.context, "context", "", "the --kubeconfig context to use (default its current context)")
	cmd.Flags().StringVar(&f.registry, "registry", "", "for a --kubeconfig cluster that is not a kind cluster of this host: push the images zerodrop builds to this registry (host[:port][/path], credentials from docker login) for its nodes to pull; load enters in-cluster only (clusterip, headless)")
	cmd.Flags().BoolVar(&f.allowNodeDisruptions, "allow-node-disruptions", false, "on a --kubeconfig cluster, allow disruptions that act on a whole node (drain, stop): they cordon and evict everything on it")
}

// validate checks the flags before any cluster work.
func (f *execFlags) validate(verb string) error {
	if f.repeat < 1 || f.repeat > 100 {
		return badInput(fmt.Errorf("%s: --repeat %d: use 1 to 100", verb, f.repeat))
	}
	if f.waitLock < 0 {
		return badInput(fmt.Errorf("%s: --wait-lock %s: use 0 (refuse at once) or a duration to wait", verb, f.waitLock))
	}
	if f.parallel < 1 || f.parallel > 16 {
		return badInput(fmt.Errorf("%s: --parallel %d: use 1 to 16", verb, f.parallel))
	}
	if f.baseline != "" {
		if _, err := outcome.LoadDirs(f.baseline); err != nil {
			return badInput(fmt.Errorf("%s: --baseline: %w", verb, err))
		}
	}
	if f.out == "" {
		f.out = filepath.Join("out", nowStamp())
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return badInput(fmt.Errorf("%s: --out %s: %w", verb, f.out, err))
	}
	return nil
}

// execute runs the scenarios on the cluster, prints one line per scenario,
// writes report.md, report.html and junit.xml, and returns an error unless
// every cell is as expected (and none is flaky, or worse than the baseline).
func execute(ctx context.Context, g *globals, verb string, f execFlags, scenarios []suites.Scenario) (err error) {
	rt, release, err := openCluster(ctx, g, verb, f, scenarios)
	if err != nil {
		return err
	}
	defer func() {
		// a run that lost the lock shared the cluster: its verdicts do not count
		if lerr := release(); lerr != nil {
			err = errors.Join(err, fmt.Errorf("%s: %w: the verdicts in %s may be disturbed; run again", verb, lerr, f.out))
		}
	}()
	rt.KeepOnFailure = f.keep
	var jobs []runner.Job
	for trial := 1; trial <= f.repeat; trial++ {
		for _, s := range scenarios {
			if f.repeat > 1 {
				s.Trial = trial
			}
			jobs = append(jobs, runner.Job{Scenario: s, NodeLevel: nodeLevel(s)})
		}
	}
	fmt.Fprintf(g.stdout, "%d scenarios (%d trials each), up to %d at once; outcomes in %s\n", len(scenarios), f.repeat, f.parallel, f.out)
	var mu sync.Mutex
	var unexpected []string
	rt.RunAll(ctx, jobs, f.parallel, func(j runner.Job, o *outcome.Outcome, err error) {
		mu.Lock()
		defer mu.Unlock()
		id := j.Scenario.Dir()
		switch {
		case err != nil:
			fmt.Fprintf(g.stdout, "ERROR  %s: %v\n", id, err)
			unexpected = append(unexpected, id)
		case !o.Verdict.AsExpected:
			fmt.Fprintf(g.stdout, "NOT OK %s: %s, expected %s: %s\n", id, o.Verdict.Result, o.Verdict.Expected, o.Verdict.Reason)
			unexpected = append(unexpected, id)
		default:
			fmt.Fprintf(g.stdout, "ok     %s: %s, expected %s\n", id, o.Verdict.Result, o.Verdict.Expected)
		}
	})
	if ctx.Err() != nil {
		return fmt.Errorf("%s: interrupted; the outcomes in %s of the scenarios that did not end are marked incomplete", verb, f.out)
	}
	outs, err := outcome.LoadDirs(f.out)
	if err != nil {
		return err
	}
	var changes []reports.Change
	if f.baseline != "" {
		base, err := outcome.LoadDirs(f.baseline)
		if err != nil {
			return err
		}
		changes = reports.Compare(base, outs)
	}
	if err := writeReports(f.out, verb, outs, changes); err != nil {
		return err
	}
	fmt.Fprintf(g.stdout, "report: %s\n", filepath.Join(f.out, "report.md"))
	var worse []string
	for _, ch := range changes {
		if ch.Worse {
			worse = append(worse, ch.Scenario+": "+ch.What)
		}
	}
	flaky := reports.Flaky(outs)
	switch {
	case len(unexpected) > 0:
		return fmt.Errorf("%s: %d of %d scenarios not as expected: %s", verb, len(unexpected), len(jobs), strings.Join(unexpected, ", "))
	case len(flaky) > 0:
		return fmt.Errorf("%s: %d cells are flaky (their trials disagree): %s", verb, len(flaky), strings.Join(flaky, ", "))
	case len(worse) > 0:
		return fmt.Errorf("%s: worse than the baseline: %s", verb, strings.Join(worse, "; "))
	}
	return nil
}

// lockCluster holds the cluster lock until the release func: two zerodrop
// processes on one cluster share its node ports, the nodes a drain cordons
// and the machine's cores, and disturb each other's verdicts.
func lockCluster(ctx context.Context, log *slog.Logger, cs kubernetes.Interface, f execFlags, verb string) (func() error, error) {
	id := inputs.LockIdentity(fmt.Sprintf("zerodrop %s (outcomes in %s)", verb, f.out))
	// a Ctrl-C ends the wait, not the hold: an interrupted run keeps the
	// cluster until it has cleaned up
	release, err := clusterlock.AcquireUntilRelease(ctx, cs, clusterlock.Options{Identity: id.String(), Wait: f.waitLock, Log: log})
	var held *clusterlock.HeldError
	switch {
	case errors.As(err, &held) && f.waitLock == 0:
		return nil, fmt.Errorf("%s: %w; to wait for it, pass --wait-lock %s", verb, err, clusterlock.DefaultWait)
	case errors.As(err, &held):
		return nil, fmt.Errorf("%s: %w; pass a longer --wait-lock to wait more", verb, err)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", verb, err)
	}
	return release, nil
}

// externalConfig is the client configuration of a --kubeconfig cluster
// (nil without --kubeconfig), after checking, before any cluster work, that
// the scenarios fit a cluster zerodrop did not create: there it creates
// and deletes only its scenarios' namespaces (and holds its run lock), so
// nothing that needs its own cluster-wide install (Traefik for the ingress
// and gateway paths, OpenKruise for a CloneSet or a SidecarSet) and no node-level
// disruption unless --allow-node-disruptions says so.
func (f *execFlags) externalConfig(verb string, scenarios []suites.Scenario) (*rest.Config, error) {
	if f.kubeconfig == "" {
		if f.context != "" {
			return nil, fmt.Errorf("%s: --context %s: pass the --kubeconfig file it is in too", verb, f.context)
		}
		if f.allowNodeDisruptions {
			return nil, fmt.Errorf("%s: --allow-node-disruptions is for a --kubeconfig cluster: on zerodrop's own clusters node-level disruptions always run", verb)
		}
		if f.registry != "" {
			return nil, fmt.Errorf("%s: --registry %s is for a --kubeconfig cluster that is not a kind cluster of this host: zerodrop's own clusters load its images into their nodes", verb, f.registry)
		}
		return nil, nil
	}
	if f.registry != "" {
		if err := push.CheckPrefix(f.registry); err != nil {
			return nil, fmt.Errorf("%s: --registry: %w", verb, err)
		}
	}
	raw, err := clientcmd.LoadFromFile(f.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("%s: --kubeconfig %s: %w", verb, f.kubeconfig, err)
	}
	ctxName := f.context
	if ctxName == "" {
		ctxName = raw.CurrentContext
	}
	if _, ok := raw.Contexts[ctxName]; !ok || ctxName == "" {
		names := make([]string, 0, len(raw.Contexts))
		for n := range raw.Contexts {
			names = append(names, n)
		}
		sort.Strings(names)
		what := "--context " + f.context
		if f.context == "" {
			what = "its current-context " + strconv.Quote(raw.CurrentContext)
		}
		return nil, fmt.Errorf("%s: --kubeconfig %s: %s is not one of its contexts (%s): pass --context NAME", verb, f.kubeconfig, what, strings.Join(names, ", "))
	}
	var errs []string
	for _, s := range scenarios {
		switch {
		case s.Uses(suites.PathIngress, suites.PathGateway):
			errs = append(errs, s.ID()+": the ingress and gateway paths go through zerodrop's own Traefik, which it installs only in clusters it created: load nodeport, clusterip or headless")
		case s.Workload == workload.CloneSet:
			errs = append(errs, s.ID()+": a CloneSet needs OpenKruise, which zerodrop installs only in clusters it created")
		case s.UsesSidecarSet():
			errs = append(errs, s.ID()+": a SidecarSet needs OpenKruise, which zerodrop installs only in clusters it created")
		case nodeLevel(s) && !f.allowNodeDisruptions:
			errs = append(errs, s.ID()+": "+s.Disruption.Name()+" acts on a whole node of a cluster zerodrop did not create: pass --allow-node-disruptions to allow it")
		case f.registry != "":
			if why := remoteMisfit(s); why != "" {
				errs = append(errs, s.ID()+": "+why)
			}
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: --kubeconfig %s: %d scenarios do not fit a cluster zerodrop did not create:\n  %s", verb, f.kubeconfig, len(errs), strings.Join(errs, "\n  "))
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, &clientcmd.ConfigOverrides{CurrentContext: ctxName}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%s: --kubeconfig %s, context %s: %w", verb, f.kubeconfig, ctxName, err)
	}
	return cfg, nil
}

// remoteMisfit says why a scenario cannot run on a --registry cluster,
// whose nodes zerodrop does not reach ("" when it can).
func remoteMisfit(s suites.Scenario) string {
	switch {
	case s.Uses(suites.PathNodePort):
		return "the nodeport path enters from this host at a kind node's address; on a --registry cluster load the in-cluster paths: clusterip, headless"
	case s.Disruption.Name() == "kill-container" || s.Disruption.Name() == "stop-node":
		return s.Disruption.Name() + " acts in a node's container runtime, which zerodrop reaches only on a kind cluster of this host (drop --registry)"
	case s.App != nil && len(s.App.Images) > 0:
		return "its workload's image archives (workload.images) load into kind nodes only: with --registry, name images the cluster pulls in the manifests and drop workload.images"
	}
	return ""
}

// nodeLevel reports whether a scenario's disruption acts on a whole node.
func nodeLevel(s suites.Scenario) bool {
	switch s.Disruption.Name() {
	case "drain-node", "stop-node":
		return true
	}
	return false
}

// writeReports writes report.md, report.html and junit.xml.
func writeReports(dir, suite string, outs []*outcome.Outcome, changes []reports.Change) error {
	html, err := reports.HTML(outs, changes)
	if err != nil {
		return err
	}
	junit, err := reports.JUnit("zerodrop "+suite, outs)
	if err != nil {
		return err
	}
	for name, body := range map[string][]byte{"report.md": []byte(reports.MarkdownWithChanges(outs, changes)), "report.html": []byte(html), "junit.xml": junit} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
			return fmt.Errorf("%s: %w", suite, err)
		}
	}
	return nil
}

// openCluster attaches to the cluster, takes its lock and sets up what the
// scenarios need: the Runtime to run them, and the release of the lock
// (its error: the lock was lost, and the cluster shared).
func openCluster(ctx context.Context, g *globals, verb string, f execFlags, scenarios []suites.Scenario) (runner.Runtime, func() error, error) {
	fail := func(err error) (runner.Runtime, func() error, error) { return runner.Runtime{}, nil, err }
	log := g.logger()
	external, err := f.externalConfig(verb, scenarios)
	if err != nil {
		return fail(badInput(err))
	}
	in, err := inputs.Resolve(ctx, kind.Auto, f.cacheDir, f.stateDir).WithSource(f.sourceDir)
	if err != nil {
		return fail(badInput(fmt.Errorf("%s: %w", verb, err)))
	}
	var c *kind.Cluster
	var publish runner.Publisher
	switch {
	case external != nil && f.registry != "":
		c, err = kind.AttachRemote(ctx, external, f.context, log)
		publish = push.Registry{Prefix: f.registry, Log: log}
	case external != nil:
		c, err = kind.AttachConfig(ctx, external, log)
		if errors.Is(err, kind.ErrNotKind) {
			return fail(fmt.Errorf("%s: --kubeconfig %s: %w; zerodrop loads the images it builds (its load generator, the fixture) into kind's node containers: for any other cluster, pass --registry HOST[/PATH] that it pulls from", verb, f.kubeconfig, err))
		}
	default:
		spec := kind.Spec{Name: f.name, KubeconfigPath: in.Kubeconfig(f.name)}.Defaults()
		c, err = kind.Attach(spec, log)
		if errors.Is(err, kind.ErrNoCluster) {
			return fail(fmt.Errorf("%s: %w: create it with `zerodrop up --name %s`", verb, err, f.name))
		}
	}
	if err != nil {
		return fail(fmt.Errorf("%s: %w", verb, err))
	}
	if err := c.WaitReady(ctx); err != nil {
		return fail(fmt.Errorf("%s: %w", verb, err))
	}
	cs, err := kubernetes.NewForConfig(c.Client.RESTConfig())
	if err != nil {
		return fail(fmt.Errorf("%s: %w", verb, err))
	}
	release, err := lockCluster(ctx, log, cs, f, verb)
	if err != nil {
		return fail(err)
	}
	rt, err := runner.Setup(ctx, runner.SetupOptions{Cluster: c, Mode: in.Mode, CacheDir: in.CacheDir, SourceDir: in.SourceDir, OutDir: f.out, Publish: publish, Log: log}, scenarios)
	if err != nil {
		return fail(errors.Join(fmt.Errorf("%s: %w", verb, err), release()))
	}
	return rt, release, nil
}
