package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// The CLI's logging. Not on a terminal (CI, a pipe, a test) it is a text
// handler, one line per record, at Info (Debug with -v), and the progress
// records (phase.Step, phase.Live) are dropped: the output is what it was
// before there was a status line. On a terminal finished phases and every
// other record still print as those lines, and what is open shows below
// them in a status redrawn in place: each phase with its elapsed time
// (ticking by itself), the step it is at, the load's live figures per
// path; one line per namespace when scenarios run side by side.

// statusTick is how often the status redraws while something is open.
const statusTick = 500 * time.Millisecond

// maxStatusLines bounds the status; more namespaces are counted, not shown.
const maxStatusLines = 8

// Terminal control: carriage return and erase the line; one line up.
const (
	eraseLine = "\r\x1b[2K"
	lineUp    = "\x1b[1A"
)

// handlerOptions are the text handler's options: the time as hh:mm:ss.mmm.
func handlerOptions(level slog.Level) *slog.HandlerOptions {
	return &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.String("time", a.Value.Time().Format("15:04:05.000"))
		}
		return a
	}}
}

// plainHandler is the handler off a terminal: the text handler without the
// progress records.
type plainHandler struct{ slog.Handler }

func newPlainHandler(w io.Writer, level slog.Level) slog.Handler {
	return plainHandler{slog.NewTextHandler(w, handlerOptions(level))}
}

func (h plainHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l != phase.LevelProgress && h.Handler.Enabled(ctx, l)
}

func (h plainHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == phase.LevelProgress {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h plainHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return plainHandler{h.Handler.WithAttrs(as)}
}

func (h plainHandler) WithGroup(name string) slog.Handler {
	return plainHandler{h.Handler.WithGroup(name)}
}

// status is the terminal's status below the log lines. It is an io.Writer:
// what is written through it goes above the status.
type status struct {
	mu    sync.Mutex
	w     io.Writer
	now   func() time.Time
	width func() int // the terminal's columns; 0: unknown
	open  []*openPhase
	live  []*liveFigures
	drawn int // lines of status on the screen
	// partial: the last write left the cursor mid-line; no status until it ends
	partial bool
}

type openPhase struct {
	key, name, ns string
	began         time.Time
}

type liveFigures struct{ ns, msg, text string }

func newStatus(w io.Writer, now func() time.Time, width func() int) *status {
	return &status{w: w, now: now, width: width}
}

// Write writes p above the status.
func (s *status) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b bytes.Buffer
	s.erase(&b)
	b.Write(p)
	s.partial = len(p) > 0 && p[len(p)-1] != '\n'
	if !s.partial {
		s.render(&b)
	}
	if _, err := s.w.Write(b.Bytes()); err != nil {
		return 0, err
	}
	return len(p), nil
}

// run redraws the status at every tick (its elapsed times tick) until stop is closed.
func (s *status) run(tick <-chan time.Time, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-tick:
			s.draw()
		}
	}
}

// draw redraws the status in place.
func (s *status) draw() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drawLocked()
}

func (s *status) drawLocked() {
	if s.partial || (s.drawn == 0 && len(s.open) == 0 && len(s.live) == 0) {
		return
	}
	var b bytes.Buffer
	s.erase(&b)
	s.render(&b)
	s.w.Write(b.Bytes())
}

// clear erases the status from the screen, for good.
func (s *status) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open, s.live = nil, nil
	var b bytes.Buffer
	s.erase(&b)
	if b.Len() > 0 {
		s.w.Write(b.Bytes())
	}
}

// erase moves to the start of the status and erases it.
func (s *status) erase(b *bytes.Buffer) {
	if s.drawn == 0 {
		return
	}
	b.WriteString(eraseLine)
	for range s.drawn - 1 {
		b.WriteString(lineUp + eraseLine)
	}
	s.drawn = 0
}

// render writes the status's lines, the cursor left at the end of the last.
func (s *status) render(b *bytes.Buffer) {
	lines := s.lines()
	if len(lines) == 0 {
		return
	}
	width := 80
	if s.width != nil {
		if w := s.width(); w > 0 {
			width = w
		}
	}
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(truncate(printable(l), width-1))
	}
	s.drawn = len(lines)
}

// lines are the status's lines: one per namespace, in the order they
// first opened; per line its open phases in the order they opened (a phase
// and its steps, or phases side by side: the log does not say which), each
// with its elapsed time, then its live figures.
func (s *status) lines() []string {
	var order []string
	parts := map[string][]string{}
	add := func(ns, part string) {
		if _, ok := parts[ns]; !ok {
			order = append(order, ns)
		}
		parts[ns] = append(parts[ns], part)
	}
	now := s.now()
	for _, p := range s.open {
		add(p.ns, p.name+" "+elapsed(now.Sub(p.began)))
	}
	var out []string
	for _, l := range s.live {
		if _, ok := parts[l.ns]; !ok {
			order = append(order, l.ns)
			parts[l.ns] = nil
		}
	}
	for _, ns := range order {
		line := strings.Join(parts[ns], " · ")
		for _, l := range s.live {
			if l.ns == ns {
				line = strings.TrimSpace(line + " │ " + l.msg + " " + l.text)
			}
		}
		out = append(out, line)
	}
	if len(out) > maxStatusLines {
		more := len(out) - (maxStatusLines - 1)
		out = append(out[:maxStatusLines-1], fmt.Sprintf("… and %d more", more))
	}
	return out
}

