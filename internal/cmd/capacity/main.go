// Command capacity measures what the default cluster holds on this machine
// (see docs/benchmarks.md): for each path alone, the CPU each process spends
// per request (the load generator, Docker's userland proxy, the ingress
// controller, the app, CoreDNS) with host-side load entering at the node's
// address or through the 127.0.0.1 port mappings; and, for the gate's paths
// all at once, the latency against the idle baseline as the rate grows.
//
// Each measurement is a real scenario of the runner whose disruption is an
// idle window: the load is warm on every path and to every pod, the window
// is measured, nothing is disrupted. It needs the cluster `make cluster`
// brings up.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/cmd/zerodrop/inputs"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/internal/procstat"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
	"github.com/zerodrop/zerodrop/suites/runner"
	"github.com/zerodrop/zerodrop/workload"
)

var groups = []procstat.Group{
	procstat.Comm("zerodrop (host load)", "capacity"),
	procstat.Comm("docker-proxy", "docker-proxy"),
	procstat.Comm("traefik", "traefik"),
	procstat.Comm("fixture pods", "zerodrop-fixtu"),
	procstat.Comm("loadgen pod", "zerodrop-loadge"),
	procstat.Comm("coredns", "coredns"),
	procstat.Comm("kube-apiserver", "kube-apiserver"),
	procstat.Comm("kube-proxy", "kube-proxy"),
}

