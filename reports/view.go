package reports

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// view is what both renderers draw, computed once from the outcomes: the
// profile × disruption grid per client, the per-profile summary, what to
// change, and every scenario's details. Pure.
type view struct {
	Status  string // PASS or FAIL
	Summary string
	Grids   []grid
	// Profiles are the per-profile summaries, in row order.
	Profiles []string
	Advice   []string
	outs     []*outcome.Outcome
}

// grid is one client's profile × disruption matrix.
type grid struct {
	Client outcome.Client
	Rows   []string          // profiles, in order of appearance
	Cols   []string          // disruptions (with variant, and workload when not a Deployment)
	Label  map[string]string // profile -> row label
	Cells  map[[2]string][]cellRef
}

// cellRef is one outcome's cell for one client.
type cellRef struct {
	O    *outcome.Outcome
	Cell outcome.Cell
}

// Mark is the cell's symbol: as expected, not as expected, no evidence.
func (c cellRef) Mark() string {
	switch {
	case c.Cell.Verdict.Result == outcome.Invalid || c.Cell.Verdict.Result == outcome.Error:
		return "⚠️"
	case c.Cell.Verdict.AsExpected:
		return "✅"
	}
	return "❌"
}

// Class is the cell's CSS class.
func (c cellRef) Class() string {
	return map[string]string{"✅": "ok", "❌": "bad", "⚠️": "warn"}[c.Mark()]
}

// Text is the cell's short text: its result and its failures over the
// requests judged on its paths, with the classes.
func (c cellRef) Text() string {
	v := c.Cell.Verdict
	if c.O.Load == nil || v.Result == outcome.Error {
		return string(v.Result)
	}
	sent, failed := 0, 0
	classes := map[outcome.Class]int{}
	for _, p := range c.Cell.Paths {
		if w := c.O.Window; w != nil && w.Paths[p] != nil {
			sent += w.Paths[p].Sent
			for cl, n := range w.Paths[p].Failed {
				failed += n
				classes[cl] += n
			}
		}
	}
	txt := fmt.Sprintf("%s %d/%d", v.Result, failed, sent)
	if failed > 0 {
		txt += " " + classList(classes)
	}
	if v.Result == outcome.Invalid {
		txt += " (no evidence)"
	}
	return txt
}

// isFlaky reports whether the trials of one cell disagree.
func isFlaky(refs []cellRef) bool {
	for _, r := range refs[1:] {
		// an at-risk cell may pass one trial and fail the next: both are
		// what it expects
		risk := r.Cell.Expected == outcome.ExpectRisk && r.Cell.Verdict.AsExpected
		if (r.Cell.Verdict.Result != refs[0].Cell.Verdict.Result && !risk) || r.Cell.Verdict.AsExpected != refs[0].Cell.Verdict.AsExpected {
			return true
		}
	}
	return false
}

// trialsText sums up the trials of one cell: their verdicts and the
// distribution of failures.
func trialsText(refs []cellRef) (mark, text string) {
	results := map[outcome.Result]int{}
	var fails []string
	for _, r := range refs {
		results[r.Cell.Verdict.Result]++
		n := 0
		for _, p := range r.Cell.Paths {
			if w := r.O.Window; w != nil && w.Paths[p] != nil {
				for _, k := range w.Paths[p].Failed {
					n += k
				}
			}
		}
		fails = append(fails, fmt.Sprint(n))
	}
	var parts []string
	for _, res := range outcome.Results {
		if results[res] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", res, results[res]))
		}
	}
	text = fmt.Sprintf("%s of %d trials; failures %s", strings.Join(parts, ", "), len(refs), strings.Join(fails, ","))
	switch {
	case isFlaky(refs):
		return "🔀", "flaky: " + text
	default:
		return refs[0].Mark(), text
	}
}

// cellsOf are an outcome's cells; an outcome written before cells existed
// has one, from its verdict, for the client of its paths.
func cellsOf(o *outcome.Outcome) []outcome.Cell {
	if len(o.Cells) > 0 {
		return o.Cells
	}
	client := outcome.NewConnections
	for _, p := range o.Scenario.Paths {
		if outcome.ClientOf(p) == outcome.KeepAlive {
			client = outcome.KeepAlive
		}
	}
	return []outcome.Cell{{Client: client, Paths: o.Scenario.Paths, Expected: o.Verdict.Expected, Verdict: o.Verdict}}
}

