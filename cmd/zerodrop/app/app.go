// Package app is the zerodrop command line. Main prints and exits; Run returns
// an error and is what tests call.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"k8s.io/klog/v2"

	"github.com/spf13/cobra"
)

// Main runs the CLI with os.Args and exits with its status.
func Main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ERROR:", err)
		var ie inputError
		if errors.As(err, &ie) {
			os.Exit(2)
		}
		if errors.Is(err, errFailedRequests) {
			os.Exit(1)
		}
		os.Exit(1)
	}
}

// Run executes the CLI.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root, g := newRoot(stdout, stderr)
	defer g.closeLog()
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

type globals struct {
	verbose  bool
	progress bool
	stdout   io.Writer
	stderr   io.Writer

	logOnce sync.Once
	handler slog.Handler
	status  *status       // nil: no status line
	stop    chan struct{} // ends the status's ticker
}

func (g *globals) logger() *slog.Logger {
	g.logOnce.Do(g.setupLog)
	return slog.New(g.handler)
}

// setupLog builds the one handler every logger of the command shares:
// with a status line when stderr is a terminal (unless --progress=false
// or TERM=dumb), plain lines otherwise.
func (g *globals) setupLog() {
	level := slog.LevelInfo
	if g.verbose {
		level = slog.LevelDebug
	}
	// client-go logs through klog straight to stderr; only -v shows it
	if !g.verbose {
		klog.LogToStderr(false)
		klog.SetOutput(io.Discard)
	}
	fd, tty := terminal(g.stderr)
	if !g.progress || !tty || os.Getenv("TERM") == "dumb" {
		g.handler = newPlainHandler(g.stderr, level)
		return
	}
	g.status = newStatus(g.stderr, time.Now, func() int {
		w, _, err := term.GetSize(fd)
		if err != nil {
			return 0
		}
		return w
	})
	g.handler = newStatusHandler(g.status, level)
	if g.verbose {
		// client-go's lines go above the status too
		klog.LogToStderr(false)
		klog.SetOutput(g.status)
	}
	if _, outTTY := terminal(g.stdout); outTTY {
		// the same screen: what the command prints goes above the status
		g.stdout = g.status
	}
	g.stop = make(chan struct{})
	t := time.NewTicker(statusTick)
	go func() {
		defer t.Stop()
		g.status.run(t.C, g.stop)
	}()
}

// closeLog stops the status line and erases it.
func (g *globals) closeLog() {
	if g.status == nil {
		return
	}
	close(g.stop)
	g.status.clear()
}

// terminal reports whether w is a terminal, and its descriptor.
func terminal(w io.Writer) (int, bool) {
	f, ok := w.(*os.File)
	if !ok {
		return 0, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}

func newRoot(stdout, stderr io.Writer) (*cobra.Command, *globals) {
	g := &globals{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "zerodrop",
		Short:         "Prove that a Kubernetes workload drops zero requests while its pods are disrupted",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "debug logging")
	root.PersistentFlags().BoolVar(&g.progress, "progress", true, "on a terminal, a status line below the log: open phases with their elapsed time, the load's live rate and failures per path (false, or TERM=dumb: plain lines, as in CI)")
	root.AddCommand(newEngineCmd(g), newImagesCmd(g), newUpCmd(g), newDownCmd(g), newModeCmd(g), newRunCmd(g), newMatrixCmd(g), newReportCmd(g), newLoadCmd(g), newValidateCmd(g), newTuneCmd(g), newVersionCmd(g))
	return root, g
}
