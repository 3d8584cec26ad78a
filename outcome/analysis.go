package outcome

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Span is the disruption as it ran: from its start to its end, and how long
// the load went on afterwards (the settle time).
type Span struct {
	Name   string        `json:"name"`
	Start  time.Time     `json:"start"`
	End    time.Time     `json:"end"`
	Settle time.Duration `json:"settleNs"`
	Error  string        `json:"error,omitempty"`
	// Verified lists what the disruption checked the cluster really did.
	Verified []string `json:"verified,omitempty"`
}

// Until is the end of the judged disruption span: the disruption's end plus
// the settle time, when requests that still reach a terminating pod show.
func (s Span) Until() time.Time { return s.End.Add(s.Settle) }

// Contains reports whether t falls inside the span (start to end + settle).
func (s Span) Contains(t time.Time) bool { return !t.Before(s.Start) && !t.After(s.Until()) }

// PathCount reconciles one path's requests: every scheduled request has
// exactly one result, every result is a success or a failure, and every
// result is on disk (and, for an in-cluster path, the generator counted as
// many as were streamed back).
type PathCount struct {
	Path      string `json:"path"`
	Scheduled int    `json:"scheduled"` // the generator's schedule (sequence numbers)
	Results   int    `json:"results"`   // results the generator recorded
	OK        int    `json:"ok"`
	Failed    int    `json:"failed"`
	OnDisk    int    `json:"onDisk"` // lines of records.jsonl
	// Problem says what does not add up ("" when everything does).
	Problem string `json:"problem,omitempty"`
}

// Reconcile counts every path of the load against the records on disk.
func Reconcile(res *LoadResult, onDisk map[string]int) []PathCount {
	var out []PathCount
	for _, path := range sortedPaths(res.Paths) {
		p := res.Paths[path]
		c := PathCount{Path: path, Scheduled: p.Scheduled, Results: p.Sent, OK: p.OK, Failed: p.FailedAll, OnDisk: onDisk[path]}
		var probs []string
		if c.Scheduled != c.Results {
			probs = append(probs, fmt.Sprintf("%d scheduled, %d results", c.Scheduled, c.Results))
		}
		if c.OK+c.Failed != c.Results {
			probs = append(probs, fmt.Sprintf("%d ok + %d failed != %d results", c.OK, c.Failed, c.Results))
		}
		if c.OnDisk != c.Results {
			probs = append(probs, fmt.Sprintf("%d results, %d records on disk", c.Results, c.OnDisk))
		}
		c.Problem = strings.Join(probs, "; ")
		out = append(out, c)
	}
	for path, n := range onDisk {
		if _, ok := res.Paths[path]; !ok {
			out = append(out, PathCount{Path: path, OnDisk: n, Problem: fmt.Sprintf("%d records on disk for a path the load did not drive", n)})
		}
	}
	return out
}

// Stall is a stretch in which a path completed no request successfully
// while requests were being sent: longer than a client would tolerate,
// even when nothing failed.
type Stall struct {
	Path     string        `json:"path"`
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Duration time.Duration `json:"durationNs"`
	Sent     int           `json:"sent"` // requests started inside it
}

// FindStalls lists, per path, the gaps longer than min between successful
// completions inside [from, to] during which requests were sent. Stream
// sessions are left out: a healthy stream completes nothing until it
// closes, and its stalls are its reconnect latencies (StreamStats) and its
// stall timeouts (class timeout).
func FindStalls(records []Record, from, to time.Time, min time.Duration) []Stall {
	ends := map[string][]time.Time{}
	starts := map[string][]time.Time{}
	for _, r := range records {
		if r.Session != nil || r.Start.Before(from) || r.Start.After(to) {
			continue
		}
		starts[r.Path] = append(starts[r.Path], r.Start)
		if r.Class == OK {
			ends[r.Path] = append(ends[r.Path], r.End())
		}
	}
	var out []Stall
	for _, path := range sortedKeys(starts) {
		e, s := ends[path], starts[path]
		sort.Slice(e, func(i, j int) bool { return e[i].Before(e[j]) })
		sort.Slice(s, func(i, j int) bool { return s[i].Before(s[j]) })
		prev := from
		check := func(next time.Time) {
			if next.Sub(prev) > min {
				n := sort.Search(len(s), func(i int) bool { return !s[i].Before(prev) }) // first start >= prev
				m := sort.Search(len(s), func(i int) bool { return !s[i].Before(next) })
				if m > n {
					out = append(out, Stall{Path: path, From: prev, To: next, Duration: next.Sub(prev), Sent: m - n})
				}
			}
		}
		for _, t := range e {
			check(t)
			if t.After(prev) {
				prev = t
			}
		}
		if last := s[len(s)-1]; last.After(prev) {
			check(last)
		}
	}
	return out
}