// opened adds an open phase.
func (s *status) opened(key, name, ns string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open = append(s.open, &openPhase{key: key, name: name, ns: ns, began: s.now()})
	s.drawLocked()
}

// closed removes an open phase (the latest of that key); when its
// namespace has none left, its live figures go too. The caller prints
// its line, which redraws.
func (s *status) closed(key, ns string, redraw bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.open) - 1; i >= 0; i-- {
		if s.open[i].key == key {
			s.open = append(s.open[:i], s.open[i+1:]...)
			break
		}
	}
	left := false
	for _, p := range s.open {
		left = left || p.ns == ns
	}
	if !left {
		kept := s.live[:0]
		for _, l := range s.live {
			if l.ns != ns {
				kept = append(kept, l)
			}
		}
		s.live = kept
	}
	if redraw {
		s.drawLocked()
	}
}

// setLive replaces a namespace's live figures of one message; empty text ends them.
func (s *status) setLive(ns, msg, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range s.live {
		if l.ns == ns && l.msg == msg {
			if text == "" {
				s.live = append(s.live[:i], s.live[i+1:]...)
			} else {
				l.text = text
			}
			s.drawLocked()
			return
		}
	}
	if text != "" {
		s.live = append(s.live, &liveFigures{ns: ns, msg: msg, text: text})
	}
	s.drawLocked()
}

// elapsed is a duration as a person reads it on a ticking clock: 7s, 1m05s, 1h02m03s.
func elapsed(d time.Duration) string {
	d = d.Truncate(time.Second)
	h, m, sec := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, m, sec)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, sec)
	}
	return fmt.Sprintf("%ds", sec)
}

// printable replaces what would move the cursor or change the terminal
// (a command's output may hold escapes, carriage returns) with spaces.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// truncate cuts s to n runes, marking the cut.
func truncate(s string, n int) string {
	if n < 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// statusHandler is the handler on a terminal: phase starts, steps and live
// figures update the status; everything else prints through the text
// handler, above the status.
type statusHandler struct {
	s     *status
	text  slog.Handler // writes through s
	level slog.Level
	attrs []slog.Attr // from WithAttrs, outside any group
	group bool        // a WithGroup: later attributes are not the record's own
}

func newStatusHandler(s *status, level slog.Level) *statusHandler {
	return &statusHandler{s: s, text: slog.NewTextHandler(s, handlerOptions(level)), level: level}
}

func (h *statusHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level || l == phase.LevelProgress
}

func (h *statusHandler) Handle(ctx context.Context, r slog.Record) error {
	attrs := append([]slog.Attr(nil), h.attrs...)
	if !h.group {
		r.Attrs(func(a slog.Attr) bool {
			attrs = append(attrs, a)
			return true
		})
	}
	var ph, ns string
	var key strings.Builder
	key.WriteString(r.Message)
	var rest []slog.Attr
	for _, a := range attrs {
		switch a.Key {
		case "phase":
			ph = a.Value.String()
			continue
		case "elapsed", "err":
			continue
		case "namespace":
			ns = a.Value.String()
		}
		key.WriteString("\x00" + a.String())
		if a.Key != "namespace" {
			rest = append(rest, a)
		}
	}
	switch {
	case ph == "start":
		h.s.opened(key.String(), r.Message, ns)
		return nil
	case ph == "done":
		quiet := r.Level < h.level || r.Level == phase.LevelProgress
		h.s.closed(key.String(), ns, quiet)
		if quiet {
			return nil
		}
	case r.Level == phase.LevelProgress:
		h.s.setLive(ns, r.Message, figures(rest))
		return nil
	}
	if r.Level < h.level {
		return nil
	}
	return h.text.Handle(ctx, r)
}

func (h *statusHandler) WithAttrs(as []slog.Attr) slog.Handler {
	c := *h
	c.text = h.text.WithAttrs(as)
	if !h.group {
		c.attrs = append(append([]slog.Attr(nil), h.attrs...), as...)
	}
	return &c
}

func (h *statusHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.text = h.text.WithGroup(name)
	c.group = true
	return &c
}

// figures renders live figures: "good 100/s 0 failed, flaky 98/s 12
// failed" for groups of rate and failed, a status as it is (kind's
// "Starting control-plane"), key=value for anything else.
func figures(as []slog.Attr) string {
	var out []string
	for _, a := range as {
		switch {
		case a.Key == "status":
			out = append(out, a.Value.String())
			continue
		case a.Value.Kind() != slog.KindGroup:
			out = append(out, a.String())
			continue
		}
		f := []string{a.Key}
		for _, g := range a.Value.Group() {
			switch g.Key {
			case "rate":
				f = append(f, g.Value.String()+"/s")
			case "failed":
				f = append(f, g.Value.String()+" failed")
			default:
				f = append(f, g.String())
			}
		}
		out = append(out, strings.Join(f, " "))
	}
	return strings.Join(out, ", ")
}
