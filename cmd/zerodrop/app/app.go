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
	"syscall"

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
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	return root.ExecuteContext(ctx)
}

type globals struct {
	verbose bool
	stdout  io.Writer
	stderr  io.Writer
}

func (g *globals) logger() *slog.Logger {
	level := slog.LevelInfo
	if g.verbose {
		level = slog.LevelDebug
	}
	// client-go logs through klog straight to stderr; only -v shows it
	if !g.verbose {
		klog.LogToStderr(false)
		klog.SetOutput(io.Discard)
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.String("time", a.Value.Time().Format("15:04:05.000"))
		}
		return a
	}}))
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
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
	root.AddCommand(newEngineCmd(g), newImagesCmd(g), newUpCmd(g), newDownCmd(g), newModeCmd(g), newRunCmd(g), newMatrixCmd(g), newReportCmd(g), newLoadCmd(g), newValidateCmd(g), newTuneCmd(g), newVersionCmd(g))
	return root
}