// Attribution is what a failed request's moment points at.
type Attribution string

const (
	// AttrTerminating: a pod of the workload was terminating (deleted,
	// SIGTERM, its endpoint leaving, its exit) when the request was sent or
	// answered — the race zerodrop is about.
	AttrTerminating Attribution = "terminating"
	// AttrStarting: a pod had just become ready — a new pod ready too early
	// is a real failure too.
	AttrStarting Attribution = "starting"
	// AttrNone: no pod event explains it: the harness's own path, or a
	// saturated machine, before any profile is blamed.
	AttrNone Attribution = "none"
)

// startingWindow is how long after becoming ready a pod counts as starting.
const startingWindow = 3 * time.Second

// podWindows are the moments pods were terminating or starting, from the timeline.
type podWindows struct {
	terminating map[string][2]time.Time // pod -> [first sign, gone]
	ready       []time.Time             // pods becoming ready
}

func windowsOf(timeline []Event) podWindows {
	w := podWindows{terminating: map[string][2]time.Time{}}
	var end time.Time
	for _, e := range timeline {
		if e.Time.After(end) {
			end = e.Time
		}
	}
	// a pod not ready before it ever was is starting, not terminating: a
	// surging rollout's new pods enter their EndpointSlices not ready. Each
	// source on its own: an EndpointSlice may still list a pod not ready
	// after the pod watch saw it ready.
	readyKey := func(e Event) string {
		if e.Source == SourceEndpoint {
			slice, _, _ := strings.Cut(e.Detail, " ")
			return e.Pod + "|" + slice
		}
		return e.Pod
	}
	firstReady := map[string]time.Time{}
	for _, e := range timeline {
		if e.Pod != "" && (e.Kind == "pod_ready" || (e.Source == SourceEndpoint && e.Kind == KindEndpointReady)) {
			if t, ok := firstReady[readyKey(e)]; !ok || e.Time.Before(t) {
				firstReady[readyKey(e)] = e.Time
			}
		}
	}
	wasReady := func(e Event) bool {
		t, ok := firstReady[readyKey(e)]
		return ok && t.Before(e.Time)
	}
	gone := map[string]time.Time{}
	for _, e := range timeline {
		switch {
		case e.Pod == "":
		case e.Kind == "pod_deleting" || e.Kind == KindAppSigterm || e.Kind == "endpoint_terminating" ||
			e.Kind == "endpoint_terminating_serving" || e.Kind == "container_terminated" || e.Kind == "k8s_Killing" ||
			(((e.Source == SourceEndpoint && e.Kind == "endpoint_not_ready") || e.Kind == "pod_unready") && wasReady(e)):
			if win, ok := w.terminating[e.Pod]; !ok || e.Time.Before(win[0]) {
				w.terminating[e.Pod] = [2]time.Time{e.Time, end}
			}
		case e.Kind == "pod_ready" || e.Kind == KindEndpointReady:
			w.ready = append(w.ready, e.Time)
		}
		if e.Kind == "pod_deleted" {
			gone[e.Pod] = e.Time
		}
	}
	for pod, g := range gone {
		if win, ok := w.terminating[pod]; ok {
			w.terminating[pod] = [2]time.Time{win[0], g}
		}
	}
	return w
}

// firstTermination is the earliest moment any pod began terminating.
func (w podWindows) firstTermination() (time.Time, bool) {
	var first time.Time
	for _, win := range w.terminating {
		if first.IsZero() || win[0].Before(first) {
			first = win[0]
		}
	}
	return first, !first.IsZero()
}

