// Command zerodrop-fixture is the workload zerodrop disrupts: a plain
// net/http server with a configurable shutdown behaviour (see fixtures/server).
//
//	zerodrop-fixture [flags]        the app
//	zerodrop-fixture proxy [flags]  a sidecar reverse proxy in front of it
//	zerodrop-fixture sleep N        a preStop hook
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zerodrop/zerodrop/fixtures/server"
)

func main() {
	// `zerodrop-fixture sleep N` is the preStop exec hook of profiles that use
	// one: the image has no shell and no sleep binary.
	if len(os.Args) == 3 && os.Args[1] == "sleep" {
		d, err := time.ParseDuration(os.Args[2] + "s")
		if err != nil {
			fmt.Fprintln(os.Stderr, "zerodrop-fixture: sleep needs whole seconds:", err)
			os.Exit(2)
		}
		time.Sleep(d)
		return
	}
	run := runApp
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "proxy" {
		run, args = runProxy, args[1:]
	}
	if err := run(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "zerodrop-fixture:", err)
		if errors.Is(err, server.ErrCrashed) {
			os.Exit(1) // a crash, as the kubelet sees one: exit 1, restart
		}
		os.Exit(2)
	}
}

func runApp(args []string) error {
	fs := flag.NewFlagSet("zerodrop-fixture", flag.ContinueOnError)
	var (
		listen    = fs.String("listen", ":8080", "address to listen on")
		onTerm    = fs.String("on-sigterm", envOr("ON_SIGTERM", "exit"), "exit | ignore | drain=<duration>")
		failReady = fs.Bool("fail-readiness-on-drain", os.Getenv("FAIL_READINESS_ON_DRAIN") == "true", "answer 503 on /readyz while draining")
		startup   = fs.Duration("startup-delay", durEnv("STARTUP_DELAY"), "time before /readyz answers 200")
		// a rollout changes the pod template's env, not the fixture's args:
		// these two are read from the env a version change sets
		neverReady  = fs.Bool("never-ready", os.Getenv("NEVER_READY") == "true", "answer 503 on /readyz for ever (a broken version)")
		crashAfter  = fs.Duration("crash-after", durEnv("CRASH_AFTER"), "crash (cut every connection, exit 1) this long after the start (0: never)")
		latency     = fs.Duration("latency", durEnv("LATENCY"), "added to every / response")
		slowEvery   = fs.Int("slow-every", 0, "make every Nth request to / slow (0: none)")
		slowLatency = fs.Duration("slow-latency", 0, "added, on top of --latency, to each slow request")
		shutdown    = fs.Duration("shutdown-timeout", 10*time.Second, "bound on graceful shutdown after the drain")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	ot, err := server.ParseOnTerm(*onTerm)
	if err != nil {
		return err
	}
	cfg := server.Config{
		PodName: envOr("POD_NAME", hostname()), PodVersion: envOr("POD_VERSION", "v1"), OnTerm: ot, FailReadyOnDrain: *failReady,
		StartupDelay: *startup, NeverReady: *neverReady, CrashAfter: *crashAfter, Latency: *latency, SlowEvery: *slowEvery, SlowLatency: *slowLatency,
		ShutdownTimeout: *shutdown, Events: os.Stdout,
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	return serveUntilSignal(server.New(cfg), *listen)
}

func runProxy(args []string) error {
	fs := flag.NewFlagSet("zerodrop-fixture proxy", flag.ContinueOnError)
	var (
		listen    = fs.String("listen", ":8080", "address to listen on")
		upstream  = fs.String("upstream", "http://127.0.0.1:8081", "the app's base URL")
		onTerm    = fs.String("on-sigterm", envOr("ON_SIGTERM", "exit"), "exit | ignore | drain=<duration>")
		shutdown  = fs.Duration("shutdown-timeout", 10*time.Second, "bound on graceful shutdown after the drain")
		failReady = fs.Bool("fail-readiness-on-drain", false, "answer 503 on "+server.ProxyReadyPath+" while draining")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("proxy: unexpected arguments %q", fs.Args())
	}
	ot, err := server.ParseOnTerm(*onTerm)
	if err != nil {
		return err
	}
	p, err := server.NewProxy(server.ProxyConfig{
		PodName: envOr("POD_NAME", hostname()), PodVersion: envOr("POD_VERSION", "v1"), Upstream: *upstream,
		OnTerm: ot, ShutdownTimeout: *shutdown, FailReadyOnDrain: *failReady, Events: os.Stdout,
	})
	if err != nil {
		return err
	}
	return serveUntilSignal(p, *listen)
}

// service is the app or the proxy.
type service interface {
	Serve(net.Listener) error
	Terminate(context.Context)
}

// serveUntilSignal serves on addr until SIGTERM or SIGINT, then lets the
// service handle it as its mode says.
func serveUntilSignal(s service, addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	// before Serve emits started: a signal sent after that line is handled
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	select {
	case err := <-served:
		return err
	case <-sigs:
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.Terminate(ctx)
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func durEnv(k string) time.Duration {
	d, _ := time.ParseDuration(os.Getenv(k))
	return d
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
