package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/fixtures/server"
)

var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "fixture-bin")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "zerodrop-fixture")
	if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is the real fixture binary running as a process.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	mu     sync.Mutex
	events []server.Event
	done   chan error
	ready  chan struct{}
}

func start(t *testing.T, args ...string) *proc {
	t.Helper()
	return startCmd(t, append([]string{"--listen", "127.0.0.1:0"}, args...))
}

// startProxy runs the binary's proxy mode in front of upstream.
func startProxy(t *testing.T, upstream string, args ...string) *proc {
	t.Helper()
	return startCmd(t, append([]string{"proxy", "--listen", "127.0.0.1:0", "--upstream", upstream}, args...))
}

func startCmd(t *testing.T, args []string) *proc {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "POD_NAME=fixture-test", "POD_VERSION=v7")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, done: make(chan error, 1), ready: make(chan struct{})}
	started := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var e server.Event
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				continue
			}
			p.mu.Lock()
			p.events = append(p.events, e)
			p.mu.Unlock()
			switch e.Event {
			case server.EvStarted:
				started <- e.Detail
			case server.EvReady:
				close(p.ready)
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case p.addr = <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("fixture did not start")
	}
	<-p.ready
	return p
}

func (p *proc) url(path string) string { return "http://" + p.addr + path }

func (p *proc) signal(s syscall.Signal) {
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatal(err)
	}
}

func (p *proc) wait(d time.Duration) error {
	select {
	case err := <-p.done:
		return err
	case <-time.After(d):
		p.t.Fatalf("fixture still running after %s", d)
		return nil
	}
}

func (p *proc) eventNames() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var names []string
	for _, e := range p.events {
		names = append(names, e.Event)
	}
	return names
}

func (p *proc) last(name string) server.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.events) - 1; i >= 0; i-- {
		if p.events[i].Event == name {
			return p.events[i]
		}
	}
	p.t.Fatalf("no %s event in %v", name, p.events)
	return server.Event{}
}

func get(t *testing.T, client *http.Client, url, label string) (*http.Response, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-Zerodrop-Path", label)
	resp, err := client.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return resp, err
}

func TestExitModeRefusesAtOnce(t *testing.T) {
	p := start(t, "--on-sigterm", "exit")
	resp, err := get(t, http.DefaultClient, p.url("/"), "nodeport")
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Pod-Name") != "fixture-test" || resp.Header.Get("X-Pod-Version") != "v7" {
		t.Fatalf("resp %+v err %v", resp, err)
	}
	p.signal(syscall.SIGTERM)
	if err := p.wait(2 * time.Second); err != nil {
		t.Fatalf("exit mode should exit 0: %v", err)
	}
	_, err = get(t, &http.Client{Timeout: time.Second}, p.url("/"), "nodeport")
	if err == nil || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("after exit a new connection must be refused, got %v", err)
	}
	if got := strings.Join(p.eventNames(), ","); got != "started,ready,sigterm,last_request,exited" {
		t.Fatalf("events %s", got)
	}
	if c := p.last(server.EvExited).Counts["nodeport"]; c != 1 {
		t.Fatalf("exited counts nodeport=%d, want 1", c)
	}
}

func TestDrainModeServesThenClosesKeptAliveConnections(t *testing.T) {
	p := start(t, "--on-sigterm", "drain=800ms", "--fail-readiness-on-drain")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	for i := 0; i < 3; i++ {
		if resp, err := get(t, client, p.url("/"), "ingress"); err != nil || resp.Close {
			t.Fatalf("before SIGTERM: resp %+v err %v", resp, err)
		}
	}
	p.signal(syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	sent := 0
	for i := 0; i < 5; i++ {
		resp, err := get(t, client, p.url("/"), "ingress")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("during the drain requests must succeed: resp %+v err %v", resp, err)
		}
		if !resp.Close { // net/http turns "Connection: close" into resp.Close
			t.Fatalf("during the drain the answer must carry Connection: close, got %v", resp.Header)
		}
		sent++
	}
	if resp, _ := get(t, client, p.url("/readyz"), "probe"); resp == nil || resp.StatusCode != 503 {
		t.Fatalf("readyz during drain with --fail-readiness-on-drain: %+v", resp)
	}
	if err := p.wait(5 * time.Second); err != nil {
		t.Fatalf("drain mode should exit 0: %v", err)
	}
	want := "started,ready,sigterm,drain_begin,shutdown_begin,last_request,exited"
	if got := strings.Join(p.eventNames(), ","); got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	ex := p.last(server.EvExited)
	if ex.Counts["ingress"] != int64(3+sent) || ex.After["ingress"] != int64(sent) {
		t.Fatalf("counts %v after %v, want %d and %d", ex.Counts, ex.After, 3+sent, sent)
	}
	sig, sh := p.last(server.EvSigterm), p.last(server.EvShutdownBegin)
	if d := sh.Time.Sub(sig.Time); d < 800*time.Millisecond || d > 2*time.Second {
		t.Fatalf("shutdown began %s after SIGTERM, want about the drain (800ms)", d)
	}
}