func (w podWindows) attribute(r Record) Attribution {
	from, to := r.Start, r.End()
	if r.Session != nil {
		from = to // a session that ran for minutes failed when it ended
	}
	for _, win := range w.terminating {
		if !to.Before(win[0]) && !from.After(win[1]) {
			return AttrTerminating
		}
	}
	for _, t := range w.ready {
		if !to.Before(t) && !from.After(t.Add(startingWindow)) {
			return AttrStarting
		}
	}
	return AttrNone
}

// Attribute counts, per path and attribution, the failed records.
func Attribute(failures []Record, timeline []Event) map[string]map[Attribution]int {
	w := windowsOf(timeline)
	out := map[string]map[Attribution]int{}
	for _, r := range failures {
		if !r.Class.Failed() {
			continue
		}
		if out[r.Path] == nil {
			out[r.Path] = map[Attribution]int{}
		}
		out[r.Path][w.attribute(r)]++
	}
	return out
}

// Saturation compares each path's latency before the first pod began
// terminating with its baseline (the warm-up, before the disruption): a
// median over five times the baseline's and at least 100 ms above it means
// the machine, not the workload, set the pace.
type Saturation struct {
	Path       string        `json:"path"`
	BaseP50    time.Duration `json:"baselineP50Ns"`
	WorstP50   time.Duration `json:"worstP50Ns"` // the worst second between the warm point and the first termination
	At         time.Time     `json:"at"`
	Saturated  bool          `json:"saturated"`
	FirstEvent time.Time     `json:"firstTermination"`
}

// MeasureSaturation finds, per path, the latency baseline (the seconds of
// the load before warm) and the worst second from warm to the first
// termination in the timeline.
func MeasureSaturation(res *LoadResult, warm time.Time, timeline []Event) []Saturation {
	first, ok := windowsOf(timeline).firstTermination()
	if !ok || res == nil {
		return nil
	}
	var out []Saturation
	for _, path := range sortedPaths(res.Paths) {
		var base []time.Duration
		s := Saturation{Path: path, FirstEvent: first}
		for _, sec := range res.Paths[path].Series {
			end := sec.At.Add(time.Second)
			switch {
			case end.Before(warm) || end.Equal(warm):
				if sec.OK > 0 {
					base = append(base, sec.P50)
				}
			case !sec.At.Before(warm) && !end.After(first):
				if sec.P50 > s.WorstP50 {
					s.WorstP50, s.At = sec.P50, sec.At
				}
			}
		}
		if len(base) == 0 {
			continue
		}
		sort.Slice(base, func(i, j int) bool { return base[i] < base[j] })
		s.BaseP50 = base[len(base)/2]
		s.Saturated = s.WorstP50 > 5*s.BaseP50 && s.WorstP50 > s.BaseP50+100*time.Millisecond
		out = append(out, s)
	}
	return out
}

// Power is what a pass proves: how many requests were judged inside the
// disruption span, and the 95 % upper bound on the failure rate that zero
// failures among them allows (1 - 0.05^(1/n), about 3/n).
type Power struct {
	InSpan     int     `json:"inSpan"`
	UpperBound float64 `json:"upperBound95"`
}

// PowerOf computes the power of zero failures among n requests.
func PowerOf(n int) Power {
	if n <= 0 {
		return Power{UpperBound: 1}
	}
	return Power{InSpan: n, UpperBound: 1 - math.Pow(0.05, 1/float64(n))}
}

// InSpan counts, per path, the records judged inside the span (Record.At:
// a request's start, a stream session's end), and the race-class failures
// among them.
func InSpan(records []Record, span Span) (sent, races map[string]int) {
	sent, races = map[string]int{}, map[string]int{}
	for _, r := range records {
		if !span.Contains(r.At()) {
			continue
		}
		sent[r.Path]++
		if r.Class.IsRace() {
			races[r.Path]++
		}
	}
	return sent, races
}

func sortedPaths(m map[string]*PathStats) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sortedKeys are a map's keys in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