func main() {
	var (
		window  = flag.Duration("window", 10*time.Second, "measured idle window per scenario")
		perPath = flag.String("per-path", "nodeport,nodeport+ka,clusterip,clusterip+ka,headless,ingress,ingress+ka,gateway,gateway+ka", "paths measured alone for CPU per request ('' to skip)")
		cpuRate = flag.Int("cpu-rate", 500, "rate of the per-path CPU measurement")
		entries = flag.String("entries", "direct,loopback", "where host-side load enters: direct (node address), loopback (127.0.0.1 mappings)")
		curve   = flag.String("curve", "nodeport,nodeport+ka,clusterip,clusterip+ka,ingress,ingress+ka,gateway,gateway+ka", "paths loaded at once for the capacity curve ('' to skip)")
		rates   = flag.String("rates", "100,250,500,1000", "rates per path of the capacity curve")
		out     = flag.String("out", "", "directory for the scenarios' outcomes (default a temporary one)")
		verbose = flag.Bool("v", false, "log phases")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *window, split(*perPath), *cpuRate, split(*entries), split(*curve), ints(*rates), *out, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "capacity:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, window time.Duration, perPath []string, cpuRate int, entryModes, curve []string, rates []int, out string, verbose bool) error {
	log := slog.New(slog.DiscardHandler)
	if verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if out == "" {
		d, err := os.MkdirTemp("", "zerodrop-capacity-")
		if err != nil {
			return err
		}
		out = d
	}
	in, err := inputs.Resolve(ctx, kind.Auto, "", "").WithSource("")
	if err != nil {
		return err
	}
	name := inputs.ClusterName()
	c, err := kind.Attach(kind.Spec{Name: name, KubeconfigPath: in.Kubeconfig(name)}, log)
	if errors.Is(err, kind.ErrNoCluster) {
		return fmt.Errorf("%w: create it with `make cluster CLUSTER=%s`", err, name)
	}
	if err != nil {
		return err
	}
	all := []suites.Scenario{scenario([]suites.Path{suites.PathIngress}, 100)}
	rt, err := runner.Setup(ctx, runner.SetupOptions{Cluster: c, Mode: in.Mode, CacheDir: in.CacheDir, SourceDir: in.SourceDir, OutDir: out, Log: log}, all)
	if err != nil {
		return err
	}
	direct, nodeAddress := rt.Entry, rt.NodeAddress
	loopback := map[suites.Path]string{}
	for _, m := range c.Spec.PortMappings {
		if p, err := suites.ParsePath(m.Name); err == nil {
			loopback[p] = fmt.Sprintf("http://%s:%d", kind.Loopback, m.HostPort)
		}
	}
	fmt.Printf("outcomes in %s; window %s; %s\n\n", out, window, rt.Environment.KubernetesVersion)

	if len(perPath) > 0 {
		fmt.Printf("### CPU per request, one path at a time, %d rps\n\n", cpuRate)
		fmt.Println("| path | entry | achieved rps | p50 | p99 | machine busy | " + groupHeader() + " |")
		fmt.Println("|---|---|---|---|---|---|" + strings.Repeat("---|", len(groups)))
		for _, p := range perPath {
			modes := []string{"direct"}
			path := suites.Path(p)
			if !path.InCluster() {
				modes = entryModes
			}
			for _, mode := range modes {
				rt.Entry, rt.NodeAddress = direct, nodeAddress
				if mode == "loopback" {
					// the fixed node ports the 127.0.0.1 mappings forward
					rt.Entry, rt.NodeAddress = loopback, ""
				}
				m, err := measure(ctx, rt, scenario([]suites.Path{path}, cpuRate), window)
				if err != nil {
					return err
				}
				n := m.requests[p]
				row := fmt.Sprintf("| %s | %s | %.0f | %s | %s | %s |", p, mode, float64(n)/m.cpu.At.Sub(m.from).Seconds(),
					ms(m.p50[p]), ms(m.p99[p]), perReq(m.cpu.Busy, n))
				for _, g := range groups {
					row += " " + perReq(m.cpu.Groups[g.Name], n) + " |"
				}
				fmt.Println(row)
			}
		}
		fmt.Println("\nCPU columns: milliseconds of CPU per request (machine busy: every core's non-idle time, kernel networking included).")
		fmt.Println()
	}
	rt.Entry, rt.NodeAddress = direct, nodeAddress
	if len(curve) > 0 {
		paths := make([]suites.Path, len(curve))
		for i, p := range curve {
			paths[i] = suites.Path(p)
		}
		fmt.Printf("### Capacity curve: %s at once\n\n", strings.Join(curve, ", "))
		fmt.Println("| rate per path | total rps | machine busy (of 2 cores) | worst p50 / baseline | worst p99 | max lag | failed | valid |")
		fmt.Println("|---|---|---|---|---|---|---|---|")
		for _, r := range rates {
			m, err := measure(ctx, rt, scenario(paths, r), window)
			if err != nil {
				return err
			}
			var worst50, worst99, base, lag time.Duration
			total, failed := 0, 0
			for _, p := range curve {
				total += m.requests[p]
				worst50, worst99, base = max(worst50, m.p50[p]), max(worst99, m.p99[p]), max(base, m.base[p])
				if s := m.o.Load.Paths[p]; s != nil {
					lag = max(lag, s.MaxLag)
				}
			}
			if m.o.Window != nil {
				failed = m.o.Window.Failed()
			}
			secs := m.cpu.At.Sub(m.from).Seconds()
			fmt.Printf("| %d | %.0f | %.0f%% | %s / %s | %s | %s | %d | %v |\n", r, float64(total)/secs, 100*m.cpu.Busy.Seconds()/secs/2,
				ms(worst50), ms(base), ms(worst99), ms(lag), failed, m.o.Load.Valid)
		}
	}
	return nil
}

// measurement is one idle window.
type measurement struct {
	o              *outcome.Outcome
	from           time.Time
	cpu            procstat.Snapshot
	requests       map[string]int
	p50, p99, base map[string]time.Duration
}

func measure(ctx context.Context, rt runner.Runtime, s suites.Scenario, window time.Duration) (*measurement, error) {
	m := &measurement{}
	var before procstat.Snapshot
	s.Disruption = chaos.Func{N: "idle", F: func(ctx context.Context, _ chaos.Env) error {
		var err error
		if before, err = procstat.Take(groups); err != nil {
			return err
		}
		m.from = before.At
		select {
		case <-time.After(window):
		case <-ctx.Done():
			return ctx.Err()
		}
		after, err := procstat.Take(groups)
		m.cpu = after.Since(before)
		return err
	}}
	o, err := rt.Run(ctx, s)
	if err != nil {
		return nil, err
	}
	m.o = o
	recs, err := outcome.ReadRecordsFile(filepath.Join(rt.OutDir, s.Dir(), "records.jsonl"))
	if err != nil {
		return nil, err
	}
	m.requests, m.p50, m.p99, m.base = map[string]int{}, map[string]time.Duration{}, map[string]time.Duration{}, map[string]time.Duration{}
	in, warm := map[string][]time.Duration{}, map[string][]time.Duration{}
	for _, r := range recs {
		switch {
		case !r.Start.Before(m.from) && r.Start.Before(m.cpu.At):
			m.requests[r.Path]++
			in[r.Path] = append(in[r.Path], r.Latency)
		case r.Start.Before(o.MeasuredFrom):
			warm[r.Path] = append(warm[r.Path], r.Latency)
		}
	}
	for p, l := range in {
		m.p50[p], m.p99[p] = quantile(l, 0.5), quantile(l, 0.99)
	}
	for p, l := range warm {
		m.base[p] = quantile(l, 0.5)
	}
	return m, nil
}

// scenario loads paths at rate; measure sets its idle disruption. Nothing
// terminates, so the settle time is short.
func scenario(paths []suites.Path, rate int) suites.Scenario {
	p, _ := fixtures.Preset(fixtures.PreStopAndDrain)
	plan := suites.GatingPlan
	plan.Rate = rate
	id := strings.ReplaceAll(strings.Trim(fmt.Sprint(paths), "[]"), " ", ",")
	return suites.Scenario{Workload: workload.Deployment, Profile: p, Paths: paths, Plan: plan, Settle: time.Second,
		Variant: fmt.Sprintf("%s-%drps", id, rate), Disruption: chaos.Func{N: "idle"}}
}

func quantile(l []time.Duration, q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	return l[min(len(l)-1, int(q*float64(len(l))))]
}

func perReq(d time.Duration, n int) string {
	if n == 0 {
		return "–"
	}
	return fmt.Sprintf("%.3f", d.Seconds()*1000/float64(n))
}

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }

func groupHeader() string {
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = g.Name
	}
	return strings.Join(names, " | ")
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func ints(s string) []int {
	var out []int
	for _, f := range split(s) {
		n, err := strconv.Atoi(f)
		if err == nil {
			out = append(out, n)
		}
	}
	return out
}
