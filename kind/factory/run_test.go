package factory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/internal/phase"
)

func testBuilder(t *testing.T) *builder {
	t.Helper()
	return &builder{Options: Options{CacheDir: t.TempDir()}, log: phase.Discard()}
}

var logPathRe = regexp.MustCompile(`full output in (\S+)\)`)

// logOf returns the log file an error names, and its content.
func logOf(t *testing.T, err error) (string, string) {
	t.Helper()
	m := logPathRe.FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("error names no log file: %v", err)
	}
	raw, rerr := os.ReadFile(m[1])
	if rerr != nil {
		t.Fatalf("the log the error names: %v", rerr)
	}
	return m[1], string(raw)
}

// The failure this was written for: debootstrap printed hundreds of progress
// lines on stdout and its cause on stderr, and the error showed only stdout.
func TestRunFailureShowsLastLinesOfBothStreams(t *testing.T) {
	b := testBuilder(t)
	// enough stdout to be longer than the part of the log the tail reads
	script := `for i in $(seq 1 3000); do echo "I: Retrieving package $i"; done; echo "E: the real cause" >&2; exit 3`
	err := b.run(context.Background(), "", nil, "sh", "-c", script)
	if err == nil {
		t.Fatal("a command that exits 3 succeeded")
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("error does not wrap the exit status 3: %v", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "E: the real cause") {
		t.Errorf("error lacks stderr's message:\n%s", msg)
	}
	if !strings.Contains(msg, "I: Retrieving package 3000") || strings.Contains(msg, "I: Retrieving package 2900\n") {
		t.Errorf("error should end with the last lines only:\n%s", msg)
	}
	path, log := logOf(t, err)
	if dir := filepath.Join(b.CacheDir, "logs"); filepath.Dir(path) != dir || !strings.HasPrefix(filepath.Base(path), "sh-") {
		t.Errorf("log %s is not a sh-*.log under %s", path, dir)
	}
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) != 3001 || lines[0] != "I: Retrieving package 1" || lines[3000] != "E: the real cause" {
		t.Errorf("log should hold all 3001 lines, stderr last; it has %d, first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
	}
}

func TestRunLogKeepsStreamsInWrittenOrder(t *testing.T) {
	b := testBuilder(t)
	err := b.run(context.Background(), "", nil, "sh", "-c", `echo out1; echo err1 >&2; echo out2; echo err2 >&2; exit 1`)
	if err == nil {
		t.Fatal("a command that exits 1 succeeded")
	}
	if _, log := logOf(t, err); log != "out1\nerr1\nout2\nerr2\n" {
		t.Errorf("log = %q, want the lines in the order written", log)
	}
}

func TestOutputReturnsStdoutAndLogsBoth(t *testing.T) {
	b := testBuilder(t)
	out, err := b.output(context.Background(), "", nil, "sh", "-c", `echo result; echo noise >&2`)
	if err != nil || out != "result\n" {
		t.Fatalf("output = %q, %v; want only stdout", out, err)
	}
	if left, _ := filepath.Glob(filepath.Join(b.CacheDir, "logs", "*")); len(left) != 0 {
		t.Errorf("a command that succeeded left its log: %v", left)
	}
	_, err = b.output(context.Background(), "", nil, "sh", "-c", `echo partial; echo "fatal: bad" >&2; exit 2`)
	if err == nil || !strings.Contains(err.Error(), "fatal: bad") {
		t.Fatalf("error lacks stderr's message: %v", err)
	}
	if _, log := logOf(t, err); !strings.Contains(log, "partial\n") || !strings.Contains(log, "fatal: bad\n") {
		t.Errorf("log lacks a stream: %q", log)
	}
}

// debootstrap writes its errors to TARGET/debootstrap/debootstrap.log, not to
// stderr: a side log's end must reach the error.
func TestRunFailureAppendsSideLogs(t *testing.T) {
	b := testBuilder(t)
	side := filepath.Join(t.TempDir(), "debootstrap.log")
	script := fmt.Sprintf(`echo "I: Validating libmnl0"; echo "cp: cannot stat 'libmnl0.deb'" > %q; exit 1`, side)
	err := b.runCmd(context.Background(), command{Name: "sh", Args: []string{"-c", script},
		SideLogs: []string{side, filepath.Join(t.TempDir(), "never-written.log")}})
	if err == nil {
		t.Fatal("a command that exits 1 succeeded")
	}
	if !strings.Contains(err.Error(), "cp: cannot stat 'libmnl0.deb'") {
		t.Errorf("error lacks the side log's message:\n%v", err)
	}
	if _, log := logOf(t, err); !strings.HasPrefix(log, "I: Validating libmnl0\n--- "+side+" ---\ncp: cannot stat") {
		t.Errorf("log should hold the output, then the side log under its name: %q", log)
	}
}

func TestRunMissingProgram(t *testing.T) {
	b := testBuilder(t)
	err := b.run(context.Background(), "", nil, "zerodrop-no-such-program")
	if !errors.Is(err, exec.ErrNotFound) {
		t.Errorf("err = %v, want exec.ErrNotFound", err)
	}
}

func TestStep(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"go", []string{"build", "-o", "x"}, "go-build"},
		{"docker", []string{"exec", "-i", "id"}, "docker-exec"},
		{"debootstrap", []string{"--variant=minbase", "bookworm"}, "debootstrap"},
		{"/usr/bin/tar", []string{"--sort=name"}, "tar"},
		{"/cache/bin/kubeadm", []string{"config", "images"}, "kubeadm-config"},
		{"sh", nil, "sh"},
	} {
		if got := step(c.name, c.args); got != c.want {
			t.Errorf("step(%q, %q) = %q, want %q", c.name, c.args, got, c.want)
		}
	}
}

