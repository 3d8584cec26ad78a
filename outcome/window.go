package outcome

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Window counts requests by path from a start time on: the part of the load
// a verdict judges.
type Window struct {
	From   time.Time              `json:"from"`
	Paths  map[string]*WindowPath `json:"paths"`
	Warmup int                    `json:"warmupFailures"` // failures before From, not judged
}

// WindowPath is one path's count inside the window.
type WindowPath struct {
	Sent   int           `json:"sent"`
	Failed map[Class]int `json:"failed,omitempty"`
}

// MeasureWindow counts the records judged at (Record.At: a request's
// start, a stream session's end) or after from.
func MeasureWindow(records []Record, from time.Time) Window {
	w := Window{From: from, Paths: map[string]*WindowPath{}}
	for _, r := range records {
		if r.At().Before(from) {
			if r.Class.Failed() {
				w.Warmup++
			}
			continue
		}
		p := w.Paths[r.Path]
		if p == nil {
			p = &WindowPath{Failed: map[Class]int{}}
			w.Paths[r.Path] = p
		}
		p.Sent++
		if r.Class.Failed() {
			p.Failed[r.Class]++
		}
	}
	return w
}

// Sent counts the window's requests.
func (w Window) Sent() (n int) {
	for _, p := range w.Paths {
		n += p.Sent
	}
	return n
}

// Failed counts the window's failed requests.
func (w Window) Failed() (n int) {
	for _, p := range w.Paths {
		for _, c := range p.Failed {
			n += c
		}
	}
	return n
}

// Summary says, per path, how many requests failed and of which class.
func (w Window) Summary() string {
	paths := make([]string, 0, len(w.Paths))
	for p := range w.Paths {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var parts []string
	for _, path := range paths {
		p := w.Paths[path]
		failed := 0
		var cls []string
		for _, c := range Classes {
			if n := p.Failed[c]; n > 0 {
				failed += n
				cls = append(cls, fmt.Sprintf("%s %d", c, n))
			}
		}
		if failed > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d of %d failed (%s)", path, failed, p.Sent, strings.Join(cls, ", ")))
		}
	}
	return strings.Join(parts, "; ")
}