// column names a scenario's disruption on the grid.
func column(o *outcome.Outcome) string {
	col := o.Scenario.Disruption
	if _, v, ok := strings.Cut(o.Scenario.ID, "@"); ok {
		col += " [" + v + "]"
	}
	if w := o.Scenario.Workload; w != "" && w != "Deployment" {
		col += " (" + strings.ToLower(w) + ")"
	}
	return col
}

func newView(outs []*outcome.Outcome) view {
	v := view{outs: outs}
	cells, asExpected := 0, 0
	grids := map[outcome.Client]*grid{}
	for _, o := range outs {
		for _, c := range cellsOf(o) {
			cells++
			if c.Verdict.AsExpected {
				asExpected++
			}
			g := grids[c.Client]
			if g == nil {
				g = &grid{Client: c.Client, Label: map[string]string{}, Cells: map[[2]string][]cellRef{}}
				grids[c.Client] = g
			}
			row, col := o.Scenario.Profile.Name, column(o)
			g.Rows, g.Cols = appendUnique(g.Rows, row), appendUnique(g.Cols, col)
			g.Cells[[2]string{row, col}] = append(g.Cells[[2]string{row, col}], cellRef{o, c})
			if g.Label[row] == "" {
				g.Label[row] = row
			}
			// the row is the profile: its own expectation, not a
			// scenario's (a SIGKILL, a stuck rollout) that overrides it
			if x := profileExpect(o.Scenario.Profile, c); x != outcome.ExpectPass && x != "" {
				g.Label[row] = row + " (" + string(x) + " expected)"
			}
		}
	}
	flaky := 0
	for _, c := range outcome.Clients {
		if g := grids[c]; g != nil {
			sort.Strings(g.Cols)
			for _, refs := range g.Cells {
				if isFlaky(refs) {
					flaky++
				}
			}
			v.Grids = append(v.Grids, *g)
		}
	}
	v.Status = "PASS"
	if asExpected != cells || flaky > 0 {
		v.Status = "FAIL"
	}
	v.Summary = fmt.Sprintf("%d scenarios, %d cells, %d as expected", len(outs), cells, asExpected)
	if flaky > 0 {
		v.Summary += fmt.Sprintf(", %d flaky (trials disagree)", flaky)
	}
	if len(outs) > 0 {
		env := outs[0].Environment
		if env.KubernetesVersion != "" {
			v.Summary += fmt.Sprintf(" · Kubernetes %s · kube-proxy %s · %s mode", env.KubernetesVersion, env.KubeProxyMode, env.Mode)
		}
	}
	v.Profiles = profileSummaries(v.Grids)
	v.Advice = advice(outs)
	return v
}

// profileSummaries say, per profile, how many disruptions it passes per client.
func profileSummaries(grids []grid) []string {
	type count struct{ pass, all int }
	per := map[string]map[outcome.Client]*count{}
	var order []string
	for _, g := range grids {
		for _, row := range g.Rows {
			order = appendUnique(order, row)
			for _, col := range g.Cols {
				for _, c := range g.Cells[[2]string{row, col}] {
					if per[row] == nil {
						per[row] = map[outcome.Client]*count{}
					}
					if per[row][g.Client] == nil {
						per[row][g.Client] = &count{}
					}
					per[row][g.Client].all++
					if c.Cell.Verdict.Result.Clean() {
						per[row][g.Client].pass++
					}
				}
			}
		}
	}
	var out []string
	for _, row := range order {
		var parts []string
		for _, c := range outcome.Clients {
			if n := per[row][c]; n != nil {
				parts = append(parts, fmt.Sprintf("%d of %d with %s clients", n.pass, n.all, c))
			}
		}
		out = append(out, fmt.Sprintf("%s: drops nothing in %s", row, strings.Join(parts, ", ")))
	}
	return out
}

// advice derives what to change from each failing cell, the measured tails
// and the profiles' grace arithmetic.
// profileExpect is what the profile itself expects of a cell's client
// (the cell's own expectation when the profile records none).
func profileExpect(p outcome.Profile, c outcome.Cell) outcome.Expectation {
	x := p.Expect
	switch {
	case c.Client == outcome.KeepAlive && p.ExpectKeepAlive != "":
		x = p.ExpectKeepAlive
	case c.Client == outcome.Streams && p.ExpectStreams != "":
		x = p.ExpectStreams
	}
	if x == "" {
		return c.Expected
	}
	return x
}

