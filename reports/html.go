package reports

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// HTML renders outcomes as one self-contained page: no script, no font, no
// request to anywhere — styles inline, charts as inline SVG. The grid per
// client, the per-profile summary, what to change; per scenario: ok and
// failed requests per second per path with timeline markers and stalls,
// latency p50/p99, and the version split during a rollout. Pure.
func HTML(outs []*outcome.Outcome, changes []Change) (string, error) {
	type scenario struct {
		ID, Mark, Result, Reason string
		Charts                   []template.HTML
		Details                  []string
	}
	v := newView(outs)
	var data struct {
		Status, Summary string
		Grids           []template.HTML
		Profiles        []string
		Advice          []string
		Changes         []Change
		Scenarios       []scenario
	}
	data.Status, data.Summary, data.Profiles = v.Status, v.Summary, v.Profiles
	for _, g := range v.Grids {
		data.Grids = append(data.Grids, gridHTML(g))
	}
	for _, a := range v.Advice {
		data.Advice = append(data.Advice, plain(a))
	}
	data.Changes = changes
	for _, o := range outs {
		s := scenario{ID: o.Scenario.ID, Mark: textMark(o), Result: string(o.Verdict.Result), Reason: o.Verdict.Reason}
		if o.Load != nil {
			start := o.Load.Started
			markers := timelineMarkers(o.Timeline)
			s.Charts = append(s.Charts,
				requestsChart(o, start, markers),
				latencyChart(o, start),
			)
			if v := versionsChart(o, start); v != "" {
				s.Charts = append(s.Charts, v)
			}
		}
		for _, d := range details(o) {
			s.Details = append(s.Details, plain(d))
		}
		data.Scenarios = append(data.Scenarios, s)
	}
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, data); err != nil {
		return "", fmt.Errorf("reports: html: %w", err)
	}
	return buf.String(), nil
}

// plain drops Markdown emphasis for the page.
func plain(s string) string { return strings.NewReplacer("**", "", "`", "").Replace(s) }

