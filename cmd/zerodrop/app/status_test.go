package app

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// clock is a fake time for the status.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeTerminal is a status on a buffer, 120 columns, with a fake clock.
func fakeTerminal(level slog.Level) (*bytes.Buffer, *status, *slog.Logger, *clock) {
	var buf bytes.Buffer
	c := &clock{t: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	s := newStatus(&buf, c.now, func() int { return 120 })
	return &buf, s, slog.New(newStatusHandler(s, level)), c
}

// screen plays the terminal's control sequences back: the lines a person
// sees (status included).
func screen(out string) []string {
	lines := []string{""}
	for i := 0; i < len(out); {
		r, n := utf8.DecodeRuneInString(out[i:])
		switch {
		case strings.HasPrefix(out[i:], eraseLine):
			lines[len(lines)-1] = ""
			i += len(eraseLine)
		case strings.HasPrefix(out[i:], lineUp):
			lines = lines[:len(lines)-1]
			i += len(lineUp)
		case out[i] == '\n':
			lines = append(lines, "")
			i++
		default:
			lines[len(lines)-1] += string(r)
			i += n
		}
	}
	return lines
}

// statusOf is the status on the screen: the lines after the last log line.
func statusOf(out string, logLines int) []string {
	return screen(out)[logLines:]
}

func TestStatusShowsOpenPhasesAndPrintsFinishedOnes(t *testing.T) {
	buf, s, log, c := fakeTerminal(slog.LevelInfo)
	done := phase.Start(log, "image factory", "cache", "/c")
	build := phase.Start(log, "build kubelet")
	c.add(3 * time.Second)
	s.draw()
	if got := statusOf(buf.String(), 0); len(got) != 1 || got[0] != "image factory 3s · build kubelet 3s" {
		t.Fatalf("status %q, want both phases ticking", got)
	}
	c.add(62 * time.Second)
	s.draw()
	if got := statusOf(buf.String(), 0); got[0] != "image factory 1m05s · build kubelet 1m05s" {
		t.Fatalf("status %q after a minute", got)
	}
	if err := build(nil); err != nil {
		t.Fatal(err)
	}
	sc := screen(buf.String())
	if len(sc) != 2 || !strings.Contains(sc[0], `level=INFO msg="build kubelet" phase=done elapsed=`) || sc[1] != "image factory 1m05s" {
		t.Fatalf("screen after a phase ended:\n%s", strings.Join(sc, "\n"))
	}
	if strings.Contains(buf.String(), "phase=start") {
		t.Fatalf("a start printed as a line on a terminal (the status shows it):\n%q", buf.String())
	}
	done(errors.New("boom"))
	s.clear()
	sc = screen(buf.String())
	if len(sc) != 3 || !strings.Contains(sc[1], `level=ERROR msg="image factory" phase=done`) || !strings.Contains(sc[1], "err=boom") || sc[2] != "" {
		t.Fatalf("screen at the end:\n%s", strings.Join(sc, "\n"))
	}
}

func TestStatusShowsStepsAndLiveFigures(t *testing.T) {
	buf, s, log, c := fakeTerminal(slog.LevelInfo)
	ns := "zd-abc"
	scenario := phase.Start(log, "scenario naive/rolling-update", "namespace", ns)
	step := phase.Step(log, "warm", "namespace", ns)
	phase.Live(log, "load", "namespace", ns, slog.Group("clusterip", "rate", 100, "failed", 0), slog.Group("nodeport", "rate", 97, "failed", 3))
	c.add(2 * time.Second)
	s.draw()
	want := "scenario naive/rolling-update 2s · warm 2s │ load clusterip 100/s 0 failed, nodeport 97/s 3 failed"
	if got := statusOf(buf.String(), 0); len(got) != 1 || got[0] != want {
		t.Fatalf("status %q\nwant %q", got, want)
	}
	step(nil)
	phase.Live(log, "load", "namespace", ns, slog.Group("clusterip", "rate", 99, "failed", 1))
	if got := statusOf(buf.String(), 0); got[0] != "scenario naive/rolling-update 2s │ load clusterip 99/s 1 failed" {
		t.Fatalf("status %q: a finished step goes, new figures replace the old", got)
	}
	if strings.Contains(screen(buf.String())[0], "phase=done") {
		t.Fatal("a finished step printed a line")
	}
	phase.Live(log, "load", "namespace", ns)
	if got := statusOf(buf.String(), 0); got[0] != "scenario naive/rolling-update 2s" {
		t.Fatalf("status %q: figures with no attributes end them", got)
	}
	scenario(nil)
	if sc := screen(buf.String()); len(sc) != 2 || sc[1] != "" || !strings.Contains(sc[0], "namespace=zd-abc") {
		t.Fatalf("screen at the end:\n%s", strings.Join(sc, "\n"))
	}
}

func TestStatusShowsKindsStatus(t *testing.T) {
	buf, _, log, _ := fakeTerminal(slog.LevelInfo)
	done := phase.Start(log, "create cluster", "name", "zerodrop")
	phase.Live(log, "kind", "status", "Preparing nodes 📦")
	if got := statusOf(buf.String(), 0); got[0] != "create cluster 0s │ kind Preparing nodes 📦" {
		t.Fatalf("status %q", got)
	}
	phase.Live(log, "kind", "status", "\x1b[31mred\r\nline")
	if got := statusOf(buf.String(), 0); len(got) != 1 || got[0] != "create cluster 0s │ kind  [31mred  line" {
		t.Fatalf("status %q: control characters not replaced", got)
	}
	phase.Live(log, "kind")
	done(nil)
	if sc := screen(buf.String()); len(sc) != 2 || sc[1] != "" {
		t.Fatalf("screen:\n%s", strings.Join(sc, "\n"))
	}
}

func TestStatusOneLinePerNamespaceWhenScenariosRunSideBySide(t *testing.T) {
	buf, s, log, c := fakeTerminal(slog.LevelInfo)
	var wg sync.WaitGroup
	dones, steps := make([]func(error) error, 4), make([]func(error) error, 4)
	for i := range dones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := fmt.Sprintf("zd-%d", i)
			l := log.With("namespace", ns)
			dones[i] = phase.Start(l, fmt.Sprintf("scenario s%d", i))
			steps[i] = phase.Step(l, "disrupt")
			phase.Live(l, "load", slog.Group("clusterip", "rate", 100+i, "failed", i))
			l.Warn("a warning")
		}()
	}
	wg.Wait()
	c.add(5 * time.Second)
	s.draw()
	sc := screen(buf.String())
	if len(sc) != 8 {
		t.Fatalf("want 4 warnings and 4 status lines, got:\n%s", strings.Join(sc, "\n"))
	}
	seen := map[string]bool{}
	for _, l := range sc[4:] {
		m := regexp.MustCompile(`^scenario s(\d) 5s · disrupt 5s │ load clusterip 10(\d)/s (\d) failed$`).FindStringSubmatch(l)
		if m == nil || m[1] != m[2] || m[1] != m[3] || seen[m[1]] {
			t.Fatalf("status line %q mixes or repeats namespaces:\n%s", l, strings.Join(sc, "\n"))
		}
		seen[m[1]] = true
	}
	for _, l := range sc[:4] {
		if !strings.Contains(l, "level=WARN") {
			t.Fatalf("log line %q not above the status", l)
		}
	}
	steps[2](nil)
	dones[2](nil)
	sc = screen(buf.String())
	if len(sc) != 8 || !strings.Contains(sc[4], `msg="scenario s2" namespace=zd-2 phase=done`) || strings.Contains(strings.Join(sc[5:], "\n"), "s2") {
		t.Fatalf("after one scenario ended:\n%s", strings.Join(sc, "\n"))
	}
}

