package reports

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// Markdown renders outcomes as a matrix profile × disruption with a verdict and
// failure count per path in each cell, the scenario details, and what to
// change — fit for a CI step summary or a pull-request comment. Pure.
func Markdown(outs []*outcome.Outcome) string { return MarkdownWithChanges(outs, nil) }

// MarkdownWithChanges is Markdown plus a section comparing the run with a baseline.
func MarkdownWithChanges(outs []*outcome.Outcome, changes []Change) string {
	var b strings.Builder
	asExpected := 0
	for _, o := range outs {
		if o.Verdict.AsExpected {
			asExpected++
		}
	}
	status := "PASS"
	if asExpected != len(outs) {
		status = "FAIL"
	}
	fmt.Fprintf(&b, "# zerodrop report: %s\n\n", status)
	fmt.Fprintf(&b, "%d scenarios, %d as expected", len(outs), asExpected)
	if env := outs[0].Environment; env.KubernetesVersion != "" {
		fmt.Fprintf(&b, " · Kubernetes %s · kube-proxy %s · %s mode", env.KubernetesVersion, env.KubeProxyMode, env.Mode)
	}
	b.WriteString("\n\n")

	// the matrix
	g := newGrid(outs)
	b.WriteString("| profile | " + strings.Join(g.cols, " | ") + " |\n")
	b.WriteString("|---" + strings.Repeat("|---", len(g.cols)) + "|\n")
	for _, p := range g.rows {
		row := []string{g.label[p]}
		for _, d := range g.cols {
			var parts []string
			for _, o := range g.cells[[2]string{p, d}] {
				parts = append(parts, cellText(o))
			}
			if len(parts) == 0 {
				parts = append(parts, "–")
			}
			row = append(row, strings.Join(parts, "<br>"))
		}
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\n✅ as expected (zero failures, or a negative control that failed as it must) · ❌ not as expected · ⚠️ no evidence (invalid run or error)\n\n")

	if changes != nil {
		b.WriteString("## Compared with the baseline\n\n")
		if len(changes) == 0 {
			b.WriteString("No cell changed.\n")
		}
		for _, c := range changes {
			m := "·"
			if c.Worse {
				m = "⬇️ worse:"
			}
			fmt.Fprintf(&b, "- %s **%s**: %s\n", m, c.Scenario, c.What)
		}
		b.WriteString("\n")
	}

	// what to change
	b.WriteString("## What to change\n\n")
	b.WriteString(advice(outs))

	// details
	b.WriteString("\n## Scenarios\n\n")
	for _, o := range outs {
		fmt.Fprintf(&b, "### %s %s\n\n", mark(o), o.Scenario.ID)
		fmt.Fprintf(&b, "- verdict: **%s** (expected %s): %s\n", o.Verdict.Result, o.Verdict.Expected, o.Verdict.Reason)
		p := o.Scenario.Profile
		fmt.Fprintf(&b, "- profile: preStop %s%s, on SIGTERM %s, grace %ds, %d replicas\n", p.PreStop, secs(p.PreStopSeconds), p.OnTerm, p.GraceSeconds, p.Replicas)
		if o.Load != nil {
			fmt.Fprintf(&b, "- load: %d rps per path, keep-alive %v, %d requests from %s to %s", o.Load.Plan.Rate, o.Load.Plan.KeepAlive, o.Load.Sent(),
				o.Load.Started.Format("15:04:05"), o.Load.Ended.Format("15:04:05"))
			if o.WarmupFailures > 0 {
				fmt.Fprintf(&b, "; %d warm-up failures before the load was warm (not judged)", o.WarmupFailures)
			}
			b.WriteString("\n")
		}
		for _, path := range sortedKeys(o.Tail) {
			t := o.Tail[path]
			fmt.Fprintf(&b, "- propagation tail on %s: last request reached a terminating pod %s after its endpoint left the ready set, %s after SIGTERM (%d pods)\n",
				path, ms(t.FromEndpointRemoval), ms(t.FromSIGTERM), t.Pods)
		}
		switch {
		case o.Server.Verified:
			b.WriteString("- server cross-check: the fixture's own counts equal the load's successes\n")
		case o.Server.Note != "":
			fmt.Fprintf(&b, "- server cross-check: %s\n", o.Server.Note)
		}
		if len(o.Failures) > 0 {
			first, last := o.Failures[0].Start, o.Failures[len(o.Failures)-1].Start
			fmt.Fprintf(&b, "- failures from %s to %s; first: %s %s\n", first.Format("15:04:05.000"), last.Format("15:04:05.000"), o.Failures[0].Class, o.Failures[0].Error)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// grid groups outcomes into the profile × disruption matrix both renderers draw.
type grid struct {
	rows  []string          // profiles, in order of appearance
	cols  []string          // disruptions (and workload, when not a Deployment), sorted
	label map[string]string // profile -> row label ("naive (control)")
	cells map[[2]string][]*outcome.Outcome
}

func newGrid(outs []*outcome.Outcome) grid {
	g := grid{label: map[string]string{}, cells: map[[2]string][]*outcome.Outcome{}}
	for _, o := range outs {
		k := [2]string{o.Scenario.Profile.Name, o.Scenario.Disruption + workloadSuffix(o)}
		g.rows = appendUnique(g.rows, k[0])
		g.cols = appendUnique(g.cols, k[1])
		g.cells[k] = append(g.cells[k], o)
		if g.label[k[0]] == "" {
			g.label[k[0]] = k[0]
		}
		if o.Scenario.Profile.Expect == "fail" {
			g.label[k[0]] = k[0] + " (control)"
		}
	}
	sort.Strings(g.cols)
	return g
}

func workloadSuffix(o *outcome.Outcome) string {
	if o.Scenario.Workload == "" || o.Scenario.Workload == "Deployment" {
		return ""
	}
	return " (" + strings.ToLower(string(o.Scenario.Workload)) + ")"
}

func mark(o *outcome.Outcome) string {
	switch {
	case o.Verdict.Result == outcome.Invalid || o.Verdict.Result == outcome.Error:
		return "⚠️"
	case o.Verdict.AsExpected:
		return "✅"
	}
	return "❌"
}

// cellText is "✅ nodeport 0/1704" style, one entry per path.
func cellText(o *outcome.Outcome) string {
	if o.Load == nil || o.Verdict.Result == outcome.Error {
		return mark(o) + " " + string(o.Verdict.Result)
	}
	var parts []string
	for _, path := range o.Scenario.Paths {
		sent := 0
		if s := o.Load.Paths[path]; s != nil {
			sent = s.Sent
		}
		if o.Window != nil && o.Window.Paths[path] != nil {
			sent = o.Window.Paths[path].Sent // the requests the verdict judged
		}
		failed := 0
		classes := map[outcome.Class]int{}
		for _, f := range o.Failures {
			if f.Path == path {
				failed++
				classes[f.Class]++
			}
		}
		txt := fmt.Sprintf("%s %d/%d", path, failed, sent)
		if failed > 0 {
			var cs []string
			for _, c := range outcome.Classes {
				if classes[c] > 0 {
					cs = append(cs, fmt.Sprintf("%s %d", c, classes[c]))
				}
			}
			txt += " (" + strings.Join(cs, ", ") + ")"
		}
		parts = append(parts, txt)
	}
	res := mark(o) + " " + strings.Join(parts, ", ")
	if o.Verdict.Result == outcome.Invalid {
		res += " invalid"
	}
	return res
}

// advice derives what to change from the measured tails and the profiles'
// grace arithmetic.
func advice(outs []*outcome.Outcome) string {
	var b strings.Builder
	worst := map[string]time.Duration{}
	for _, o := range outs {
		for path, t := range o.Tail {
			if t.FromEndpointRemoval > worst[path] {
				worst[path] = t.FromEndpointRemoval
			}
		}
	}
	for _, path := range sortedKeys(worst) {
		rec := int(math.Ceil((worst[path] + time.Second).Seconds()))
		fmt.Fprintf(&b, "- **%s**: terminating pods kept getting requests up to %s after their endpoint left the ready set. "+
			"Keep serving at least that long after SIGTERM: a preStop `sleep` of **%ds** or more (measured tail + 1 s margin) before the app stops accepting.\n",
			path, ms(worst[path]), rec)
	}
	seen := map[string]bool{}
	for _, o := range outs {
		p := o.Scenario.Profile
		if seen[p.Name] {
			continue
		}
		seen[p.Name] = true
		drain := time.Duration(0)
		if d, ok := strings.CutPrefix(p.OnTerm, "drain="); ok {
			drain, _ = time.ParseDuration(d)
		}
		need := time.Duration(p.PreStopSeconds)*time.Second + drain
		if grace := time.Duration(p.GraceSeconds) * time.Second; grace < need {
			fmt.Fprintf(&b, "- **%s**: terminationGracePeriodSeconds %d is shorter than preStop %ds + drain %s: the kubelet sends SIGKILL mid-drain; raise it to at least %d.\n",
				p.Name, p.GraceSeconds, p.PreStopSeconds, drain, int(math.Ceil(need.Seconds()))+2)
		}
		if p.PreStop == "none" && (p.OnTerm == "exit") {
			fmt.Fprintf(&b, "- **%s**: the app exits on SIGTERM with no preStop delay, while endpoints still route to it: add a preStop sleep (or keep serving after SIGTERM) for at least the measured tail.\n", p.Name)
		}
	}
	if b.Len() == 0 {
		return "Nothing: every profile kept serving past the measured tails.\n"
	}
	return b.String()
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

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
