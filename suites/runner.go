// Package suites holds the scenario model and runner, the named suites
// (gating, controls, matrix) and their Ginkgo specs.
package suites

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/ptr"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/fixtures/ingress"
	"github.com/zerodrop/zerodrop/fixtures/kruise"
	"github.com/zerodrop/zerodrop/fixtures/server"
	"github.com/zerodrop/zerodrop/internal/phase"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/load"
	"github.com/zerodrop/zerodrop/reports"
)

// Scenario = Workload × Profile × Disruption × Paths × LoadPlan × Expectation.
type Scenario struct {
	Workload   fixtures.Kind
	Profile    fixtures.Profile
	Disruption chaos.Disruption
	// NewVersion is the version a rolling update moves to ("" for other disruptions).
	NewVersion string
	Paths      []string
	Plan       load.Plan
	// Settle is how long load continues after the disruption finished.
	Settle time.Duration
	// Variant tells apart scenarios that differ only in their paths ("ingress").
	Variant string
	// Prepare runs after the workload is ready and before the load starts
	// (for example a first rolling update, so that an undo has a revision to return to).
	Prepare chaos.Disruption
	// Expect overrides the profile's expectation: an ungraceful control
	// (SIGKILL) must drop requests whatever the profile.
	Expect fixtures.Expectation
}

func (s Scenario) expect() fixtures.Expectation {
	if s.Expect != "" {
		return s.Expect
	}
	return s.Profile.Expect
}

// ID names the scenario: profile/disruption/workload.
func (s Scenario) ID() string {
	id := fmt.Sprintf("%s/%s/%s", s.Profile.Name, s.Disruption.Name(), strings.ToLower(string(s.Workload)))
	if s.Variant != "" {
		id += "@" + s.Variant
	}
	return id
}

// Runtime is what scenarios run against.
type Runtime struct {
	Client       kubernetes.Interface
	Dynamic      dynamic.Interface
	Image        string       // the fixture image, present on every node
	LoadgenImage string       // the in-cluster load generator image, for the clusterip path
	RESTConfig   *rest.Config // reaches the generator through the API server's pod proxy
	// Ingress serves the ingress and gateway paths (nil: those paths are not available).
	Ingress ingress.Controller
	// NodeExec runs a command on a node, for ungraceful controls (nil: not available).
	NodeExec func(ctx context.Context, node string, args ...string) error
	// NodeFreeze stops and starts a node, for ungraceful controls (nil: not available).
	NodeFreeze func(ctx context.Context, node string, frozen bool) error
	// Images are the fixture's image variants on the nodes, by version (CloneSet in-place updates).
	Images        map[string]string
	Entry         map[string]string // path label -> base URL on 127.0.0.1
	NodePort      int32
	OutDir        string
	Environment   reports.Environment
	Log           *slog.Logger
	KeepOnFailure bool
}

// Run executes one scenario: own namespace → fixtures applied → all ready →
// load warm on every path and to every pod → disruption → settle → load stops
// → outcome streamed to disk. The returned outcome is also in OutDir.
func (rt Runtime) Run(ctx context.Context, s Scenario) (*reports.Outcome, error) {
	log := rt.Log
	if log == nil {
		log = phase.Discard()
	}
	if s.Settle == 0 {
		s.Settle = 5 * time.Second
	}
	ns := "zd-" + utilrand.String(6)
	dir := filepath.Join(rt.OutDir, strings.ReplaceAll(s.ID(), "/", "_"))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("suites: %w", err)
	}
	out := &reports.Outcome{
		Schema: reports.Schema, Started: time.Now().UTC(), Environment: rt.Environment, RecordsFile: "records.jsonl",
		Scenario: reports.ScenarioInfo{ID: s.ID(), Workload: s.Workload, Profile: s.Profile, Disruption: s.Disruption.Name(), Paths: s.Paths, Namespace: ns},
		Verdict:  reports.Verdict{Result: reports.Error, Reason: "incomplete: the run was interrupted", Expected: s.expect()},
	}
	// written first, so an interrupted run leaves its partial result marked incomplete
	if err := out.Write(dir); err != nil {
		return nil, err
	}
	done := phase.Start(log, "scenario "+s.ID(), "namespace", ns)
	err := rt.run(ctx, s, ns, dir, out, log)
	out.Ended = time.Now().UTC()
	if err != nil && out.Verdict.Reason == "incomplete: the run was interrupted" {
		out.Verdict = reports.Verdict{Result: reports.Error, Reason: err.Error(), Expected: s.expect()}
	} else if err == nil {
		out.Complete = true
	}
	if werr := out.Write(dir); werr != nil && err == nil {
		err = werr
	}
	if !out.Verdict.AsExpected || err != nil {
		rt.collect(ns, dir, log)
	}
	if !(rt.KeepOnFailure && !out.Verdict.AsExpected) {
		rt.cleanup(ns, log)
	}
	return out, done(err)
}