func TestStatusBoundsItsLines(t *testing.T) {
	buf, s, log, _ := fakeTerminal(slog.LevelInfo)
	phase.Start(log, strings.Repeat("x", 200))
	for i := range 12 {
		phase.Start(log, "scenario", "namespace", fmt.Sprintf("zd-%d", i))
	}
	s.draw()
	got := statusOf(buf.String(), 0)
	if len(got) != maxStatusLines || got[len(got)-1] != "… and 6 more" {
		t.Fatalf("status of %d lines:\n%s", len(got), strings.Join(got, "\n"))
	}
	if n := len([]rune(got[0])); n != 119 || !strings.HasSuffix(got[0], "…") {
		t.Fatalf("a long line is %d runes, want 119 on 120 columns: %q", n, got[0])
	}
}

func TestStatusKeepsWhatIsPrintedAboveIt(t *testing.T) {
	buf, s, log, _ := fakeTerminal(slog.LevelInfo)
	phase.Start(log, "run")
	fmt.Fprintf(s, "ok     scenario a\n")
	fmt.Fprintf(s, "half a line ")
	s.draw() // no status over a line not yet ended
	fmt.Fprintf(s, "and its end\n")
	sc := screen(buf.String())
	if len(sc) != 3 || sc[0] != "ok     scenario a" || sc[1] != "half a line and its end" || sc[2] != "run 0s" {
		t.Fatalf("screen:\n%s", strings.Join(sc, "\n"))
	}
}