var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>zerodrop report: {{.Status}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1180px;color:#1d2330;padding:0 16px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #dde2ea;padding-bottom:4px}
h3{font-size:15px;margin:22px 0 4px} .sum{color:#55607a;margin-bottom:14px}
.status-PASS{color:#18794e} .status-FAIL{color:#c62a2f}
table.matrix{border-collapse:collapse;margin:8px 0} .matrix th,.matrix td{border:1px solid #dde2ea;padding:6px 10px;text-align:left;vertical-align:top}
.matrix th{background:#f3f5f9} td.ok{background:#eaf7ef} td.bad{background:#fdecec} td.warn{background:#fff6e0}
.reason{color:#39435a} ul{margin:4px 0 8px 18px;padding:0} .charts{display:flex;flex-wrap:wrap;gap:12px}
svg.chart{background:#fff;border:1px solid #e3e7ee;border-radius:6px} .legend{font-size:12px}
.worse{color:#c62a2f;font-weight:600}
</style></head><body>
<h1>zerodrop report: <span class="status-{{.Status}}">{{.Status}}</span></h1>
<div class="sum">{{.Summary}}</div>
{{range .Grids}}{{.}}{{end}}
{{if .Profiles}}<h2>Per profile</h2><ul>{{range .Profiles}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>What to change</h2><ul>{{range .Advice}}<li>{{.}}</li>{{end}}</ul>
{{if .Changes}}<h2>Compared with the baseline</h2><ul>{{range .Changes}}<li class="{{if .Worse}}worse{{end}}">{{.Scenario}}: {{.What}}</li>{{end}}</ul>{{end}}
<h2>Scenarios</h2>
{{range .Scenarios}}<section class="scenario" id="{{.ID}}"><h3>{{.ID}} — {{.Result}} {{.Mark}}</h3>
<div class="reason">{{.Reason}}</div><ul>{{range .Details}}<li>{{.}}</li>{{end}}</ul>
<div class="charts">{{range .Charts}}{{.}}{{end}}</div></section>
{{end}}</body></html>
`))

// textMark is mark without emoji: a page must not depend on an emoji font.
func textMark(o *outcome.Outcome) string {
	switch mark(o) {
	case "✅":
		return "[as expected]"
	case "⚠️":
		return "[no evidence]"
	}
	return "[NOT as expected]"
}

func gridHTML(g grid) template.HTML {
	var b strings.Builder
	fmt.Fprintf(&b, `<h2>%s clients</h2><table class="matrix"><tr><th>profile</th>`, template.HTMLEscapeString(string(g.Client)))
	for _, d := range g.Cols {
		b.WriteString("<th>" + template.HTMLEscapeString(d) + "</th>")
	}
	b.WriteString("</tr>")
	for _, row := range g.Rows {
		b.WriteString("<tr><th>" + template.HTMLEscapeString(g.Label[row]) + "</th>")
		for _, col := range g.Cols {
			cells := g.Cells[[2]string{row, col}]
			class, parts := "", []string{}
			if len(cells) > 1 && cells[0].O.Scenario.Trial > 0 {
				m, t := trialsText(cells)
				class = map[string]string{"✅": "ok", "❌": "bad", "⚠️": "warn", "🔀": "bad"}[m]
				parts = append(parts, template.HTMLEscapeString(t))
			}
			for _, c := range cells {
				if len(parts) > 0 && cells[0].O.Scenario.Trial > 0 {
					break
				}
				if class == "" || c.Class() != "ok" {
					class = c.Class()
				}
				parts = append(parts, template.HTMLEscapeString(c.Text()))
			}
			if len(parts) == 0 {
				parts = []string{"–"}
			}
			fmt.Fprintf(&b, `<td class="%s">%s</td>`, class, strings.Join(parts, "<br>"))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</table>")
	return template.HTML(b.String())
}

// marker is a vertical line on the time axis.
type marker struct {
	At    time.Time
	Label string
	Color string
}

var markerKinds = map[string]string{
	"disruption_start": "#6b4fbb", "disruption_done": "#6b4fbb",
	"pod_deleting": "#c47a00", "app_sigterm": "#c62a2f", "endpoint_terminating": "#2b6cb0",
	"endpoint_terminating_serving": "#2b6cb0", "endpoint_removed": "#2b6cb0", "node_cordoned": "#444",
	"pod_evicted": "#c47a00", "app_exited": "#888",
}

func timelineMarkers(tl []outcome.Event) []marker {
	var out []marker
	for _, e := range tl {
		c, ok := markerKinds[e.Kind]
		if !ok {
			continue
		}
		label := e.Kind
		if e.Pod != "" {
			label += " " + e.Pod
		} else if e.Detail != "" {
			label += " " + e.Detail
		}
		out = append(out, marker{At: e.Time, Label: label, Color: c})
	}
	return out
}

// chart geometry
const (
	cw, ch             = 560, 230
	padL, padR         = 52, 12
	padT, padB         = 26, 34
	plotW, plotH       = cw - padL - padR, ch - padT - padB
	failedColor        = "#d93036"
	stallColor         = "#dd8a1a"
	okPalette          = "#2f855a,#2b6cb0,#805ad5,#b7791f"
	latencyPalette     = "#2b6cb0,#c05621,#2f855a,#805ad5"
	versionPalette     = "#718096,#2f855a,#805ad5,#b7791f"
	chartFont          = `font-family="system-ui,sans-serif" font-size="11"`
	maxMarkersPerChart = 60
)

type axis struct {
	start      time.Time
	span, maxY float64
}

func (a axis) x(t time.Time) float64 {
	return padL + math.Max(0, math.Min(1, t.Sub(a.start).Seconds()/a.span))*plotW
}
func (a axis) y(v float64) float64 { return padT + plotH - v/a.maxY*plotH }

func newAxis(o *outcome.Outcome, start time.Time, maxY float64) axis {
	span := o.Load.Ended.Sub(start).Seconds()
	if span < 1 {
		span = 1
	}
	if maxY <= 0 {
		maxY = 1
	}
	return axis{start: start, span: span, maxY: niceCeil(maxY)}
}

func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func frame(b *strings.Builder, title, class string, a axis, yLabel func(float64) string) {
	fmt.Fprintf(b, `<svg class="chart %s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" %s>`, class, cw, ch, cw, ch, chartFont)
	fmt.Fprintf(b, `<text x="%d" y="16" font-size="12" font-weight="600">%s</text>`, padL, template.HTMLEscapeString(title))
	for i := 0; i <= 4; i++ {
		v := a.maxY * float64(i) / 4
		y := a.y(v)
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#edf0f5"/><text x="%d" y="%.1f" text-anchor="end" fill="#55607a">%s</text>`,
			padL, cw-padR, y, y, padL-4, y+4, yLabel(v))
	}
	for s := 0.0; s <= a.span; s += tickStep(a.span) {
		x := padL + s/a.span*plotW
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#55607a">%.0fs</text>`, x, ch-padB+14, s)
	}
	fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#8a94a8"/>`, padL, cw-padR, padT+plotH, padT+plotH)
}

func tickStep(span float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 15, 30, 60, 120, 300} {
		if span/s <= 10 {
			return s
		}
	}
	return 600
}

func drawMarkers(b *strings.Builder, a axis, ms []marker) {
	if len(ms) > maxMarkersPerChart {
		ms = ms[:maxMarkersPerChart]
	}
	for _, m := range ms {
		x := a.x(m.At)
		fmt.Fprintf(b, `<line class="marker" x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-width="1" stroke-dasharray="3,3" opacity="0.7"><title>%s %s</title></line>`,
			x, x, padT, padT+plotH, m.Color, m.At.Format("15:04:05.000"), template.HTMLEscapeString(m.Label))
	}
}

func paths(o *outcome.Outcome) []string {
	ps := append([]string(nil), o.Scenario.Paths...)
	if len(ps) == 0 {
		ps = sortedKeys(o.Load.Paths)
	}
	return ps
}

// requestsChart: ok per second per path (lines), failed per second (red bars), timeline markers.
func requestsChart(o *outcome.Outcome, start time.Time, ms []marker) template.HTML {
	maxY := 0.0
	for _, p := range o.Load.Paths {
		for _, s := range p.Series {
			maxY = math.Max(maxY, float64(s.Sent))
		}
	}
	a := newAxis(o, start, maxY)
	var b strings.Builder
	frame(&b, "requests/s: ok (lines), failed (red bars), stalls (shaded), timeline (dashed)", "requests", a, func(v float64) string { return fmt.Sprintf("%.0f", v) })
	for _, st := range o.Stalls {
		x1, x2 := a.x(st.From), a.x(st.To)
		fmt.Fprintf(&b, `<rect class="stall" data-path="%s" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s" opacity="0.25"><title>stall on %s: no success for %s from %s (%d requests sent)</title></rect>`,
			st.Path, x1, padT, math.Max(1, x2-x1), plotH, stallColor, st.Path, st.Duration.Round(time.Millisecond), st.From.Format("15:04:05.000"), st.Sent)
	}
	drawMarkers(&b, a, ms)
	colors := strings.Split(okPalette, ",")
	barW := math.Max(2, plotW/a.span*0.8/float64(len(paths(o))))
	for i, path := range paths(o) {
		st := o.Load.Paths[path]
		if st == nil {
			continue
		}
		var pts []string
		for _, s := range st.Series {
			x := a.x(s.At.Add(500 * time.Millisecond))
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, a.y(float64(s.OK))))
			failed := 0
			for _, n := range s.Failed {
				failed += n
			}
			if failed > 0 {
				h := float64(failed) / a.maxY * plotH
				fmt.Fprintf(&b, `<rect class="series-failed" data-path="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d failed %s</title></rect>`,
					path, x-barW/2+float64(i)*barW, a.y(0)-math.Max(h, 2), barW, math.Max(h, 2), failedColor, path, s.At.Format("15:04:05"), failed, classList(s.Failed))
			}
		}
		fmt.Fprintf(&b, `<polyline class="series-ok" data-path="%s" data-points="%d" fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`,
			path, len(pts), colors[i%len(colors)], strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text class="legend" x="%d" y="%d" fill="%s">● %s ok</text>`, padL+10+i*120, ch-6, colors[i%len(colors)], path)
	}
	fmt.Fprintf(&b, `<text class="legend" x="%d" y="%d" fill="%s">■ failed</text>`, cw-padR-60, ch-6, failedColor)
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// latencyChart: p50 (solid) and p99 (dashed) per path.
func latencyChart(o *outcome.Outcome, start time.Time) template.HTML {
	maxY := 0.0
	for _, p := range o.Load.Paths {
		for _, s := range p.Series {
			maxY = math.Max(maxY, float64(s.P99)/float64(time.Millisecond))
		}
	}
	a := newAxis(o, start, maxY)
	var b strings.Builder
	frame(&b, "latency: p50 (solid), p99 (dashed), ms", "latency", a, func(v float64) string { return fmt.Sprintf("%.0f", v) })
	colors := strings.Split(latencyPalette, ",")
	for i, path := range paths(o) {
		st := o.Load.Paths[path]
		if st == nil {
			continue
		}
		var p50, p99 []string
		for _, s := range st.Series {
			x := a.x(s.At.Add(500 * time.Millisecond))
			p50 = append(p50, fmt.Sprintf("%.1f,%.1f", x, a.y(float64(s.P50)/float64(time.Millisecond))))
			p99 = append(p99, fmt.Sprintf("%.1f,%.1f", x, a.y(float64(s.P99)/float64(time.Millisecond))))
		}
		c := colors[i%len(colors)]
		fmt.Fprintf(&b, `<polyline class="series-p50" data-path="%s" data-points="%d" fill="none" stroke="%s" stroke-width="1.6" points="%s"/>`, path, len(p50), c, strings.Join(p50, " "))
		fmt.Fprintf(&b, `<polyline class="series-p99" data-path="%s" data-points="%d" fill="none" stroke="%s" stroke-width="1.2" stroke-dasharray="4,3" points="%s"/>`, path, len(p99), c, strings.Join(p99, " "))
		fmt.Fprintf(&b, `<text class="legend" x="%d" y="%d" fill="%s">● %s</text>`, padL+10+i*120, ch-6, c, path)
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}

// versionsChart: answers per second by X-Pod-Version over every path, when more than one version answered.
func versionsChart(o *outcome.Outcome, start time.Time) template.HTML {
	perSec := map[int64]map[string]int{}
	versions := []string{}
	maxY := 0.0
	for _, p := range o.Load.Paths {
		for _, s := range p.Series {
			k := s.At.Unix()
			if perSec[k] == nil {
				perSec[k] = map[string]int{}
			}
			total := 0
			for v, n := range s.Versions {
				perSec[k][v] += n
				versions = appendUnique(versions, v)
				total += perSec[k][v]
			}
			maxY = math.Max(maxY, float64(total))
		}
	}
	if len(versions) < 2 {
		return ""
	}
	sort.Strings(versions)
	secsSorted := make([]int64, 0, len(perSec))
	for k := range perSec {
		secsSorted = append(secsSorted, k)
	}
	sort.Slice(secsSorted, func(i, j int) bool { return secsSorted[i] < secsSorted[j] })
	a := newAxis(o, start, maxY)
	var b strings.Builder
	frame(&b, "answers/s by version (rollout progress)", "versions", a, func(v float64) string { return fmt.Sprintf("%.0f", v) })
	colors := strings.Split(versionPalette, ",")
	for i, v := range versions {
		var pts []string
		for _, k := range secsSorted {
			x := a.x(time.Unix(k, 500e6))
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, a.y(float64(perSec[k][v]))))
		}
		c := colors[i%len(colors)]
		fmt.Fprintf(&b, `<polyline class="series-version" data-version="%s" data-points="%d" fill="none" stroke="%s" stroke-width="1.8" points="%s"/>`, v, len(pts), c, strings.Join(pts, " "))
		fmt.Fprintf(&b, `<text class="legend" x="%d" y="%d" fill="%s">● %s</text>`, padL+10+i*90, ch-6, c, v)
	}
	b.WriteString("</svg>")
	return template.HTML(b.String())
}
