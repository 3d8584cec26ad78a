// Command zerodrop-fixture is the workload zerodrop disrupts: a plain
// net/http server with a configurable shutdown behaviour (see fixtures/server).
package main

import (
	"context"
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
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "zerodrop-fixture:", err)
		os.Exit(2)
	}
}

func run() error {
	var (
		listen    = flag.String("listen", ":8080", "address to listen on")
		onTerm    = flag.String("on-sigterm", envOr("ON_SIGTERM", "exit"), "exit | ignore | drain=<duration>")
		failReady = flag.Bool("fail-readiness-on-drain", os.Getenv("FAIL_READINESS_ON_DRAIN") == "true", "answer 503 on /readyz while draining")
		startup   = flag.Duration("startup-delay", durEnv("STARTUP_DELAY"), "time before /readyz answers 200")
		latency   = flag.Duration("latency", durEnv("LATENCY"), "added to every / response")
		shutdown  = flag.Duration("shutdown-timeout", 10*time.Second, "bound on graceful shutdown after the drain")
	)
	flag.Parse()
	ot, err := server.ParseOnTerm(*onTerm)
	if err != nil {
		return err
	}
	pod := envOr("POD_NAME", hostname())
	f := server.New(server.Config{
		PodName: pod, PodVersion: envOr("POD_VERSION", "v1"), OnTerm: ot, FailReadyOnDrain: *failReady,
		StartupDelay: *startup, Latency: *latency, ShutdownTimeout: *shutdown, Events: os.Stdout,
	})
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	served := make(chan error, 1)
	go func() { served <- f.Serve(l) }()
	select {
	case err := <-served:
		return err
	case <-sigs:
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f.Terminate(ctx)
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