// byScenario reports whether a cell's expectation is its scenario's, not
// its profile's: a disruption no shutdown survives (SIGKILL, a lost node)
// or a rollout's own failure (a broken version, a strategy that takes
// every pod away), whose failures no shutdown setting changes.
func byScenario(o *outcome.Outcome, c outcome.Cell) bool {
	return c.Expected != profileExpect(o.Scenario.Profile, c)
}

func advice(outs []*outcome.Outcome) []string {
	var out []string
	worst := map[string]time.Duration{}
	for _, o := range outs {
		// the tails of a scenario whose failures are its own (a Service
		// left without ready endpoints routes to terminating pods on
		// purpose) say nothing about how long proxies lag
		scenarioOwn := false
		for _, c := range cellsOf(o) {
			scenarioOwn = scenarioOwn || byScenario(o, c)
		}
		if scenarioOwn {
			continue
		}
		for path, t := range o.Tail {
			if t.FromEndpointRemoval > worst[path] {
				worst[path] = t.FromEndpointRemoval
			}
		}
	}
	seen := map[string]bool{}
	say := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, o := range outs {
		p := o.Scenario.Profile
		for _, c := range cellsOf(o) {
			if c.Verdict.Result != outcome.Fail || c.Verdict.AsExpected && byScenario(o, c) {
				continue // failures the scenario is about: its why says so
			}
			classes := map[outcome.Class]int{}
			for _, path := range c.Paths {
				if w := o.Window; w != nil && w.Paths[path] != nil {
					for cl, n := range w.Paths[path].Failed {
						classes[cl] += n
					}
				}
			}
			who := fmt.Sprintf("**%s** under %s (%s clients)", p.Name, column(o), c.Client)
			drain := onTermDrain(p.OnTerm)
			need := time.Duration(p.PreStopSeconds)*time.Second + drain
			switch {
			case p.GraceSeconds > 0 && time.Duration(p.GraceSeconds)*time.Second < need:
				say(fmt.Sprintf("%s: terminationGracePeriodSeconds %d is shorter than preStop %ds + drain %s: SIGKILL cuts the requests still in flight; raise it to at least %d.",
					who, p.GraceSeconds, p.PreStopSeconds, drain, int(math.Ceil(need.Seconds()))+2))
			case p.Sidecar != nil && p.Sidecar.Mode == "classic" && onTermDrain(p.Sidecar.OnTerm) == 0 && p.Sidecar.PreStopSeconds == 0:
				say(fmt.Sprintf("%s: the proxy sidecar is stopped with the app and exits at once, while the app still drains: make it a native sidecar (an init container with `restartPolicy: Always`: the kubelet stops it after the app), or keep it serving past the app's preStop and drain (%s).", who, need))
			case p.Sidecar != nil && p.Sidecar.Mode == "sidecarset" && !p.Sidecar.FailReadyOnDrain:
				say(who + ": an in-place sidecar upgrade stops the proxy alone while its pod, not terminating, stays in its Services: give the proxy a preStop hook that fails its readiness and keeps it serving past the propagation tail, so that the failing probe takes the pod out first.")
			case p.Sidecar != nil && p.Sidecar.Mode == "native" && c.Client == outcome.KeepAlive && p.Sidecar.PreStop != "drain":
				say(who + ": pooled connections end at the proxy, which drops the app's `Connection: close` and drains only at its own SIGTERM, after the app has stopped listening: start the proxy's drain in its preStop hook, at the deletion.")
			case c.Client == outcome.KeepAlive && drain == 0 && p.OnTerm != "":
				say(who + ": pooled connections outlive the endpoint and meet the exit: keep serving after SIGTERM and answer with `Connection: close` while draining, so clients leave before the exit.")
			case onlyRetries(classes):
				say(who + ": idle pooled connections were closed under requests at shutdown (Go retried them unseen): clients must retry idempotent requests on a stale connection (RFC 9112 §9.3.1), or the app must close idle connections before it stops taking requests.")
			case len(worst) == 0 && (p.PreStop == "none" || p.PreStop == ""):
				say(who + ": the app stops while proxies still route to it: add a preStop sleep; no propagation tail was measured (the app names no pod in its answers): `zerodrop tune` finds the shortest sleep that drops nothing.")
			case len(worst) == 0:
				say(fmt.Sprintf("%s: requests still reached the pod after its preStop delay: lengthen it beyond %ds; no propagation tail was measured (the app names no pod in its answers): `zerodrop tune` finds the shortest sleep that drops nothing.", who, p.PreStopSeconds))
			case p.PreStop == "none" || p.PreStop == "":
				say(fmt.Sprintf("%s: the app stops while proxies still route to it: add a preStop sleep of at least %s (the measured tail + 1 s).", who, recommended(worst)))
			default:
				say(fmt.Sprintf("%s: requests still reached the pod after its preStop delay: lengthen it to at least %s (the measured tail + 1 s, and more than its %ds).", who, recommendedAbove(worst, p.PreStopSeconds), p.PreStopSeconds))
			}
		}
	}
	for _, path := range sortedKeys(worst) {
		rec := int(math.Ceil((worst[path] + time.Second).Seconds()))
		say(fmt.Sprintf("**%s**: terminating pods kept getting requests up to %s after their endpoint left the ready set. "+
			"Keep serving at least that long after SIGTERM: a preStop `sleep` of **%ds** or more (measured tail + 1 s margin) before the app stops accepting.",
			path, ms(worst[path]), rec))
	}
	if len(out) == 0 {
		out = append(out, "Nothing: every profile kept serving past the measured tails.")
	}
	return out
}