// imageExists must tell "absent" (no output) from "the engine failed"; a fake
// docker on PATH stands in for the engine.
func TestImageExists(t *testing.T) {
	bin := t.TempDir()
	fake := `#!/bin/sh
case "$3" in
present) echo 0123456789ab ;;
absent) ;;
*) echo "Cannot connect to the Docker daemon" >&2; exit 1 ;;
esac
`
	if err := os.WriteFile(filepath.Join(bin, "docker"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	b := testBuilder(t)
	ctx := context.Background()
	if ok, err := b.imageExists(ctx, "present"); !ok || err != nil {
		t.Errorf("present image: %v, %v", ok, err)
	}
	if ok, err := b.imageExists(ctx, "absent"); ok || err != nil {
		t.Errorf("absent image: %v, %v", ok, err)
	}
	if ok, err := b.imageExists(ctx, "down"); ok || err == nil || !strings.Contains(err.Error(), "Cannot connect") {
		t.Errorf("engine down: %v, %v", ok, err)
	}
}

// records collects the messages and status of the records logged.
type records struct {
	mu  sync.Mutex
	got []string
	ch  chan struct{}
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	st := ""
	rec.Attrs(func(a slog.Attr) bool {
		if a.Key == "status" {
			st = " " + a.Value.String()
		}
		return true
	})
	r.mu.Lock()
	r.got = append(r.got, rec.Level.String()+" "+rec.Message+st)
	r.mu.Unlock()
	r.ch <- struct{}{}
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// TestFollowShowsTheLastLine: a running command's last line, as a terminal
// shows it, is a live figure at each tick it changed, ended when it ends.
func TestFollowShowsTheLastLine(t *testing.T) {
	rec := &records{ch: make(chan struct{}, 8)}
	b := &builder{log: slog.New(rec)}
	f, err := os.CreateTemp(t.TempDir(), "log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tick, stop, done := make(chan time.Time), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		b.follow(f, "debootstrap #1", tick, stop)
	}()
	tick <- time.Time{} // nothing written: nothing shown
	fmt.Fprint(f, "I: Retrieving libc6\nI: Validating libc6\n")
	tick <- time.Time{}
	<-rec.ch
	tick <- time.Time{} // unchanged: not shown again
	fmt.Fprint(f, "  50%\r  75%\r  99%  \n\n")
	tick <- time.Time{}
	<-rec.ch
	close(stop)
	<-done
	want := []string{"DEBUG+2 debootstrap #1 I: Validating libc6", "DEBUG+2 debootstrap #1 99%", "DEBUG+2 debootstrap #1"}
	if strings.Join(rec.got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got %q, want %q", rec.got, want)
	}
}