func TestStreamEndsPolitelyAtTheDrainsStart(t *testing.T) {
	p := start(t, "--on-sigterm", "drain=2s")
	resp, err := http.Get(p.url("/stream?interval=50ms"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	for ids := 0; ids < 3; {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(line, "id: ") {
			ids++
		}
	}
	p.signal(syscall.SIGTERM)
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatalf("stream must end cleanly, got %v after %q", err, rest)
	}
	if !strings.Contains(string(rest), "event: close\ndata: {\"reason\":\"draining\"") {
		t.Fatalf("stream must end with a close event, got %q", rest)
	}
	// it ended at the drain's start, while the pod still serves
	if _, err := get(t, http.DefaultClient, p.url("/"), "nodeport"); err != nil {
		t.Fatalf("after the stream's close the pod must still serve: %v", err)
	}
	if err := p.wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	want := "started,ready,sigterm,drain_begin,streams_closed,shutdown_begin,last_request,exited"
	if got := strings.Join(p.eventNames(), ","); got != want {
		t.Fatalf("events %s, want %s", got, want)
	}
	if c := p.last(server.EvStreamsClosed).Counts["unlabelled"]; c != 1 {
		t.Fatalf("streams_closed counts %d, want 1", c)
	}
}

func TestSlowEveryNthRequest(t *testing.T) {
	p := start(t, "--on-sigterm", "exit", "--slow-every", "2", "--slow-latency", "400ms")
	for i := 1; i <= 2; i++ {
		t0 := time.Now()
		if resp, err := get(t, http.DefaultClient, p.url("/"), "nodeport"); err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: %v", i, err)
		}
		if took := time.Since(t0); i == 2 && took < 400*time.Millisecond {
			t.Fatalf("the 2nd request took %s, want at least 400ms", took)
		}
	}
	resp, err := http.Get(p.url("/stats"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s server.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || s.Slow != 1 {
		t.Fatalf("stats %+v %v: want one slow request", s, err)
	}
}

func TestProxyAndAppShareAPod(t *testing.T) {
	app := start(t, "--on-sigterm", "drain=1s")
	px := startProxy(t, "http://"+app.addr, "--on-sigterm", "drain=1s")
	resp, err := get(t, http.DefaultClient, px.url("/"), "nodeport")
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("X-Pod-Name") != "fixture-test" || resp.Header.Get("X-Proxy-Pod") != "fixture-test" {
		t.Fatalf("through the proxy: %+v %v", resp, err)
	}
	// a pod's containers all get SIGTERM at once
	app.signal(syscall.SIGTERM)
	px.signal(syscall.SIGTERM)
	if err := app.wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := px.wait(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	if e := px.last(server.EvExited); e.Role != server.RoleProxy || e.Counts["nodeport"] != 1 {
		t.Fatalf("proxy exited %+v", e)
	}
	if e := app.last(server.EvExited); e.Role != "" || e.Counts["nodeport"] != 1 {
		t.Fatalf("app exited %+v", e)
	}
}

func TestProxyFlagsAreChecked(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"proxy", "--upstream", "127.0.0.1:8081"}, "use a URL such as http://127.0.0.1:8081"},
		{[]string{"proxy", "--on-sigterm", "drain=soon"}, "drain=10s"},
		{[]string{"proxy", "stray"}, "unexpected arguments"},
	} {
		out, err := exec.Command(binPath, c.args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: want a clear error naming %q, got %v: %s", c.args, c.want, err, out)
		}
	}
}

func TestIgnoreModeServesUntilKilled(t *testing.T) {
	p := start(t, "--on-sigterm", "ignore")
	p.signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	if resp, err := get(t, http.DefaultClient, p.url("/"), "clusterip"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("ignore mode must keep serving: %v", err)
	}
	p.signal(syscall.SIGKILL)
	if err := p.wait(2 * time.Second); err == nil {
		t.Fatal("SIGKILL should end the process with an error status")
	}
}

func TestStatsCountsPerPathLabel(t *testing.T) {
	p := start(t, "--on-sigterm", "exit")
	for _, l := range []string{"nodeport", "nodeport", "gateway"} {
		get(t, http.DefaultClient, p.url("/"), l)
	}
	resp, err := http.Get(p.url("/stats"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s server.Stats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	if s.Counts["nodeport"] != 2 || s.Counts["gateway"] != 1 || len(s.PerSecond) == 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBadFlagIsAClearError(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--on-sigterm", "drain=soon"}, "drain=10s"},
		{[]string{"--slow-every", "-1", "--slow-latency", "1s"}, "slow-every -1"},
		{[]string{"--slow-every", "10"}, "needs a slow-latency"},
		{[]string{"--slow-every", "10", "--slow-latency", "6m"}, "use 0 to 5m0s"},
	} {
		out, err := exec.Command(binPath, c.args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%v: want a clear error naming %q, got %v: %s", c.args, c.want, err, out)
		}
	}
}

// TestBrokenVersionsFromTheEnv: a rollout sets env, not args: NEVER_READY
// keeps /readyz at 503, CRASH_AFTER makes the process exit 1, as the
// kubelet must see a crash.
func TestBrokenVersionsFromTheEnv(t *testing.T) {
	cmd := exec.Command(binPath, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "NEVER_READY=true", "CRASH_AFTER=1500ms")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	sc := bufio.NewScanner(out)
	var names []string
	for sc.Scan() {
		var e server.Event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		names = append(names, e.Event)
		if e.Event == server.EvStarted {
			resp, err := http.Get("http://" + e.Detail + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("NEVER_READY: /readyz %d, want 503", resp.StatusCode)
			}
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("CRASH_AFTER: the process ended with %v, want exit status 1", err)
	}
	if got := strings.Join(names, ","); got != "started,crashed" {
		t.Fatalf("events %s, want started,crashed", got)
	}
}