func onTermDrain(onTerm string) time.Duration {
	d, ok := strings.CutPrefix(onTerm, "drain=")
	if !ok {
		return 0
	}
	dur, _ := time.ParseDuration(d)
	return dur
}

func onlyRetries(classes map[outcome.Class]int) bool {
	n := 0
	for c, k := range classes {
		if c != outcome.RetriedNoAnswer && c != outcome.RetriedUnwritten && k > 0 {
			return false
		}
		n += k
	}
	return n > 0
}

// recommended is the longest measured tail + 1 s, rounded up to a second.
// recommendedAbove is recommended, and at least a second more than the
// preStop delay that was not enough.
func recommendedAbove(worst map[string]time.Duration, preStopSeconds int) string {
	var w time.Duration
	for _, d := range worst {
		w = max(w, d)
	}
	return fmt.Sprintf("%ds", max(int(math.Ceil((w+time.Second).Seconds())), preStopSeconds+1))
}

func recommended(worst map[string]time.Duration) string {
	var w time.Duration
	for _, d := range worst {
		w = max(w, d)
	}
	return fmt.Sprintf("%ds", int(math.Ceil((w + time.Second).Seconds())))
}

// details are the lines under a scenario: per cell, the disruption and what
// it verified, the load and its power, tails, stalls, attributions,
// reconciliation, the app's counts, the phases.
func details(o *outcome.Outcome) []string {
	var out []string
	for _, c := range cellsOf(o) {
		line := fmt.Sprintf("%s clients (%s): **%s**, expected %s", c.Client, strings.Join(c.Paths, ", "), c.Verdict.Result, c.Expected)
		if c.Why != "" {
			line += " — " + c.Why
		}
		for _, p := range sortedKeys(c.MayPass) {
			line += fmt.Sprintf("; %s may pass: %s", p, c.MayPass[p])
		}
		out = append(out, line+": "+c.Verdict.Reason)
	}
	p := o.Scenario.Profile
	line := fmt.Sprintf("profile %s: preStop %s%s, on SIGTERM %s, grace %ds, %d replicas", p.Name, p.PreStop, secs(p.PreStopSeconds), orUnknown(p.OnTerm), p.GraceSeconds, p.Replicas)
	if sc := p.Sidecar; sc != nil {
		line += fmt.Sprintf("; behind a %s proxy sidecar: preStop %s%s, on SIGTERM %s", sc.Mode, orNone(sc.PreStop), secs(sc.PreStopSeconds), sc.OnTerm)
		if sc.FailReadyOnDrain {
			line += ", its readiness failing while it drains"
		}
	}
	out = append(out, line)
	if d := o.Disruption; d != nil {
		line := fmt.Sprintf("disruption %s from %s to %s, then %s of load", d.Name, d.Start.Format("15:04:05.000"), d.End.Format("15:04:05.000"), d.Settle)
		if len(d.Verified) > 0 {
			line += "; verified: " + strings.Join(d.Verified, "; ")
		}
		out = append(out, line)
		if d.Stuck != nil {
			out = append(out, d.Stuck.String()+": "+d.Stuck.Message)
		}
	}
	if o.Load != nil {
		var what []string
		if o.Load.Plan.Rate > 0 {
			what = append(what, fmt.Sprintf("%d rps per request path", o.Load.Plan.Rate))
		}
		if sp := o.Load.Plan.Streams; sp != nil {
			what = append(what, fmt.Sprintf("%d open streams per stream path", sp.Conns))
		}
		line := fmt.Sprintf("load: %s, %d requests and stream sessions from %s to %s", strings.Join(what, ", "), o.Load.Sent(), o.Load.Started.Format("15:04:05"), o.Load.Ended.Format("15:04:05"))
		if n := total(o.InSpan); n > 0 {
			line += fmt.Sprintf("; %d inside the disruption, so zero failures would bound the failure rate below %.2g%% (95%%)", n, outcome.PowerOf(n).UpperBound*100)
		}
		if o.WarmupFailures > 0 {
			line += fmt.Sprintf("; %d warm-up failures before the load was warm (not judged)", o.WarmupFailures)
		}
		out = append(out, line)
	}
	for _, path := range sortedKeys(o.Tail) {
		t := o.Tail[path]
		out = append(out, fmt.Sprintf("propagation tail on %s: the last request reached a terminating pod %s after its endpoint left the ready set, %s (%d pods)",
			path, ms(t.FromEndpointRemoval), relative(t.FromSIGTERM, "SIGTERM"), t.Pods))
	}
	if len(o.Stalls) > 0 {
		longest := o.Stalls[0]
		for _, s := range o.Stalls {
			if s.Duration > longest.Duration {
				longest = s
			}
		}
		out = append(out, fmt.Sprintf("%d stalls (no success for over 200 ms while sending) inside the disruption; the longest %s on %s at %s",
			len(o.Stalls), ms(longest.Duration), longest.Path, longest.From.Format("15:04:05.000")))
	}
	for _, path := range sortedKeys(o.Attribution) {
		a := o.Attribution[path]
		line := fmt.Sprintf("failures on %s: %d while a pod was terminating, %d while one was starting", path, a[outcome.AttrTerminating], a[outcome.AttrStarting])
		if n := a[outcome.AttrNoEndpoints]; n > 0 {
			line += fmt.Sprintf(", %d while the Service had no ready endpoint", n)
		}
		out = append(out, line+fmt.Sprintf(", %d with no pod event", a[outcome.AttrNone]))
	}
	for _, c := range o.Reconciliation {
		if c.Problem != "" {
			out = append(out, "counts on "+c.Path+" do not reconcile: "+c.Problem)
		}
	}
	switch {
	case o.Server.Verified:
		out = append(out, "server cross-check: the app's own counts equal the load's answers")
	case o.Server.Note != "":
		out = append(out, "server cross-check: "+o.Server.Note)
	}
	out = append(out, o.Server.Retries...)
	if len(o.Phases) > 0 {
		var ps []string
		for _, ph := range o.Phases {
			ps = append(ps, fmt.Sprintf("%s %s", ph.Name, ph.Duration.Round(10*time.Millisecond)))
		}
		out = append(out, "phases: "+strings.Join(ps, ", "))
	}
	if len(o.Failures) > 0 {
		first, last := o.Failures[0].Start, o.Failures[len(o.Failures)-1].Start
		out = append(out, fmt.Sprintf("failures from %s to %s; first: %s %s", first.Format("15:04:05.000"), last.Format("15:04:05.000"), o.Failures[0].Class, o.Failures[0].Error))
	}
	return out
}

// relative says "1.2s after what", or "3s before what" for a negative span.
func relative(d time.Duration, what string) string {
	if d < 0 {
		return ms(-d) + " before " + what
	}
	return ms(d) + " after " + what
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func total(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

func classList(m map[outcome.Class]int) string {
	var parts []string
	for _, c := range outcome.Classes {
		if m[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", c, m[c]))
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func secs(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" %ds", n)
}

func ms(d time.Duration) string { return d.Round(time.Millisecond).String() }

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// sortedKeys are a map's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Flaky lists the cells (scenario [client]) whose repeated trials disagree.
func Flaky(outs []*outcome.Outcome) []string {
	var out []string
	for _, g := range newView(outs).Grids {
		for _, row := range g.Rows {
			for _, col := range g.Cols {
				if refs := g.Cells[[2]string{row, col}]; len(refs) > 1 && isFlaky(refs) {
					out = append(out, refs[0].O.Scenario.ID+" ["+string(g.Client)+"]")
				}
			}
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
