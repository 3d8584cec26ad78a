package load

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/internal/droptest"

	"github.com/zerodrop/zerodrop/outcome"
)

// TestHiddenRetryIsCounted: a server that reads a request on a reused
// connection and closes it without an answer (what a pod exiting under a
// pooled connection does) makes Go's transport send the request again on a
// new connection. The engine sees both tries and records the class.
func TestHiddenRetryIsCounted(t *testing.T) {
	url, dropped := droptest.Server(t, func(_, nth int) bool { return nth%5 != 0 }, nil)
	plan := Plan{Rate: 100, Duration: 2 * time.Second, Timeout: 2 * time.Second, KeepAlive: true}
	res, recs := runOne(t, plan, url)
	if dropped.Load() == 0 {
		t.Fatal("the server dropped nothing: the test proves nothing")
	}
	retried, extra := 0, 0
	for _, r := range recs {
		if r.Class == outcome.RetriedNoAnswer {
			retried++
			// Go's transport tries again as long as the try fails on a
			// reused connection: a retry may land on another pooled
			// connection the server drops too
			extra += r.Attempts - 1
			if r.Attempts < 2 || r.Retry != "written" || r.Conn != "reused" {
				t.Fatalf("retried record %+v: want 2 or more attempts, retry written, first on a reused connection", r)
			}
		}
	}
	if int64(extra) != dropped.Load() {
		t.Fatalf("the server dropped %d tries, the engine recorded %d extra tries over %d hidden retries", dropped.Load(), extra, retried)
	}
	if p := res.Paths["p"]; p.FailedAll != retried || p.Failed[outcome.RetriedNoAnswer] != retried {
		t.Fatalf("path stats %+v, want %d failed by hidden retry", p, retried)
	}
}

// TestIdleCloseIsNoRetry: a server that closes a connection after answering
// (while it is idle) costs the client a new connection, not a retry.
func TestIdleCloseIsNoRetry(t *testing.T) {
	url, _ := droptest.Server(t, func(int, int) bool { return true }, func(c net.Conn) {
		time.Sleep(20 * time.Millisecond)
		c.Close()
	})
	plan := Plan{Rate: 10, Duration: time.Second, Timeout: 2 * time.Second, KeepAlive: true}
	_, recs := runOne(t, plan, url)
	for _, r := range recs {
		if r.Class != outcome.OK || r.Attempts != 1 {
			t.Fatalf("record %+v: an idle close must not cost a request", r)
		}
	}
}

// TestPoolSpreadsOverPods: a keep-alive pool re-dials until its connections
// hold every wanted pod.
func TestPoolSpreadsOverPods(t *testing.T) {
	var n atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// each new connection is "a pod": connections 1 and 2 answer as pod-a,
	// later ones as pod-b — like kube-proxy picking at connect time
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Pod-Name", r.Context().Value(podKey{}).(string))
	}), ConnContext: func(ctx context.Context, c net.Conn) context.Context {
		pod := "pod-a"
		if n.Add(1) > 2 {
			pod = "pod-b"
		}
		return context.WithValue(ctx, podKey{}, pod)
	}}
	go srv.Serve(ln)
	defer srv.Close()
	plan := Plan{Rate: 50, Timeout: time.Second, MaxDuration: 10 * time.Second}
	l, err := Start(context.Background(), plan, []Target{{Path: "p", URL: "http://" + ln.Addr().String() + "/", KeepAlive: true, Pool: 2}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()
	time.Sleep(300 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	missing, err := l.Spread(ctx, "p", []string{"pod-a", "pod-b"})
	if err != nil || len(missing) != 0 {
		t.Fatalf("missing %v, err %v", missing, err)
	}
	if _, err := l.Spread(ctx, "nope", nil); err == nil || !strings.Contains(err.Error(), "keeps no connections alive") {
		t.Fatalf("err %v", err)
	}
}

type podKey struct{}
