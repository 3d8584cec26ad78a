// Command streambench measures the stream engine (load.StartStreams) on
// loopback against the fixture server in a separate process: for each
// step, how many open SSE or WebSocket connections it holds, the messages
// per second it takes in while they are all open, against the rate the
// server's interval asks for, and the CPU seconds both sides spent (see
// docs/benchmarks.md).
//
//	go run ./internal/cmd/streambench [-conns 1000,5000,10000] [-kinds sse,ws] [-interval 100ms] [-hold 10s] [-open-rate 1000]
//
// A step holds when every connection was open and receiving within the
// warm-up bound, no session failed, and the messages of the hold arrived
// at 99% or more of conns/interval.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/zerodrop/zerodrop/fixtures/server"
	"github.com/zerodrop/zerodrop/load"
	"github.com/zerodrop/zerodrop/outcome"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		if err := serve(); err != nil {
			fmt.Fprintln(os.Stderr, "streambench serve:", err)
			os.Exit(1)
		}
		return
	}
	conns := flag.String("conns", "1000,5000,10000,15000", "open connections per step")
	kinds := flag.String("kinds", "sse,ws", "stream kinds to measure")
	interval := flag.Duration("interval", 100*time.Millisecond, "message interval asked of the server")
	hold := flag.Duration("hold", 10*time.Second, "how long each step holds its connections once warm")
	openRate := flag.Int("open-rate", 1000, "first connections opened per second (StreamPlan.OpenRate)")
	profile := flag.String("cpuprofile", "", "write the engine's CPU profile (every step) to this file")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "streambench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*conns, *kinds, *interval, *hold, *openRate); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "streambench:", err)
		os.Exit(1)
	}
}

// serve is the fixture, in its own process so its CPU is not ours. It
// ends when its parent does (stdin closes).
func serve() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	f := server.New(server.Config{PodName: "bench", PodVersion: "v1", OnTerm: server.OnTerm{Mode: server.ModeDrain}})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	return f.Serve(ln)
}

func run(connList, kindList string, interval, hold time.Duration, openRate int) error {
	fmt.Printf("interval %s, hold %s, open rate %d/s, %d cores\n\n", interval, hold, openRate, numCPU())
	fmt.Println("| kind | conns | held | warm in | messages/s | of conns/interval | failed | engine CPU-s/s | engine CPU-s per 100k msgs | engine memory | server CPU-s/s |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, kind := range strings.Split(kindList, ",") {
		for _, c := range strings.Split(connList, ",") {
			n, err := strconv.Atoi(c)
			if err != nil {
				return fmt.Errorf("conns %q: %w", c, err)
			}
			st, err := step(load.StreamKind(kind), n, interval, hold, openRate)
			if err != nil {
				return err
			}
			if !st.warmed {
				fmt.Printf("| %s | %d | false | not within %s | - | - | %d %v | - | - | %d MiB | - |\n", kind, n, st.warm.Round(100*time.Millisecond),
					st.failed, st.classes, st.mem>>20)
				continue
			}
			fmt.Printf("| %s | %d | %v | %s | %.0f | %.4f | %d %v | %.3f | %.3f | %d MiB | %.3f |\n", kind, n, st.held, st.warm.Round(100*time.Millisecond),
				st.rate, st.delivered, st.failed, st.classes, st.cpu.Seconds()/hold.Seconds(), st.cpu.Seconds()/(st.rate*hold.Seconds())*1e5,
				st.mem>>20, st.serverCPU.Seconds()/hold.Seconds())
		}
	}
	return nil
}

type stepResult struct {
	warmed    bool // every connection open and receiving in time
	held      bool
	warm      time.Duration
	rate      float64 // messages per second while held
	delivered float64 // rate / (conns / interval)
	failed    int
	classes   map[outcome.Class]int
	cpu       time.Duration // this process, over the hold
	serverCPU time.Duration // the fixture's process, over the hold
	mem       uint64        // heap and stacks in use, all connections open
}

// step runs n connections of one kind against a fresh fixture process.
func step(kind load.StreamKind, n int, interval, hold time.Duration, openRate int) (stepResult, error) {
	self, err := os.Executable()
	if err != nil {
		return stepResult{}, err
	}
	srv := exec.Command(self, "serve")
	stdin, _ := srv.StdinPipe() // closed when we return: the child exits
	out, _ := srv.StdoutPipe()
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return stepResult{}, err
	}
	defer func() {
		stdin.Close()
		srv.Process.Kill() // our own child, by its PID
		srv.Wait()
	}()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return stepResult{}, fmt.Errorf("fixture process: %w", err)
	}
	path := map[load.StreamKind]string{load.SSE: "/stream", load.WebSocket: "/ws"}[kind]
	var mu sync.Mutex
	var recs []outcome.Record
	sink := load.SinkFunc(func(r outcome.Record) error {
		mu.Lock()
		recs = append(recs, r)
		mu.Unlock()
		return nil
	})
	plan := load.StreamPlan{Conns: n, Interval: interval, OpenRate: openRate, MaxDuration: 10 * time.Minute}
	began := time.Now()
	s, err := load.StartStreams(context.Background(), plan, []load.StreamTarget{{Path: "bench", URL: "http://" + strings.TrimSpace(addr) + path, Kind: kind}}, sink)
	if err != nil {
		return stepResult{}, err
	}
	res := stepResult{classes: map[outcome.Class]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(n)*time.Second/time.Duration(plan.OpenRate)+30*time.Second)
	werr := s.WaitWarm(ctx, nil)
	cancel()
	res.warm, res.warmed = time.Since(began), werr == nil
	cpu0, scpu0, msgs0, t0 := cpuSelf(), cpuOf(srv.Process.Pid), s.Messages()["bench"], time.Now()
	if werr == nil {
		time.Sleep(hold) // the measurement is of this time passing
	}
	res.cpu, res.serverCPU = cpuSelf()-cpu0, cpuOf(srv.Process.Pid)-scpu0
	res.rate = float64(s.Messages()["bench"]-msgs0) / time.Since(t0).Seconds()
	res.delivered = res.rate / (float64(n) / interval.Seconds())
	res.mem = inUse()
	s.Stop()
	result, err := s.Wait()
	if err != nil {
		return res, err
	}
	for _, r := range recs {
		if r.Class.Failed() {
			if res.classes[r.Class] == 0 {
				fmt.Fprintf(os.Stderr, "%s %d: first %s: %s\n", kind, n, r.Class, r.Error)
			}
			res.failed++
			res.classes[r.Class]++
		}
	}
	res.held = res.warmed && res.failed == 0 && result.Valid && res.delivered >= 0.99
	return res, nil
}

// cpuSelf is this process's user and system CPU time.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOf reads a process's user and system CPU time from /proc.
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// the fields after the command name, which may hold spaces
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// inUse is the memory the engine holds live: heap and goroutine stacks,
// after a collection (the process's RSS keeps what earlier steps freed).
func inUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}
