package outcome

import (
	"sort"
	"strings"
)

// Client is how a path's client uses connections: a new connection for
// every request, or a kept-alive pool. The two meet a pod's shutdown at
// different moments (a new connection at endpoint removal, a pooled one at
// the pod's exit), so each has its own expectation and verdict.
type Client string

const (
	NewConnections Client = "new-connection"
	KeepAlive      Client = "keep-alive"
	// Streams are long-lived connections (server-sent events, WebSockets):
	// a cut is a failure, a polite close followed by a reconnect is not.
	Streams Client = "stream"
)

// Clients lists the clients in report order.
var Clients = []Client{NewConnections, KeepAlive, Streams}

// ClientOf is the client of a path, by its name ("nodeport+ka",
// "nodeport+sse", "nodeport+ws").
func ClientOf(path string) Client {
	switch {
	case strings.HasSuffix(path, "+ka"):
		return KeepAlive
	case strings.HasSuffix(path, "+sse"), strings.HasSuffix(path, "+ws"):
		return Streams
	}
	return NewConnections
}

// Cell is one client's share of a scenario: its paths, what they must show
// and why, and the verdict on them alone.
type Cell struct {
	Client   Client      `json:"client"`
	Paths    []string    `json:"paths"`
	Expected Expectation `json:"expected"`
	// Why says, from how the race works, why this is the expectation.
	Why string `json:"why,omitempty"`
	// MayPass names the paths a failing expectation does not force to
	// fail, each with the reason (see Expected.MayPass).
	MayPass map[string]string `json:"mayPass,omitempty"`
	Verdict Verdict           `json:"verdict"`
}

// Expectations are a scenario's expectation per client, with their reasons.
type Expectations map[Client]Expected

// Expected is one client's expectation and its one-line reason.
type Expected struct {
	Expect Expectation
	Why    string
	// MayPass are the paths (by name, "headless" or "headless+ka") on which
	// a fail expectation is not certain, with the reason from how the race
	// works: the cell still fails as expected through its other paths, but
	// these are not held to fail as a control's paths are.
	MayPass map[string]string
}

// JudgeCells judges each client's paths on their own, against that
// client's expectation, and folds the cells into one verdict: as expected
// only when every cell is.
func JudgeCells(e Evidence, exp Expectations) ([]Cell, Verdict) {
	byClient := map[Client][]string{}
	for _, p := range e.Paths {
		byClient[ClientOf(p)] = append(byClient[ClientOf(p)], p)
	}
	var cells []Cell
	for _, c := range Clients {
		paths := byClient[c]
		if len(paths) == 0 {
			continue
		}
		x := exp[c]
		var may map[string]string
		for _, p := range paths {
			if why, ok := x.MayPass[p]; ok && x.Expect == ExpectFail {
				if may == nil {
					may = map[string]string{}
				}
				may[p] = why
			}
		}
		x.MayPass = may
		cells = append(cells, Cell{Client: c, Paths: paths, Expected: x.Expect, Why: x.Why, MayPass: may, Verdict: JudgeExpected(e.Only(paths), x)})
	}
	return cells, Fold(cells)
}

// Fold is the scenario's verdict from its cells: the worst result, as
// expected only when every cell is, the cells' reasons side by side.
func Fold(cells []Cell) Verdict {
	if len(cells) == 1 {
		return cells[0].Verdict
	}
	// a refused disruption or a stuck rollout drops nothing, as a pass
	// does, but says more: it names the scenario over a pass
	rank := map[Result]int{Pass: 0, Blocked: 1, Stuck: 1, Fail: 2, Invalid: 3, Error: 4}
	v := Verdict{Result: Pass, AsExpected: true}
	var reasons, expected []string
	for _, c := range cells {
		if rank[c.Verdict.Result] > rank[v.Result] {
			v.Result = c.Verdict.Result
		}
		v.AsExpected = v.AsExpected && c.Verdict.AsExpected
		reasons = append(reasons, string(c.Client)+": "+string(c.Verdict.Result)+": "+c.Verdict.Reason)
		expected = append(expected, string(c.Expected))
	}
	v.Reason = strings.Join(reasons, " | ")
	if allSame(expected) {
		v.Expected = Expectation(expected[0])
	} else {
		v.Expected = Expectation(strings.Join(expected, "/"))
	}
	return v
}

func allSame(s []string) bool {
	for _, x := range s {
		if x != s[0] {
			return false
		}
	}
	return true
}

// Only is the evidence restricted to some paths: what their verdict rests on.
func (e Evidence) Only(paths []string) Evidence {
	keep := map[string]bool{}
	for _, p := range paths {
		keep[p] = true
	}
	out := e
	out.Paths = append([]string(nil), paths...)
	sort.Strings(out.Paths)
	out.Window = Window{From: e.Window.From, Warmup: e.Window.Warmup, Paths: map[string]*WindowPath{}}
	for p, w := range e.Window.Paths {
		if keep[p] {
			out.Window.Paths[p] = w
		}
	}
	out.Reconciliation = nil
	for _, c := range e.Reconciliation {
		if keep[c.Path] {
			out.Reconciliation = append(out.Reconciliation, c)
		}
	}
	out.InSpan, out.RacesInSpan = filter(e.InSpan, keep), filter(e.RacesInSpan, keep)
	out.Attribution = map[string]map[Attribution]int{}
	for p, a := range e.Attribution {
		if keep[p] {
			out.Attribution[p] = a
		}
	}
	out.Saturation = nil
	for _, s := range e.Saturation {
		if keep[s.Path] {
			out.Saturation = append(out.Saturation, s)
		}
	}
	var unreached []string
	for _, u := range e.Unreached {
		if p, _, ok := strings.Cut(u, "→"); !ok || keep[p] {
			unreached = append(unreached, u)
		}
	}
	out.Unreached = unreached
	out.Server = e.Server.only(keep)
	if e.Load != nil {
		out.Load = e.Load.only(keep)
	}
	return out
}

func filter(m map[string]int, keep map[string]bool) map[string]int {
	if m == nil {
		return nil
	}
	out := map[string]int{}
	for k, v := range m {
		if keep[k] {
			out[k] = v
		}
	}
	return out
}

// only is the load result as some paths see it: the reasons a path's load is
// no evidence ("nodeport: generator stalled ...") count only for that
// path; reasons that name no path count for every one.
func (r *LoadResult) only(keep map[string]bool) *LoadResult {
	out := *r
	out.Invalid = nil
	for _, why := range r.Invalid {
		path, _, ok := strings.Cut(why, ": ")
		if ok && !strings.Contains(path, " ") && !keep[path] {
			continue
		}
		out.Invalid = append(out.Invalid, why)
	}
	out.Valid = len(out.Invalid) == 0
	return &out
}