func TestStatusVerboseKeepsDebugLines(t *testing.T) {
	buf, _, log, _ := fakeTerminal(slog.LevelDebug)
	log.Debug("phase", "name", "load")
	phase.Live(log, "load", slog.Group("p", "rate", 1, "failed", 0))
	if sc := screen(buf.String()); len(sc) != 2 || !strings.Contains(sc[0], "level=DEBUG") || sc[1] != "│ load p 1/s 0 failed" {
		t.Fatalf("screen:\n%s", strings.Join(sc, "\n"))
	}
}

// logSome logs what a run logs: phases, steps, live figures, debug lines.
func logSome(log *slog.Logger) {
	done := phase.Start(log, "scenario a", "namespace", "zd-1")
	step := phase.Step(log, "load", "namespace", "zd-1")
	phase.Live(log, "load", "namespace", "zd-1", slog.Group("p", "rate", 100, "failed", 0))
	log.Debug("phase", "name", "load")
	step(errors.New("step failed"))
	log.Warn("careful")
	done(errors.New("failed"))
}

var times = regexp.MustCompile(`time=\S+ |elapsed=\S+ `)

// TestPlainOutputIsTheLogAsBefore: not on a terminal the output is the
// text handler's, record for record, with no progress records and no
// control characters, at Info and with -v.
func TestPlainOutputIsTheLogAsBefore(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		var got, want bytes.Buffer
		logSome(slog.New(newPlainHandler(&got, level)))
		// the output before: the text handler, and no step or live figures
		before := slog.New(slog.NewTextHandler(&want, handlerOptions(level)))
		done := phase.Start(before, "scenario a", "namespace", "zd-1")
		before.Debug("phase", "name", "load")
		before.Warn("careful")
		done(errors.New("failed"))
		g, w := times.ReplaceAllString(got.String(), ""), times.ReplaceAllString(want.String(), "")
		if g != w {
			t.Fatalf("level %s: got\n%s\nwant\n%s", level, g, w)
		}
		if strings.ContainsAny(got.String(), "\r\x1b") || strings.Contains(got.String(), "rate=") {
			t.Fatalf("level %s: control characters or progress records:\n%q", level, got.String())
		}
	}
}

// TestRunOffATerminalPrintsNoStatus: the CLI on buffers (CI, pipes) never
// draws a status, with --progress or without.
func TestRunOffATerminalPrintsNoStatus(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--progress=false", "version"}, {"-v", "version"}} {
		out, errOut, err := run(t, args...)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if strings.ContainsAny(out+errOut, "\r\x1b") {
			t.Fatalf("%v: control characters:\n%q\n%q", args, out, errOut)
		}
	}
}
