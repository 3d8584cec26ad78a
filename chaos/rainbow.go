package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/zerodrop/zerodrop/workload"
)

// RainbowSwitch is the release of a rainbow deployment: one Deployment per
// version (a colour), the Services selecting one colour at a time. It
// deploys the new colour — a second Deployment of the target's, at
// Version, pods labelled workload.ColourLabel To — and waits until it is
// Ready; switches every Service that selects the old colour (the
// workload's, its NodePort, its headless one) to the new colour; keeps the
// old colour until it is idle or Deadline has passed since the switch; then
// deletes it and waits until its pods are gone.
//
// Idle is what the app's own counts say (the fixture's /stats, read
// through the API server's pod proxy): on every old pod no stream (SSE or
// WebSocket) and no connection that carried the load is open — a kept-alive
// one idle or not: the deletion would cut it, and a client may pick it just
// then — and no request was served for Quiet. A stream ends when its client
// ends it, a kept-alive connection when its client retires it — the
// pattern rests on clients that move on — and kube-proxy sends no new
// connection to a pod the switch took out of the Service; a connection
// nobody retires stays on the old pod (conntrack) and keeps it busy until
// the deadline. An app without /stats is never seen idle: the old colour
// then lives until the deadline.
//
// The target (Env.Target) is the old colour's Deployment,
// <name>-<From>; its Selector selects every colour's pods. It is verified
// only when every switched Service selects the new colour, the new pods are
// Ready and the old Deployment and its pods are gone; Unverified otherwise.
type RainbowSwitch struct {
	From, To string // the colours: default blue, green
	Version  string // the new colour's version: default v2
	// Deadline bounds how long the old colour is kept after the switch
	// while it is still busy (default 2m).
	Deadline time.Duration
	// Quiet is how long the old colour must go without a request, with no
	// stream open, to count as idle (default 3s).
	Quiet time.Duration
	// Interval is how often the old pods' counts are read (default 1s).
	Interval time.Duration
}

// Rainbow defaults.
const (
	DefaultFromColour      = "blue"
	DefaultToColour        = "green"
	DefaultRainbowDeadline = 2 * time.Minute
	defaultRainbowQuiet    = 3 * time.Second
)

// WithDefaults fills the unset fields.
func (r RainbowSwitch) WithDefaults() RainbowSwitch {
	if r.From == "" {
		r.From = DefaultFromColour
	}
	if r.To == "" {
		r.To = DefaultToColour
	}
	if r.Version == "" {
		r.Version = "v2"
	}
	if r.Deadline == 0 {
		r.Deadline = DefaultRainbowDeadline
	}
	if r.Quiet == 0 {
		r.Quiet = defaultRainbowQuiet
	}
	if r.Interval == 0 {
		r.Interval = time.Second
	}
	return r
}

// Name describes the disruption.
func (r RainbowSwitch) Name() string {
	r = r.WithDefaults()
	return fmt.Sprintf("rainbow-switch-%s-to-%s", r.From, r.To)
}

// Successor is the workload once the switch is done: the new colour's
// Deployment, the same pods' selector.
func (r RainbowSwitch) Successor(ref workload.Ref) workload.Ref {
	r = r.WithDefaults()
	ref.Name = workload.ColourName(strings.TrimSuffix(ref.Name, "-"+r.From), r.To)
	return ref
}

func (r RainbowSwitch) validate() error {
	var errs []error
	for _, c := range []string{r.From, r.To} {
		if msgs := validation.IsDNS1123Label(c); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("colour %q: %s (it is a label value and part of a Deployment's name)", c, strings.Join(msgs, "; ")))
		}
	}
	if r.From == r.To {
		errs = append(errs, fmt.Errorf("colours %q and %q: switch to another colour", r.From, r.To))
	}
	if r.Deadline < 0 || r.Quiet < 0 || r.Interval < 0 {
		errs = append(errs, fmt.Errorf("deadline %s, quiet %s, interval %s: none may be negative", r.Deadline, r.Quiet, r.Interval))
	}
	return errors.Join(errs...)
}