func (rt Runtime) run(ctx context.Context, s Scenario, ns, dir string, out *reports.Outcome, log *slog.Logger) error {
	opts := fixtures.Options{Namespace: ns, Image: rt.Image, NodePort: rt.NodePort, PDBMaxUnavailable: 1}
	for _, p := range s.Paths {
		if (p == IngressPath || p == GatewayPath) && rt.Ingress == nil {
			return fmt.Errorf("suites: path %q needs an ingress controller; none is installed", p)
		}
		switch p {
		case IngressPath:
			opts.IngressClass = rt.Ingress.IngressClass()
		case GatewayPath:
			opts.Gateway = rt.Ingress.Gateway()
		}
	}
	objs, err := fixtures.Render(s.Workload, s.Profile, opts)
	if err != nil {
		return err
	}
	nsLabels := map[string]string{"zerodrop.dev/scenario": "true"}
	if s.Workload == fixtures.CloneSet {
		nsLabels[kruise.NamespaceLabel] = "enabled" // OpenKruise's pod webhooks serve this namespace
	}
	if _, err := rt.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
		Labels: nsLabels}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("suites: create namespace: %w", err)
	}
	if err := rt.apply(ctx, objs); err != nil {
		return err
	}
	name := "web"
	env := chaos.Env{Client: rt.Client, Dynamic: rt.Dynamic, Log: log, NodeExec: rt.NodeExec, NodeFreeze: rt.NodeFreeze, Images: rt.Images,
		Target: chaos.Target{Namespace: ns, Kind: string(s.Workload), Name: name, Selector: fixtures.Labels(name)}}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	err = chaos.WaitReady(rctx, env, int(s.Profile.Replicas))
	cancel()
	if err != nil {
		return fmt.Errorf("suites: fixtures not ready: %w", err)
	}

	if s.Prepare != nil {
		if err := chaos.Do(ctx, s.Prepare, env); err != nil {
			return fmt.Errorf("suites: prepare: %w", err)
		}
	}

	// timeline: watches plus every pod's own lifecycle, streamed to disk
	tl := chaos.NewTimeline()
	tlFile, err := os.Create(filepath.Join(dir, "timeline.jsonl"))
	if err != nil {
		return fmt.Errorf("suites: %w", err)
	}
	defer tlFile.Close()
	var tlMu sync.Mutex
	enc := json.NewEncoder(tlFile)
	tl.OnEvent = func(e chaos.Event) { tlMu.Lock(); enc.Encode(e); tlMu.Unlock() }
	tctx, stopTimeline := context.WithCancel(ctx)
	defer stopTimeline()
	if err := tl.Record(tctx, rt.Client, ns, env.Target.Selector); err != nil {
		return err
	}
	env.Note = tl.Note

	var targets []load.Target
	inCluster := false
	for _, p := range s.Paths {
		if p == ClusterIPPath {
			inCluster = true
			continue
		}
		base, ok := rt.Entry[p]
		if !ok {
			return fmt.Errorf("suites: path %q has no entry point (have %v and %s)", p, keys(rt.Entry), ClusterIPPath)
		}
		t := load.Target{Path: p, URL: base + "/"}
		if p == IngressPath || p == GatewayPath {
			t.Host = fixtures.Options{Namespace: ns, Name: "web"}.RouteHost()
		}
		targets = append(targets, t)
	}
	sink, err := load.CreateJSONL(filepath.Join(dir, "records.jsonl"))
	if err != nil {
		return err
	}
	defer sink.Close()
	var failures []load.Record
	var fmu sync.Mutex
	tracker := load.NewTracker(load.SinkFunc(func(r load.Record) error {
		if r.Class.Failed() {
			fmu.Lock()
			failures = append(failures, r)
			fmu.Unlock()
		}
		return sink.Write(r)
	}))

	// the clusterip path: an in-cluster generator on the control-plane node,
	// which no worker drain or eviction touches
	var remote *load.Remote
	followed := make(chan error, 1)
	if inCluster {
		r, err := rt.startLoadgen(ctx, ns, s.Plan)
		if err != nil {
			return err
		}
		remote = r
		go func() { _, err := remote.Follow(context.WithoutCancel(ctx), tracker); followed <- err }()
	}
	var l *load.Load
	if len(targets) > 0 {
		if l, err = load.Start(ctx, s.Plan, targets, tracker); err != nil {
			if remote != nil {
				remote.Stop(context.Background())
			}
			return err
		}
	}
	stopLoad := func() (*load.Result, error) {
		var parts []*load.Result
		if l != nil {
			l.Stop()
			res, err := l.Wait()
			if err != nil {
				return nil, err
			}
			parts = append(parts, res)
		}
		if remote != nil {
			sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := remote.Stop(sctx); err != nil {
				return nil, err
			}
			if err := <-followed; err != nil {
				return nil, err
			}
			res, err := remote.Result(sctx)
			if err != nil {
				return nil, err
			}
			parts = append(parts, res)
		}
		return load.Merge(parts...), nil
	}
	tl.Note("load_start", fmt.Sprintf("%d rps per path, keep-alive %v, paths %v", s.Plan.Rate, s.Plan.KeepAlive, s.Paths))

	// ready: clean traffic on every path, to every pod
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	unreached, err := warm(wctx, tracker, rt.Client, env, s.Paths)
	cancel()
	if err != nil {
		stopLoad()
		return err
	}
	warmAt := time.Now()
	tl.Note("load_warm", "")

	// disrupt, then settle
	derr := chaos.Do(ctx, s.Disruption, env)
	if derr == nil {
		tl.Note("settle", s.Settle.String())
		select {
		case <-time.After(s.Settle):
		case <-ctx.Done():
		}
	}
	res, lerr := stopLoad()
	tl.Note("load_stop", "")
	if cerr := sink.Close(); cerr != nil && lerr == nil {
		lerr = cerr
	}
	if lerr != nil {
		return lerr
	}
	if ctx.Err() != nil {
		// cut short (an interrupt, a spec timeout): what was recorded stays
		// on disk, but no verdict — a shortened settle could hide failures
		out.Load, out.Timeline = res, tl.Events()
		return fmt.Errorf("suites: interrupted before the scenario ended (%w): records and timeline kept, no verdict", ctx.Err())
	}
	// let the last log lines of terminated pods arrive
	time.Sleep(500 * time.Millisecond)

	perPod, missing := rt.serverCounts(ctx, ns, env, tl)
	records, _ := readRecords(filepath.Join(dir, "records.jsonl"))
	ev := Evidence{Load: res, Window: reports.MeasureWindow(records, warmAt), DisruptionErr: derr, Unreached: unreached, FinalVersionShare: -1, NewVersion: s.NewVersion,
		Server: CrossCheck(perPod, missing, res)}
	if s.NewVersion != "" && derr == nil {
		ev.FinalVersionShare = finalShare(res, s.NewVersion)
	}
	stopTimeline()
	out.Load, out.Server = res, ev.Server
	out.MeasuredFrom, out.WarmupFailures, out.Window = warmAt.UTC(), ev.Window.Warmup, &ev.Window
	for _, f := range failures {
		if !f.Start.Before(warmAt) {
			out.Failures = append(out.Failures, f)
		}
	}
	out.Timeline = tl.Events()
	out.Tail = PropagationTails(records, out.Timeline)
	out.Verdict = Judge(ev, s.expect())
	return nil
}

