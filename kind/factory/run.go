package factory

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// Every external command the factory runs writes both of its streams to a log
// file under CacheDir/logs, in the order it wrote them: the cause of a failure
// is in its last lines, on stdout or stderr, and a long stdout must not hide
// it. A failed command's error carries those last lines and names the file,
// which is kept; a command that succeeds has its log removed, since a warm
// build runs dozens of commands whose output nobody reads.

const (
	tailLines = 30
	tailBytes = 16 << 10 // how far back from the end of the log the last lines are looked for
)

// A command is one external program run by the factory.
type command struct {
	Name  string
	Args  []string
	Dir   string
	Env   []string // added to the factory's environment
	Stdin io.Reader
	// Stdout, if set, receives the command's stdout as well as the log.
	Stdout io.Writer
	// SideLogs are files the program writes its own messages to instead of
	// its stderr (debootstrap: TARGET/debootstrap/debootstrap.log). They are
	// appended to the log when the command fails, so its last lines hold the cause.
	SideLogs []string
}

// runCmd runs c with its output logged (see above).
func (b *builder) runCmd(ctx context.Context, c command) error {
	logf, err := b.openLog(c)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir = c.Dir
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stdin = c.Stdin
	// One *os.File as both streams: os/exec hands the child the same
	// descriptor for both, so the log has them exactly in the order written.
	cmd.Stdout, cmd.Stderr = logf, logf
	if c.Stdout != nil {
		// The caller reads stdout, so it needs its own pipe; the streams then
		// meet in the log in the order they are read, which is close.
		lw := &lockedWriter{w: logf}
		cmd.Stdout, cmd.Stderr = io.MultiWriter(c.Stdout, lw), lw
	}
	b.log.Debug("run", "cmd", c.Name, "args", strings.Join(shorten(c.Args), " "), "log", logf.Name())
	// a long command's last line is a live figure (debootstrap's
	// "I: Retrieving ...", go's package being built), for a status line
	tick, stop, followed := time.NewTicker(followEvery), make(chan struct{}), make(chan struct{})
	msg := fmt.Sprintf("%s #%d", step(c.Name, c.Args), commands.Add(1))
	go func() {
		defer close(followed)
		b.follow(logf, msg, tick.C, stop)
	}()
	runErr := cmd.Run()
	tick.Stop()
	close(stop)
	<-followed
	if runErr == nil {
		os.Remove(logf.Name())
		return nil
	}
	appendSideLogs(logf, c.SideLogs)
	return fmt.Errorf("%s %s: %w (full output in %s); last lines:\n%s",
		c.Name, strings.Join(shorten(c.Args), " "), runErr, logf.Name(), tail(logf, tailLines))
}

// commands numbers the commands run, so side by side ones show apart.
var commands atomic.Int64

// followEvery is how often a running command's last line is shown.
const followEvery = time.Second

// follow logs the last line of the command's log as a live figure at every
// tick until stop is closed; then it ends it. The log is read where it
// ends, not through the command's streams, so they stay one descriptor.
func (b *builder) follow(logf *os.File, msg string, tick <-chan time.Time, stop <-chan struct{}) {
	shown := ""
	for {
		select {
		case <-stop:
			if shown != "" {
				phase.Live(b.log, msg)
			}
			return
		case <-tick:
			if l := lastLine(logf); l != "" && l != shown {
				shown = l
				phase.Live(b.log, msg, "status", l)
			}
		}
	}
}

// lastLine is the log's last line with text, as a terminal would show it
// (what follows its last carriage return).
func lastLine(logf *os.File) string {
	fi, err := logf.Stat()
	if err != nil || fi.Size() == 0 {
		return ""
	}
	from := max(fi.Size()-4<<10, 0)
	buf := make([]byte, fi.Size()-from)
	n, _ := logf.ReadAt(buf, from)
	lines := strings.Split(strings.TrimRight(string(buf[:n]), "\r\n\t "), "\n")
	l := lines[len(lines)-1]
	if i := strings.LastIndexByte(l, '\r'); i >= 0 {
		l = l[i+1:]
	}
	return strings.TrimSpace(l)
}

// run executes a command in dir.
func (b *builder) run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	return b.runCmd(ctx, command{Name: name, Args: args, Dir: dir, Env: env})
}

// output executes a command in dir and returns its stdout.
func (b *builder) output(ctx context.Context, dir string, env []string, name string, args ...string) (string, error) {
	var out bytes.Buffer
	err := b.runCmd(ctx, command{Name: name, Args: args, Dir: dir, Env: env, Stdout: &out})
	return out.String(), err
}

// openLog creates the command's log: CacheDir/logs/<step>-<time>-<random>.log,
// the random part because rootfs builds run side by side.
func (b *builder) openLog(c command) (*os.File, error) {
	dir := filepath.Join(b.CacheDir, "logs")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("factory: command logs: %w", err)
	}
	f, err := os.CreateTemp(dir, step(c.Name, c.Args)+"-"+time.Now().UTC().Format("20060102T150405Z")+"-*.log")
	if err != nil {
		return nil, fmt.Errorf("factory: command log: %w", err)
	}
	return f, nil
}

var subcommandRe = regexp.MustCompile(`^[a-z][a-z-]*$`)

// step names a command's log after the program and its subcommand, if any:
// go-build, docker-load, debootstrap, tar.
func step(name string, args []string) string {
	s := filepath.Base(name)
	if len(args) > 0 && subcommandRe.MatchString(args[0]) {
		s += "-" + args[0]
	}
	return s
}

// appendSideLogs copies each file that exists to the end of the log, under a
// line naming it; a file the program never wrote is skipped.
func appendSideLogs(logf *os.File, paths []string) {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		fmt.Fprintf(logf, "--- %s ---\n", p)
		io.Copy(logf, f)
		f.Close()
	}
}

// tail returns the last n lines of the log, looking back at most tailBytes.
func tail(logf *os.File, n int) string {
	fi, err := logf.Stat()
	if err != nil {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	from := max(fi.Size()-tailBytes, 0)
	buf := make([]byte, fi.Size()-from)
	if _, err := logf.ReadAt(buf, from); err != nil && err != io.EOF {
		return fmt.Sprintf("(cannot read the log: %v)", err)
	}
	s := string(buf)
	if from > 0 { // the first line is cut: drop it
		_, s, _ = strings.Cut(s, "\n")
	}
	return lastLines(s, n)
}

// lockedWriter serialises the writes of os/exec's two copying goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func shorten(args []string) []string {
	if len(args) <= 12 {
		return args
	}
	return append(append([]string{}, args[:12]...), fmt.Sprintf("... (%d more)", len(args)-12))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