// Run deploys, switches, waits and deletes.
func (r RainbowSwitch) Run(ctx context.Context, env Env) error {
	r = r.WithDefaults()
	if err := r.validate(); err != nil {
		return err
	}
	t := env.Target
	if t.Kind != workload.Deployment {
		return fmt.Errorf("rainbow switch of a %s: each colour is a Deployment", t.Kind)
	}
	deployments := env.Client.AppsV1().Deployments(t.Namespace)
	old, err := deployments.Get(ctx, t.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("the old colour: %w", err)
	}
	if old.Spec.Selector == nil || old.Spec.Selector.MatchLabels[workload.ColourLabel] != r.From || old.Spec.Template.Labels[workload.ColourLabel] != r.From {
		return fmt.Errorf("deployment %s is not the %s colour of a rainbow deployment: its selector and pods must carry %s=%s (fixtures.Options.Colour renders it)",
			old.Name, r.From, workload.ColourLabel, r.From)
	}
	next := r.Successor(t)
	oldPods, err := colourPods(ctx, env, r.From)
	if err != nil {
		return err
	}
	if len(oldPods) == 0 {
		return fmt.Errorf("the %s colour has no pods", r.From)
	}

	// the Services to switch, known before anything changes
	services, err := r.colourServices(ctx, env)
	if err != nil {
		return err
	}

	// 1. the new colour, beside the old
	nd := r.newColour(old, next)
	want := replicas(nd.Spec.Replicas)
	env.note("rainbow_deploy", fmt.Sprintf("%s: colour %s, version %s, %d replicas, beside %s (%d pods)", nd.Name, r.To, r.Version, want, old.Name, len(oldPods)))
	if _, err := deployments.Create(ctx, nd, metav1.CreateOptions{FieldManager: "zerodrop"}); err != nil {
		return fmt.Errorf("create the %s colour: %w", r.To, err)
	}
	var newPods []corev1.Pod
	if err := poll(ctx, "wait for the "+r.To+" colour to be Ready", func(ctx context.Context) (string, error) {
		d, err := deployments.Get(ctx, nd.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if p := DeploymentPending(d); p != "" {
			return p, nil
		}
		newPods, err = colourPods(ctx, env, r.To)
		if err != nil {
			return "", err
		}
		return readyPending(newPods, want), nil
	}); err != nil {
		return err
	}
	env.note("rainbow_ready", fmt.Sprintf("%s: %d of %d pods Ready (%s)", nd.Name, want, want, podNames(newPods)))

	// 2. the switch
	switched, err := r.switchServices(ctx, env, services)
	if err != nil {
		return err
	}
	switchedAt := time.Now()
	if wrong := r.notSelecting(ctx, env, switched); wrong != "" {
		// the old colour stays: deleting it now would leave these Services without pods
		return Unverified{What: "the switch did not hold: " + wrong + "; the " + r.From + " colour was left in place"}
	}

	// 3. the old colour lives until it is idle or the deadline passes
	idle, why := r.waitIdle(ctx, env, switchedAt)
	if ctx.Err() != nil {
		return fmt.Errorf("waiting for the %s colour to be idle: %w", r.From, ctx.Err())
	}
	if idle {
		env.note("rainbow_old_idle", why)
	} else {
		env.note("rainbow_deadline", why)
	}

	// 4. the old colour goes
	env.note("rainbow_delete", fmt.Sprintf("%s, %.1fs after the switch", old.Name, time.Since(switchedAt).Seconds()))
	bg := metav1.DeletePropagationBackground
	if err := deployments.Delete(ctx, old.Name, metav1.DeleteOptions{PropagationPolicy: &bg}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete the %s colour: %w", r.From, err)
	}
	if err := waitGone(ctx, env, oldPods); err != nil {
		return err
	}
	env.note("rainbow_old_gone", fmt.Sprintf("%d pods of %s gone", len(oldPods), old.Name))

	// 5. what really happened
	var problems []string
	if wrong := r.notSelecting(ctx, env, switched); wrong != "" {
		problems = append(problems, wrong)
	}
	if _, err := deployments.Get(ctx, old.Name, metav1.GetOptions{}); err == nil {
		problems = append(problems, "deployment "+old.Name+" still exists after its deletion")
	} else if !apierrors.IsNotFound(err) {
		problems = append(problems, "deployment "+old.Name+": "+err.Error())
	}
	if newPods, err = colourPods(ctx, env, r.To); err != nil {
		problems = append(problems, "the "+r.To+" pods: "+err.Error())
	} else if p := readyPending(newPods, want); p != "" {
		problems = append(problems, "the "+r.To+" colour: "+p)
	}
	if len(problems) > 0 {
		return Unverified{What: strings.Join(problems, "; ")}
	}
	how := "idle"
	if !idle {
		how = "still busy at the deadline"
	}
	env.verified("rainbow switch %s → %s: Services %s select %s=%s; %d %s pods Ready; deployment %s (%s) deleted and its %d pods gone",
		r.From, r.To, strings.Join(switched, ", "), workload.ColourLabel, r.To, want, r.To, old.Name, how, len(oldPods))
	return nil
}

// newColour is the old colour's Deployment as the new colour at the new
// version: same profile, same replicas, its own selector.
func (r RainbowSwitch) newColour(old *appsv1.Deployment, next workload.Ref) *appsv1.Deployment {
	spec := *old.Spec.DeepCopy()
	spec.Paused = false
	spec.Selector.MatchLabels[workload.ColourLabel] = r.To
	tmpl := &spec.Template
	tmpl.Labels[workload.ColourLabel] = r.To
	if tmpl.Annotations == nil {
		tmpl.Annotations = map[string]string{}
	}
	delete(tmpl.Annotations, "kubectl.kubernetes.io/restartedAt")
	tmpl.Annotations[VersionAnnotation] = r.Version
	if next.VersionLabel != "" {
		tmpl.Labels[next.VersionLabel] = r.Version
	}
	if next.VersionEnv != "" {
		for i := range tmpl.Spec.Containers {
			c := &tmpl.Spec.Containers[i]
			if c.Name != next.Container {
				continue
			}
			set := false
			for j := range c.Env {
				if c.Env[j].Name == next.VersionEnv {
					c.Env[j] = corev1.EnvVar{Name: next.VersionEnv, Value: r.Version}
					set = true
				}
			}
			if !set {
				c.Env = append(c.Env, corev1.EnvVar{Name: next.VersionEnv, Value: r.Version})
			}
		}
	}
	meta := metav1.ObjectMeta{Name: next.Name, Namespace: old.Namespace, Labels: maps.Clone(old.Labels)}
	if meta.Labels == nil {
		meta.Labels = map[string]string{}
	}
	meta.Labels[workload.ColourLabel] = r.To
	return &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"}, ObjectMeta: meta, Spec: spec}
}

// colourServices are the Services that select the workload's pods of
// the old colour, by name.
func (r RainbowSwitch) colourServices(ctx context.Context, env Env) ([]string, error) {
	t := env.Target
	svcs, err := env.Client.CoreV1().Services(t.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	var names []string
	for _, s := range svcs.Items {
		if selectsColour(s.Spec.Selector, t.Selector, r.From) {
			names = append(names, s.Name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("no Service selects the %s colour (%s=%s with %v): nothing to switch", r.From, workload.ColourLabel, r.From, t.Selector)
	}
	return names, nil
}

// switchServices points the Services at the new colour, and returns their names.
func (r RainbowSwitch) switchServices(ctx context.Context, env Env, names []string) ([]string, error) {
	patch, _ := json.Marshal(map[string]any{"spec": map[string]any{"selector": map[string]string{workload.ColourLabel: r.To}}})
	for _, n := range names {
		if _, err := env.Client.CoreV1().Services(env.Target.Namespace).Patch(ctx, n, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			return nil, fmt.Errorf("switch service %s to %s: %w", n, r.To, err)
		}
	}
	env.note("rainbow_switch", fmt.Sprintf("%s: %s=%s → %s", strings.Join(names, ", "), workload.ColourLabel, r.From, r.To))
	return names, nil
}

// selectsColour: a Service selector that picks the workload's pods of one colour.
func selectsColour(sel, workloadSel map[string]string, colour string) bool {
	if sel[workload.ColourLabel] != colour {
		return false
	}
	for k, v := range workloadSel {
		if sel[k] != v {
			return false
		}
	}
	return true
}

// notSelecting says which of the Services does not select the new colour
// ("" when each does).
func (r RainbowSwitch) notSelecting(ctx context.Context, env Env, names []string) string {
	var wrong []string
	for _, n := range names {
		s, err := env.Client.CoreV1().Services(env.Target.Namespace).Get(ctx, n, metav1.GetOptions{})
		switch {
		case err != nil:
			wrong = append(wrong, "service "+n+": "+err.Error())
		case !selectsColour(s.Spec.Selector, env.Target.Selector, r.To):
			wrong = append(wrong, fmt.Sprintf("service %s selects %v, not %s=%s", n, s.Spec.Selector, workload.ColourLabel, r.To))
		}
	}
	return strings.Join(wrong, "; ")
}

// appStats is what the rainbow reads of the app's /stats (fixtures/server.Stats).
type appStats struct {
	Counts      map[string]int64 `json:"counts"`
	StreamsOpen int              `json:"streamsOpen"`
	// ConnsOpen: nil when the app does not count its connections
	ConnsOpen *int `json:"connsOpen"`
}

// served is the requests an app served for the load (streams opened
// included), without the unlabelled ones (probes).
func (s appStats) served() int64 {
	var n int64
	for k, v := range s.Counts {
		if k != "unlabelled" {
			n += v
		}
	}
	return n
}

// podActivity is what one old pod was last seen doing.
type podActivity struct {
	served  int64
	changed time.Time // when served last changed (or was first read)
}

// oldColour is what the old colour's pods said at one reading.
type oldColour struct {
	streams, conns int  // open on all of them
	counted        bool // every pod counts its connections
	requests       int64
	busy, errs     []string
}

// waitIdle reads the old colour's pods every Interval until each is idle —
// no stream and no load connection open (kept-alive ones, idle or not: a
// deletion cuts them all), and no request served for Quiet — or Deadline
// has passed since the switch. It notes every change of what is open on
// the old colour, and returns whether it was idle and what it saw last.
func (r RainbowSwitch) waitIdle(ctx context.Context, env Env, switchedAt time.Time) (bool, string) {
	seen := map[string]*podActivity{}
	deadline := switchedAt.Add(r.Deadline)
	last := oldColour{streams: -1, conns: -1}
	var lastErrs string
	var streamsGone, connsGone time.Time // since when none is open (zero: some are)
	hadStreams, hadConns := false, false
	tick := time.NewTicker(r.Interval)
	defer tick.Stop()
	for {
		now := time.Now()
		cur := oldColour{counted: true}
		ps, err := colourPods(ctx, env, r.From)
		if err != nil {
			cur.errs = append(cur.errs, err.Error())
		}
		for _, p := range ps {
			st, err := podStats(ctx, env, p)
			if err != nil {
				cur.errs = append(cur.errs, p.Name+": "+err.Error())
				continue
			}
			a := seen[p.Name]
			if a == nil {
				a = &podActivity{served: st.served(), changed: now}
				seen[p.Name] = a
			} else if n := st.served(); n != a.served {
				cur.requests += n - a.served
				a.served, a.changed = n, now
			}
			conns := 0
			if st.ConnsOpen == nil {
				cur.counted = false
			} else {
				conns = *st.ConnsOpen
			}
			cur.streams += st.StreamsOpen
			cur.conns += conns
			if st.StreamsOpen > 0 || conns > 0 || now.Sub(a.changed) < r.Quiet {
				cur.busy = append(cur.busy, fmt.Sprintf("%s: %d streams, %d connections, a request %.1fs ago", p.Name, st.StreamsOpen, conns, now.Sub(a.changed).Seconds()))
			}
		}
		after := now.Sub(switchedAt).Seconds()
		errs := strings.Join(cur.errs, "; ")
		if errs != lastErrs && errs != "" {
			env.note("rainbow_old_unknown", "the old colour's counts could not be read: "+errs)
		}
		lastErrs = errs
		if errs == "" && (cur.streams != last.streams || cur.conns != last.conns) {
			what := fmt.Sprintf("%d streams and %d load connections open", cur.streams, cur.conns)
			if !cur.counted {
				what = fmt.Sprintf("%d streams open (the app counts no connections)", cur.streams)
			}
			env.note("rainbow_old_open", fmt.Sprintf("%s on the %s colour %.1fs after the switch; %d requests since the last reading", what, r.From, after, cur.requests))
			hadStreams, hadConns = hadStreams || cur.streams > 0, hadConns || cur.conns > 0
			streamsGone, connsGone = since(streamsGone, cur.streams == 0, now), since(connsGone, cur.conns == 0, now)
			last = cur
		}
		idle := len(cur.errs) == 0 && len(cur.busy) == 0
		summary := fmt.Sprintf("%s; %s", ended("its streams", "ended", last.streams, hadStreams, streamsGone, switchedAt),
			ended("its load connections", "closed", last.conns, hadConns, connsGone, switchedAt))
		if !cur.counted {
			summary += "; the app counts no connections: kept-alive ones idle then were not seen"
		}
		switch {
		case idle:
			return true, fmt.Sprintf("the %s colour idle %.1fs after the switch: no stream or load connection open and no request for %s on any of its %d pods; %s",
				r.From, after, r.Quiet, len(ps), summary)
		case !now.Before(deadline):
			what := strings.Join(cur.busy, "; ")
			if len(cur.errs) > 0 {
				what = strings.TrimPrefix(what+"; counts unknown: "+errs, "; ")
			}
			return false, fmt.Sprintf("deadline %s passed with the %s colour still busy (%s); %s", r.Deadline, r.From, what, summary)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err().Error()
		case <-tick.C:
		}
	}
}

// since is when a count was first seen at zero in its latest stretch there
// (zero time while it is not).
func since(at time.Time, zero bool, now time.Time) time.Time {
	switch {
	case !zero:
		return time.Time{}
	case at.IsZero():
		return now
	}
	return at
}

// ended says how a count of what was open on the old colour ended.
func ended(what, verb string, n int, had bool, zeroSince, switchedAt time.Time) string {
	switch {
	case n < 0:
		return what + " unknown"
	case n > 0:
		return fmt.Sprintf("%s: %d still open", what, n)
	case !had:
		return what + ": none open since the switch"
	}
	return fmt.Sprintf("%s all %s by %.1fs after the switch", what, verb, zeroSince.Sub(switchedAt).Seconds())
}

// podStats reads the app's /stats of a pod through the API server's pod proxy.
func podStats(ctx context.Context, env Env, p corev1.Pod) (appStats, error) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	raw, err := env.Client.CoreV1().Pods(p.Namespace).ProxyGet("http", p.Name, fmt.Sprint(env.Target.Port), "/stats", nil).DoRaw(rctx)
	if err != nil {
		return appStats{}, err
	}
	var st appStats
	if err := json.Unmarshal(raw, &st); err != nil {
		return appStats{}, fmt.Errorf("/stats: %w", err)
	}
	if st.Counts == nil {
		return appStats{}, fmt.Errorf("/stats has no counts: the app does not count what it serves")
	}
	return st, nil
}

// colourPods lists the workload's pods of one colour, sorted by name.
func colourPods(ctx context.Context, env Env, colour string) ([]corev1.Pod, error) {
	sel := maps.Clone(env.Target.Selector)
	if sel == nil {
		sel = map[string]string{}
	}
	sel[workload.ColourLabel] = colour
	list, err := env.Client.CoreV1().Pods(env.Target.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(sel).String()})
	if err != nil {
		return nil, err
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list.Items, nil
}

func podNames(ps []corev1.Pod) string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return strings.Join(out, ", ")
}