// warm waits until every path answered 50 in a row and every ready pod
// answered on every path. It returns the pods that never answered (with a
// nil error: that makes the run invalid, not an error).
func warm(ctx context.Context, l *load.Tracker, cs kubernetes.Interface, env chaos.Env, paths []string) ([]string, error) {
	if err := l.WaitWarm(ctx, paths, 50); err != nil {
		return nil, err
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		ps, err := cs.CoreV1().Pods(env.Target.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(env.Target.Selector).String()})
		if err != nil {
			return nil, err
		}
		seen := l.Pods()
		var unreached []string
		for _, p := range ps.Items {
			for _, path := range paths {
				if seen[path][p.Name] == 0 {
					unreached = append(unreached, path+"→"+p.Name)
				}
			}
		}
		if len(unreached) == 0 {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			sort.Strings(unreached)
			return unreached, nil
		case <-t.C:
		}
	}
}

// The paths traffic takes. nodeport, ingress and gateway enter on 127.0.0.1;
// clusterip is driven from inside the cluster to the workload's Service.
const (
	NodePortPath  = "nodeport"
	ClusterIPPath = "clusterip"
	IngressPath   = "ingress"
	GatewayPath   = "gateway"
)

// startLoadgen runs the in-cluster generator on the control-plane node, waits
// until it answers through the API server's pod proxy, and starts the load
// against the workload's ClusterIP Service by name.
func (rt Runtime) startLoadgen(ctx context.Context, ns string, plan load.Plan) (*load.Remote, error) {
	if rt.LoadgenImage == "" || rt.RESTConfig == nil {
		return nil, fmt.Errorf("suites: the %s path needs the load generator image and a REST config", ClusterIPPath)
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "loadgen", Namespace: ns, Labels: map[string]string{"app.kubernetes.io/name": "zerodrop-loadgen"}},
		Spec: corev1.PodSpec{
			NodeSelector:                  map[string]string{"node-role.kubernetes.io/control-plane": ""},
			Tolerations:                   []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			AutomountServiceAccountToken:  ptr.To(false),
			Containers: []corev1.Container{{
				Name: "loadgen", Image: rt.LoadgenImage, ImagePullPolicy: corev1.PullIfNotPresent,
				Args:  []string{"--listen", ":8081"},
				Ports: []corev1.ContainerPort{{ContainerPort: 8081}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8081)}},
					PeriodSeconds: 1},
				SecurityContext: &corev1.SecurityContext{RunAsNonRoot: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false), ReadOnlyRootFilesystem: ptr.To(true),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
	if _, err := rt.Client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("suites: load generator: %w", err)
	}
	err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		p, err := rt.Client.CoreV1().Pods(ns).Get(ctx, "loadgen", metav1.GetOptions{})
		return err == nil && kind.PodReady(p), nil
	})
	if err != nil {
		return nil, fmt.Errorf("suites: load generator not ready: %w", err)
	}
	hc, err := rest.HTTPClientFor(rt.RESTConfig)
	if err != nil {
		return nil, fmt.Errorf("suites: %w", err)
	}
	r := &load.Remote{Base: strings.TrimSuffix(rt.RESTConfig.Host, "/") + "/api/v1/namespaces/" + ns + "/pods/loadgen:8081/proxy", Client: hc}
	target := load.Target{Path: ClusterIPPath, URL: fmt.Sprintf("http://web.%s.svc.cluster.local:%d/", ns, fixtures.Port)}
	if err := r.Start(ctx, plan, []load.Target{target}); err != nil {
		return nil, err
	}
	return r, nil
}

