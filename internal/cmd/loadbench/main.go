// Command loadbench measures the load engine on loopback against a trivial Go
// server in a separate process, in one run, as ratios (see docs/benchmarks.md):
//
//   - the highest constant rate our engine sustains with full accounting vs the
//     vegeta CLI of the same version;
//   - pacing error at 500 and 2,000 rps;
//   - recorder overhead: CPU seconds per 10k requests with and without recording.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/zerodrop/zerodrop/load"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		serve()
		return
	}
	dur := flag.Duration("step", 3*time.Second, "duration of each rate step")
	rates := flag.String("rates", "2000,4000,6000,8000,10000,12000,14000,16000", "rate steps for the maximum-rate search")
	flag.Parse()
	if err := run(*dur, *rates); err != nil {
		fmt.Fprintln(os.Stderr, "loadbench:", err)
		os.Exit(1)
	}
}

// serve is the trivial server, in its own process so its CPU is not ours.
func serve() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Println(ln.Addr().String())
	http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Pod-Name", "bench")
		io.WriteString(w, "ok\n")
	}))
}

func run(step time.Duration, rateList string) error {
	self, _ := os.Executable()
	srv := exec.Command(self, "serve")
	out, _ := srv.StdoutPipe()
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Process.Kill()
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		return err
	}
	url := "http://" + strings.TrimSpace(addr) + "/"
	veg, err := buildVegeta()
	if err != nil {
		return err
	}
	var rates []int
	for _, r := range strings.Split(rateList, ",") {
		var n int
		fmt.Sscan(r, &n)
		rates = append(rates, n)
	}

	fmt.Printf("server %s, step %s, GOMAXPROCS cores %d\n\n", url, step, numCPU())
	fmt.Println("| rate | zerodrop achieved | valid | vegeta CLI achieved | success |")
	fmt.Println("|---|---|---|---|---|")
	oursMax, vegMax := 0, 0
	for _, r := range rates {
		res, err := ours(url, r, step, io.Discard)
		if err != nil {
			return err
		}
		p := res.Paths["bench"]
		vr, vs, err := vegetaCLI(veg, url, r, step)
		if err != nil {
			return err
		}
		fmt.Printf("| %d | %.1f | %v | %.1f | %.4f |\n", r, p.Achieved, res.Valid && p.FailedAll == 0, vr, vs)
		if res.Valid && p.FailedAll == 0 {
			oursMax = r
		}
		if vr >= 0.99*float64(r) && vs == 1 {
			vegMax = r
		}
	}
	ratio := 0.0
	if vegMax > 0 {
		ratio = float64(oursMax) / float64(vegMax)
	}
	fmt.Printf("\nmax sustained: zerodrop %d rps, vegeta CLI %d rps, ratio %.2f (goal >= 0.9)\n\n", oursMax, vegMax, ratio)

	for _, r := range []int{500, 2000} {
		res, err := ours(url, r, 5*time.Second, io.Discard)
		if err != nil {
			return err
		}
		p := res.Paths["bench"]
		fmt.Printf("pacing at %d rps: achieved %.2f, ratio %.4f (goal >= 0.99), max lag %s\n", r, p.Achieved, p.Achieved/float64(r), p.MaxLag.Round(time.Microsecond))
	}

	// recorder overhead: same rate and duration, bare vegeta loop vs our engine
	// recording every result to a file; interleaved rounds, median, so a busy
	// moment of the machine does not land on one side only
	const rate, dur, rounds = 2000, 5 * time.Second, 3
	var bare, rec []float64
	var sent int
	for i := 0; i < rounds; i++ {
		b := cpu(func() { bareVegeta(url, rate, dur) })
		f, err := os.CreateTemp("", "records-*.jsonl")
		if err != nil {
			return err
		}
		r := cpu(func() {
			sink := load.NewJSONLSink(f)
			res, _ := ours(url, rate, dur, nil, sink)
			sink.Close()
			sent = res.Sent()
		})
		os.Remove(f.Name())
		per10k := func(d time.Duration) float64 { return d.Seconds() / float64(sent) * 10000 }
		bare, rec = append(bare, per10k(b)), append(rec, per10k(r))
	}
	mb, mr := median(bare), median(rec)
	fmt.Printf("\nrecorder overhead at %d rps, %s x %d interleaved rounds (%d requests each): bare vegeta %.3f CPU-s/10k (rounds %.3f), zerodrop recording to disk %.3f CPU-s/10k (rounds %.3f), median ratio %.2f (goal <= 1.10)\n",
		rate, dur, rounds, sent, mb, bare, mr, rec, mr/mb)
	return nil
}

func ours(url string, rate int, dur time.Duration, _ io.Writer, sinks ...load.Sink) (*load.Result, error) {
	var sink load.Sink
	if len(sinks) > 0 {
		sink = sinks[0]
	}
	l, err := load.Start(context.Background(), load.Plan{Rate: rate, Duration: dur, KeepAlive: true, Timeout: 5 * time.Second},
		[]load.Target{{Path: "bench", URL: url}}, sink)
	if err != nil {
		return nil, err
	}
	return l.Wait()
}

func bareVegeta(url string, rate int, dur time.Duration) {
	atk := vegeta.NewAttacker(vegeta.KeepAlive(true), vegeta.MaxBody(0))
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: "GET", URL: url})
	for range atk.Attack(tr, vegeta.ConstantPacer{Freq: rate, Per: time.Second}, dur, "bare") {
	}
}

func cpu(fn func()) time.Duration {
	var a, b syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &a)
	fn()
	syscall.Getrusage(syscall.RUSAGE_SELF, &b)
	return time.Duration(b.Utime.Nano()-a.Utime.Nano()) + time.Duration(b.Stime.Nano()-a.Stime.Nano())
}

func vegetaCLI(bin, url string, rate int, dur time.Duration) (float64, float64, error) {
	atk := exec.Command(bin, "attack", fmt.Sprintf("-rate=%d", rate), "-duration="+dur.String(), "-keepalive=true", "-max-body=0")
	atk.Stdin = strings.NewReader("GET " + url + "\n")
	rep := exec.Command(bin, "report", "-type=json")
	pipe, _ := atk.StdoutPipe()
	rep.Stdin = pipe
	if err := atk.Start(); err != nil {
		return 0, 0, err
	}
	raw, err := rep.Output()
	atk.Wait()
	if err != nil {
		return 0, 0, fmt.Errorf("vegeta report: %w", err)
	}
	var m struct {
		Rate    float64 `json:"rate"`
		Success float64 `json:"success"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return 0, 0, err
	}
	return m.Rate, m.Success, nil
}

// buildVegeta builds the vegeta CLI of the version this module uses, in a
// wrapper module (go install pkg@version asks for version lists the proxy refuses).
func buildVegeta() (string, error) {
	dir := filepath.Join(os.TempDir(), "zerodrop-vegeta-cli")
	bin := filepath.Join(dir, "vegeta")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	os.MkdirAll(dir, 0o755)
	gomod := "module zerodrop.local/vegetacli\n\ngo 1.26\n\nrequire github.com/tsenart/vegeta/v12 v12.12.0\n"
	tools := "//go:build tools\n\npackage tools\n\nimport _ \"github.com/tsenart/vegeta/v12\"\n"
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644)
	os.WriteFile(filepath.Join(dir, "tools.go"), []byte(tools), 0o644)
	cmd := exec.Command("go", "build", "-o", bin, "github.com/tsenart/vegeta/v12")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build vegeta CLI: %w\n%s", err, out)
	}
	return bin, nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

func numCPU() int {
	n := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = strings.Count(string(b), "processor\t:")
	}
	return n
}
