// Package reports renders outcomes into reports — Markdown for CI step
// summaries, a self-contained HTML page, JUnit XML — and compares runs. It
// reads outcomes (package outcome) and nothing of Kubernetes.
package reports

import (
	"fmt"
	"strings"

	"github.com/zerodrop/zerodrop/outcome"
)

// Markdown renders outcomes as the profile × disruption grid per client
// (new connections, keep-alive) with a verdict and the failures in each
// cell, a per-profile summary, what to change, and the scenarios' details —
// fit for a CI step summary or a pull-request comment. Pure.
func Markdown(outs []*outcome.Outcome) string { return MarkdownWithChanges(outs, nil) }

// MarkdownWithChanges is Markdown plus a section comparing the run with a baseline.
func MarkdownWithChanges(outs []*outcome.Outcome, changes []Change) string {
	v := newView(outs)
	var b strings.Builder
	fmt.Fprintf(&b, "# zerodrop report: %s\n\n%s\n\n", v.Status, v.Summary)
	for _, g := range v.Grids {
		fmt.Fprintf(&b, "## %s clients\n\n", strings.ToUpper(string(g.Client[:1]))+string(g.Client[1:]))
		b.WriteString("| profile | " + strings.Join(g.Cols, " | ") + " |\n")
		b.WriteString("|---" + strings.Repeat("|---", len(g.Cols)) + "|\n")
		for _, row := range g.Rows {
			line := []string{g.Label[row]}
			for _, col := range g.Cols {
				var parts []string
				refs := g.Cells[[2]string{row, col}]
				if len(refs) > 1 && refs[0].O.Scenario.Trial > 0 {
					m, t := trialsText(refs)
					parts = append(parts, m+" "+t)
				} else {
					for _, c := range refs {
						parts = append(parts, c.Mark()+" "+c.Text())
					}
				}
				if len(parts) == 0 {
					parts = append(parts, "–")
				}
				line = append(line, strings.Join(parts, "<br>"))
			}
			b.WriteString("| " + strings.Join(line, " | ") + " |\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("✅ as expected (zero failures, or a negative control that failed as it must) · ❌ not as expected · ⚠️ no evidence (invalid run or error) · 🔀 flaky (trials disagree: fails the gate); each cell: result, failed/judged requests over its paths (classes)\n\n")
	if len(v.Profiles) > 0 {
		b.WriteString("## Per profile\n\n")
		for _, p := range v.Profiles {
			b.WriteString("- " + p + "\n")
		}
		b.WriteString("\n")
	}
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
	b.WriteString("## What to change\n\n")
	for _, a := range v.Advice {
		b.WriteString("- " + a + "\n")
	}
	b.WriteString("\n## Scenarios\n\n")
	for _, o := range outs {
		fmt.Fprintf(&b, "### %s %s\n\n", mark(o), o.Scenario.ID)
		fmt.Fprintf(&b, "- verdict: **%s** (expected %s): %s\n", o.Verdict.Result, o.Verdict.Expected, o.Verdict.Reason)
		for _, d := range details(o) {
			b.WriteString("- " + d + "\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// mark is a scenario's symbol: as expected, not as expected, no evidence.
func mark(o *outcome.Outcome) string {
	switch {
	case o.Verdict.Result == outcome.Invalid || o.Verdict.Result == outcome.Error:
		return "⚠️"
	case o.Verdict.AsExpected:
		return "✅"
	}
	return "❌"
}