// serverCounts gathers each fixture container instance's own count (a pod
// restarted in place has one per run): finished instances from their last
// lifecycle report, running ones from /stats through the API server's proxy.
// Instances the timeline saw running that could not report are missing.
func (rt Runtime) serverCounts(ctx context.Context, ns string, env chaos.Env, tl *chaos.Timeline) (map[string]map[string]int64, []string) {
	perInstance := map[string]map[string]int64{}
	for key, e := range tl.AppReports() {
		perInstance[key] = e.Counts
	}
	live, err := rt.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(env.Target.Selector).String()})
	if err == nil {
		for _, p := range live.Items {
			key := p.Name
			for _, cs := range p.Status.ContainerStatuses {
				if cs.Name == "fixture" {
					key = chaos.InstanceKey(p.Name, cs.ContainerID)
				}
			}
			if _, done := perInstance[key]; done {
				continue
			}
			raw, err := rt.Client.CoreV1().Pods(ns).ProxyGet("http", p.Name, fmt.Sprint(fixtures.Port), "/stats", nil).DoRaw(ctx)
			if err != nil {
				continue
			}
			var st server.Stats
			if json.Unmarshal(raw, &st) == nil {
				perInstance[key] = st.Counts
			}
		}
	}
	var missing []string
	for _, key := range tl.Instances() {
		if _, ok := perInstance[key]; !ok {
			missing = append(missing, key)
		}
	}
	for _, counts := range perInstance {
		delete(counts, "unlabelled") // probes and /stats itself
	}
	return perInstance, missing
}

// finalShare is the share of the last full second's successful answers that
// came from version v, over every path.
func finalShare(r *load.Result, v string) float64 {
	total, from := 0, 0
	for _, p := range r.Paths {
		if len(p.Series) < 2 {
			continue
		}
		last := p.Series[len(p.Series)-2] // the last second is partial
		for ver, n := range last.Versions {
			total += n
			if ver == v {
				from += n
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(from) / float64(total)
}

func (rt Runtime) apply(ctx context.Context, objs []runtime.Object) error {
	dyn := rt.Dynamic
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(rt.Client.Discovery()))
	for _, o := range objs {
		raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			return fmt.Errorf("suites: %w", err)
		}
		u := &unstructured.Unstructured{Object: raw}
		gvk := u.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("suites: %s is not served by this cluster (is its CRD installed?): %w", gvk, err)
		}
		err = kind.RetryWhilePortAllocated(ctx, func() error {
			_, err := dyn.Resource(m.Resource).Namespace(u.GetNamespace()).Create(ctx, u, metav1.CreateOptions{FieldManager: "zerodrop"})
			return err
		})
		if err != nil {
			return fmt.Errorf("suites: create %s %s: %w", gvk.Kind, u.GetName(), err)
		}
	}
	return nil
}

// cleanup releases the NodePort at once (the next scenario needs it), then
// deletes the namespace without waiting for its pods' graceful shutdown.
func (rt Runtime) cleanup(ns string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svcs := rt.Client.CoreV1().Services(ns)
	if err := svcs.Delete(ctx, "web-nodeport", metav1.DeleteOptions{}); err == nil {
		_ = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			_, err := svcs.Get(ctx, "web-nodeport", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
	}
	if err := rt.Client.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		log.Warn("delete namespace", "namespace", ns, "err", err)
	}
}

// collect writes the namespace's events and pods for a failed scenario:
// quiet when passing, detailed when failing.
func (rt Runtime) collect(ns, dir string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if evs, err := rt.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		writeJSON(filepath.Join(dir, "events.json"), evs.Items)
	}
	if ps, err := rt.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		writeJSON(filepath.Join(dir, "pods.json"), ps.Items)
		for _, p := range ps.Items {
			if raw, err := rt.Client.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx); err == nil {
				os.WriteFile(filepath.Join(dir, "pod-"+p.Name+".log"), raw, 0o644)
			}
		}
	}
	// the ingress controller's log (its access log names the backend of every failed request)
	if rt.Ingress != nil {
		if ps, err := rt.Client.CoreV1().Pods("zerodrop-system").List(ctx, metav1.ListOptions{}); err == nil {
			for _, p := range ps.Items {
				if raw, err := rt.Client.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{SinceSeconds: ptr.To[int64](600)}).DoRaw(ctx); err == nil {
					os.WriteFile(filepath.Join(dir, "controller-"+p.Name+".log"), raw, 0o644)
				}
			}
		}
	}
	log.Debug("collected namespace state", "dir", dir)
}

func writeJSON(path string, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err == nil {
		os.WriteFile(path, b, 0o644)
	}
}

func readRecords(path string) ([]load.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []load.Record
	err = load.ReadJSONL(f, func(r load.Record) error { out = append(out, r); return nil })
	return out, err
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
