package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/zerodrop/zerodrop/outcome"
)

var kinds = []struct {
	kind StreamKind
	path string // the fixture's endpoint
}{{SSE, "/stream"}, {WebSocket, "/ws"}}

func streamPlan(conns int) StreamPlan {
	return StreamPlan{Conns: conns, Interval: 20 * time.Millisecond, ConnectTimeout: 2 * time.Second, MaxDuration: time.Minute}
}

func onPod(path, pod string, n int) func(map[string]map[string]int) bool {
	return func(live map[string]map[string]int) bool {
		total := 0
		for _, c := range live[path] {
			total += c
		}
		return live[path][pod] == n && total == n
	}
}

// A pod that drains ends its streams politely; each client reconnects
// (through the "Service", now routing to the other pod) and loses nothing:
// every session is ok, and the reconnect latency is measured.
func TestStreamsPoliteDrainReconnectsWithoutFailure(t *testing.T) {
	for _, k := range kinds {
		t.Run(string(k.kind), func(t *testing.T) {
			a, b := startFixture(t, "a", drain(time.Minute)), startFixture(t, "b", drain(time.Minute))
			svc := newSwitcher(t, a.addr)
			sink := &collect{}
			const n = 4
			s, err := StartStreams(context.Background(), streamPlan(n), []StreamTarget{{Path: "svc", URL: "http://" + svc.addr + k.path, Kind: k.kind}}, sink)
			if err != nil {
				t.Fatal(err)
			}
			waitLive(t, s, "warm on a", onPod("svc", "a", n))
			svc.route(b.addr) // a's endpoint is gone before its SIGTERM, as a preStop delay makes sure
			drainAt := time.Now()
			a.sigterm(t)
			waitLive(t, s, "moved to b", onPod("svc", "b", n))
			res, recs := stopAndWait(t, s, sink)

			if c := byClass(recs); c[outcome.OK] != len(recs) || len(recs) != 2*n {
				t.Fatalf("classes %v of %d sessions: want %d, all ok", c, len(recs), 2*n)
			}
			st := res.Paths["svc"].Stream
			if st == nil || st.Polite != n || st.Stopped != n || st.Reconnects != n || st.Kind != k.kind || st.Conns != n {
				t.Fatalf("stream stats %+v: want %d polite closes (a), %d stopped (b), %d reconnects", st, n, n, n)
			}
			if st.ReconnectP50 <= 0 || st.ReconnectMax < st.ReconnectP99 || st.ReconnectMax > time.Since(drainAt) {
				t.Fatalf("reconnect latency p50 %s p99 %s max %s: must be measured, and within the %s since the drain",
					st.ReconnectP50, st.ReconnectP99, st.ReconnectMax, time.Since(drainAt))
			}
			for _, r := range recs {
				ss := r.Session
				if ss.Messages == 0 || r.Pod == "" || r.Version != "v1" || ss.Missing != 0 || r.Conn != "new" {
					t.Fatalf("session %+v %+v: want messages from a named pod", r, ss)
				}
				switch r.Pod {
				case "a":
					if ss.Closed != outcome.ClosedPolite || ss.Reconnect != 0 || r.End().Before(drainAt) {
						t.Fatalf("a's session %+v %+v: want closed politely by the drain, not a reconnect", r, ss)
					}
				case "b":
					if ss.Closed != outcome.ClosedStop || ss.Reconnect <= 0 || r.Start.Before(drainAt) {
						t.Fatalf("b's session %+v %+v: want a reconnect after the drain, closed by the stop", r, ss)
					}
				}
				if wantCode := map[StreamKind]int{SSE: 200, WebSocket: 101}[k.kind]; r.Code != wantCode {
					t.Fatalf("handshake code %d, want %d", r.Code, wantCode)
				}
			}
			if p := res.Paths["svc"]; p.OK != 2*n || p.Pods["a"] != n || p.Pods["b"] != n || p.Last.Before(drainAt) || p.NewConns != 2*n {
				t.Fatalf("path stats %+v", p)
			}
			if got := s.Messages()["svc"]; got != int64(st.Messages) || got < 2*n {
				t.Fatalf("%d messages counted live, %d in the records", got, st.Messages)
			}
		})
	}
}

// In exit mode a pod cuts its streams with no goodbye: each session is a
// stream-cut failure, and its slot reconnects to the pod still serving.
func TestStreamsCutByAnExitIsAFailure(t *testing.T) {
	for _, k := range kinds {
		t.Run(string(k.kind), func(t *testing.T) {
			a, b := startFixture(t, "a", exitNow), startFixture(t, "b", drain(time.Minute))
			svc := newSwitcher(t, a.addr)
			sink := &collect{}
			const n = 3
			s, err := StartStreams(context.Background(), streamPlan(n), []StreamTarget{{Path: "svc", URL: "http://" + svc.addr + k.path, Kind: k.kind}}, sink)
			if err != nil {
				t.Fatal(err)
			}
			waitLive(t, s, "warm on a", onPod("svc", "a", n))
			svc.route(b.addr)
			a.terminate(context.Background())
			waitLive(t, s, "moved to b", onPod("svc", "b", n))
			res, recs := stopAndWait(t, s, sink)

			cuts := 0
			for _, r := range recs {
				switch {
				case r.Pod == "a" && r.Class == outcome.StreamCut && r.Session.Closed == "" && r.Session.Messages > 0 && r.Error != "":
					cuts++
				case r.Pod == "b" && r.Class == outcome.OK && r.Session.Reconnect > 0:
				default:
					t.Fatalf("session %+v %+v", r, r.Session)
				}
			}
			p := res.Paths["svc"]
			if cuts != n || p.Failed[outcome.StreamCut] != n || p.FailedAll != n || p.Stream.Reconnects != n || p.Stream.Polite != 0 {
				t.Fatalf("%d cuts, path %+v stream %+v: want %d cuts, each followed by a reconnect", cuts, p, p.Stream, n)
			}
			if !outcome.StreamCut.IsRace() {
				t.Fatal("a cut stream is what a shutdown race does to a stream: a negative control must be able to show it")
			}
		})
	}
}

// A pod that drains while the Service still routes to it turns each new
// stream away at once: those sessions are ok but empty, the slots retry,
// and the reconnect latency counts the whole time without a stream.
func TestStreamsTurnedAwayCountInTheReconnectLatency(t *testing.T) {
	a, b := startFixture(t, "a", drain(time.Minute)), startFixture(t, "b", drain(time.Minute))
	svc := newSwitcher(t, a.addr)
	sink := &collect{}
	const n = 2
	plan := streamPlan(n)
	plan.RetryDelay = 20 * time.Millisecond
	s, err := StartStreams(context.Background(), plan, []StreamTarget{{Path: "svc", URL: "http://" + svc.addr + "/stream", Kind: SSE}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	waitLive(t, s, "warm on a", onPod("svc", "a", n))
	a.sigterm(t) // the endpoint is still there: reconnects land on a again
	waitLive(t, s, "all turned away", func(live map[string]map[string]int) bool { return len(live["svc"]) == 0 })
	sink.waitFor(t, "a few rounds of turning away", func(recs []Record) bool {
		empty := 0
		for _, r := range recs {
			if r.Session.Messages == 0 {
				empty++
			}
		}
		return empty >= 2*n
	})
	svc.route(b.addr)
	waitLive(t, s, "moved to b", onPod("svc", "b", n))
	res, recs := stopAndWait(t, s, sink)

	if c := byClass(recs); c[outcome.OK] != len(recs) {
		t.Fatalf("classes %v: a polite turn-away is no failure", c)
	}
	st := res.Paths["svc"].Stream
	if st.Empty < 2*n || st.Polite < 2*n+n || st.Reconnects != n {
		t.Fatalf("stream stats %+v", st)
	}
	// per slot: the reconnect runs from the end of the slot's stream on a
	// to the first message on b, over every turned-away try between
	for slot := range n {
		var aEnd, lastTry time.Time
		for _, r := range recs {
			switch {
			case r.Session.Slot != slot:
			case r.Pod == "a" && r.Session.Messages > 0:
				aEnd = r.End()
			case r.Session.Messages == 0:
				lastTry = r.End()
			}
		}
		for _, r := range recs {
			if r.Session.Slot != slot || r.Pod != "b" {
				continue
			}
			want := r.Start.Add(r.Session.FirstMessage).Sub(aEnd)
			if r.Session.Reconnect != want || !lastTry.After(aEnd) || r.Session.Reconnect <= lastTry.Sub(aEnd) {
				t.Fatalf("slot %d: reconnect %s, want %s, longer than the %s of turned-away tries", slot, r.Session.Reconnect, want, lastTry.Sub(aEnd))
			}
		}
	}
}

// sseServer serves a scripted event stream, then holds it open.
func sseServer(t *testing.T, script string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("X-Pod-Name", "p")
		w.WriteHeader(200)
		fmt.Fprint(w, script)
		w.(http.Flusher).Flush()
		if strings.Contains(script, "event: close") {
			return
		}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func sseMsg(seq int) string {
	return fmt.Sprintf("id: %d\ndata: {\"seq\":%d,\"pod\":\"p\",\"version\":\"v9\"}\n\n", seq, seq)
}

// runUntil runs one stream path until sessions are recorded, then stops.
func runUntil(t *testing.T, plan StreamPlan, target StreamTarget, sessions int) (*Result, []Record) {
	t.Helper()
	sink := &collect{}
	s, err := StartStreams(context.Background(), plan, []StreamTarget{target}, sink)
	if err != nil {
		t.Fatal(err)
	}
	sink.waitFor(t, "sessions ended", func(recs []Record) bool { return len(recs) >= sessions })
	return stopAndWait(t, s, sink)
}

// A message the stream never delivered is a failure, however it ended.
func TestStreamsGapIsAFailure(t *testing.T) {
	for _, c := range []struct {
		name, script string
		missing      int
		wantErr      string
	}{
		{"skipped id", sseMsg(1) + sseMsg(2) + sseMsg(4), 1, "message 4 after 2: 1 missing"},
		{"short of the close's count", sseMsg(1) + sseMsg(2) + "event: close\ndata: {\"reason\":\"draining\",\"last\":5}\n\n", 3, "the close says 5 were sent"},
		{"out of order", sseMsg(1) + sseMsg(3) + sseMsg(2), 1, "message 3 after 1: 1 missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := streamPlan(1)
			plan.StallTimeout = 500 * time.Millisecond
			res, recs := runUntil(t, plan, StreamTarget{Path: "x", URL: sseServer(t, c.script), Kind: SSE}, 1)
			r := recs[0]
			if r.Class != outcome.StreamGap || r.Session.Missing != c.missing || !strings.Contains(r.Error, c.wantErr) || r.Version != "v9" {
				t.Fatalf("session %+v %+v: want a gap of %d (%q)", r, r.Session, c.missing, c.wantErr)
			}
			if res.Paths["x"].Stream.Missing < c.missing {
				t.Fatalf("stream stats %+v", res.Paths["x"].Stream)
			}
		})
	}
	t.Run("ws", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			ctx := c.CloseRead(context.Background())
			for _, seq := range []int{1, 2, 4} {
				b, _ := json.Marshal(map[string]any{"seq": seq, "pod": "p", "version": "v9"})
				c.Write(ctx, websocket.MessageText, b)
			}
			c.Close(websocket.StatusGoingAway, "draining")
		}))
		defer srv.Close()
		_, recs := runUntil(t, streamPlan(1), StreamTarget{Path: "x", URL: srv.URL, Kind: WebSocket}, 1)
		if r := recs[0]; r.Class != outcome.StreamGap || r.Session.Missing != 1 || r.Session.Closed != outcome.ClosedPolite || r.Session.Messages != 3 {
			t.Fatalf("session %+v %+v: want a gap of 1 in a politely closed stream", r, r.Session)
		}
	})
}

// A stream that ends without its close event, and a WebSocket closed with
// an error status, are failures; the first is the cut a dying pod makes.
func TestStreamsEndWithoutGoodbye(t *testing.T) {
	t.Run("sse EOF", func(t *testing.T) {
		url := sseServer(t, sseMsg(1)+"event: bye\ndata: {}\n\n"+"event: close\n") // no blank line: the close never dispatched
		_, recs := runUntil(t, streamPlan(1), StreamTarget{Path: "x", URL: url, Kind: SSE}, 1)
		if r := recs[0]; r.Class != outcome.StreamCut || !strings.Contains(r.Error, "close event") {
			t.Fatalf("session %+v: want a cut", r)
		}
	})
	t.Run("ws 1011", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := websocket.Accept(w, r, nil)
			if err != nil {
				return
			}
			c.Write(r.Context(), websocket.MessageText, []byte(`{"seq":1,"pod":"p"}`))
			c.Close(websocket.StatusInternalError, "boom")
		}))
		defer srv.Close()
		_, recs := runUntil(t, streamPlan(1), StreamTarget{Path: "x", URL: srv.URL, Kind: WebSocket}, 1)
		if r := recs[0]; r.Class != outcome.OtherFail || !strings.Contains(r.Error, "1011") || r.Session.Messages != 1 {
			t.Fatalf("session %+v: want a failure naming the status", r)
		}
	})
}

// Sessions that open no stream are classed as requests are, and each is
// one record; the slot retries after RetryDelay.
func TestStreamsConnectFailures(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	unavailable := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "draining", http.StatusServiceUnavailable)
	}))
	defer unavailable.Close()
	html := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "<html>") }))
	defer html.Close()
	silent, _ := net.Listen("tcp", "127.0.0.1:0") // accepts (the kernel does), never answers
	defer silent.Close()

	for _, c := range []struct {
		name string
		kind StreamKind
		url  string
		want Class
	}{
		{"sse refused", SSE, closed, outcome.Refused},
		{"ws refused", WebSocket, closed, outcome.Refused},
		{"sse 503", SSE, unavailable.URL, outcome.HTTP503},
		{"ws 503", WebSocket, unavailable.URL, outcome.HTTP503},
		{"sse not a stream", SSE, html.URL, outcome.OtherFail},
		{"sse no answer", SSE, "http://" + silent.Addr().String(), outcome.Timeout},
		{"ws no answer", WebSocket, "http://" + silent.Addr().String(), outcome.Timeout},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := streamPlan(2)
			plan.ConnectTimeout, plan.RetryDelay = 200*time.Millisecond, 50*time.Millisecond
			start := time.Now()
			res, recs := runUntil(t, plan, StreamTarget{Path: "x", URL: c.url, Kind: c.kind}, 6)
			for _, r := range recs {
				if r.Class != c.want || r.Session.Messages != 0 || r.Error == "" {
					t.Fatalf("session %+v: want %s", r, c.want)
				}
			}
			// two slots, each waiting RetryDelay between tries: a client
			// that retried at once would have made thousands
			if max := 2 * (int(time.Since(start)/plan.RetryDelay) + 1); len(recs) > max {
				t.Fatalf("%d sessions in %s: the retry delay was not kept", len(recs), time.Since(start))
			}
			if p := res.Paths["x"]; p.FailedAll != len(recs) || p.Stream.Reconnects != 0 {
				t.Fatalf("path %+v", p)
			}
		})
	}
}

// A stream whose messages stop (a pod gone without a reset) times out.
func TestStreamsStallIsATimeout(t *testing.T) {
	plan := streamPlan(1)
	plan.StallTimeout = 300 * time.Millisecond
	url := sseServer(t, sseMsg(1)) // then silence
	_, recs := runUntil(t, plan, StreamTarget{Path: "x", URL: url, Kind: SSE}, 1)
	if r := recs[0]; r.Class != outcome.Timeout || r.Session.Messages != 1 || r.Latency < plan.StallTimeout || !strings.Contains(r.Error, "no message") {
		t.Fatalf("session %+v: want a timeout after %s", r, plan.StallTimeout)
	}

	// a stream that keeps sending never stalls, however long it lives
	a := startFixture(t, "a", drain(time.Minute))
	sink := &collect{}
	plan.StallTimeout = 500 * time.Millisecond // 25 intervals: a busy machine's hiccup is no stall
	s, err := StartStreams(context.Background(), plan, []StreamTarget{{Path: "x", URL: "http://" + a.addr + "/stream", Kind: SSE}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	waitLive(t, s, "warm", onPod("x", "a", 1))
	time.Sleep(3 * plan.StallTimeout) // what is tested is that time passes without a stall
	_, recs = stopAndWait(t, s, sink)
	if r := recs[0]; len(recs) != 1 || r.Class != outcome.OK || r.Latency < 3*plan.StallTimeout {
		t.Fatalf("%d sessions, first %+v: want one, ok, outliving the stall timeout", len(recs), r)
	}
}

// Spread moves sessions until every wanted pod holds one; the moves are
// the harness's (ok, "redial"), not reconnects.
func TestStreamsSpreadReachesEveryPod(t *testing.T) {
	for _, k := range kinds {
		t.Run(string(k.kind), func(t *testing.T) {
			a, b := startFixture(t, "a", drain(time.Minute)), startFixture(t, "b", drain(time.Minute))
			svc := newSwitcher(t, a.addr)
			sink := &collect{}
			const n = 3
			s, err := StartStreams(context.Background(), streamPlan(n), []StreamTarget{{Path: "svc", URL: "http://" + svc.addr + k.path, Kind: k.kind}}, sink)
			if err != nil {
				t.Fatal(err)
			}
			waitLive(t, s, "warm on a", onPod("svc", "a", n))
			svc.route(a.addr, b.addr) // b is ready: the Service balances over both
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			if missing, err := s.Spread(ctx, "svc", []string{"a", "b"}); err != nil || len(missing) > 0 {
				t.Fatalf("spread: missing %v, %v", missing, err)
			}
			if err := s.WaitWarm(ctx, []string{"a", "b"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Spread(ctx, "svc", []string{"a", "b", "c", "d"}); err == nil {
				t.Fatal("spread over more pods than connections must say it cannot")
			}
			res, recs := stopAndWait(t, s, sink)
			st := res.Paths["svc"].Stream
			if c := byClass(recs); c[outcome.OK] != len(recs) || st.Redialed < 1 || st.Reconnects != 0 {
				t.Fatalf("classes %v, stream %+v: want ok redials, none counted as a reconnect", c, st)
			}
		})
	}
}

func TestStreamsWaitWarmNamesWhatIsMissing(t *testing.T) {
	a := startFixture(t, "a", drain(time.Minute))
	sink := &collect{}
	s, err := StartStreams(context.Background(), streamPlan(2), []StreamTarget{{Path: "svc", URL: "http://" + a.addr + "/stream", Kind: SSE}}, sink)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := s.WaitWarm(ctx, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := s.WaitWarm(short, []string{"a", "z"}); err == nil || !strings.Contains(err.Error(), "svc 2/2 open and receiving (none on z)") {
		t.Fatalf("WaitWarm: %v", err)
	}
	stopAndWait(t, s, sink)
}

// A run is bounded by its Duration, and every path of it is accounted for
// on its own.
func TestStreamsDurationBoundsTheRunAcrossPaths(t *testing.T) {
	a := startFixture(t, "a", drain(time.Minute))
	sink := &collect{}
	plan := streamPlan(3)
	plan.Duration = time.Second
	s, err := StartStreams(context.Background(), plan, []StreamTarget{
		{Path: "sse", URL: "http://" + a.addr + "/stream", Kind: SSE},
		{Path: "ws", URL: "ws://" + a.addr + "/ws", Kind: WebSocket},
	}, sink)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(patience):
		t.Fatal("the run outlived its duration")
	}
	res, recs := stopAndWait(t, s, sink)
	if len(recs) != 6 || res.Paths["sse"].Sent != 3 || res.Paths["ws"].Sent != 3 || len(res.Targets) != 2 || res.Targets[1].Stream != WebSocket {
		t.Fatalf("%d records, result %+v", len(recs), res)
	}
	if res.Plan.Streams == nil || res.Plan.Streams.Conns != 3 || res.Plan.Streams.Interval != plan.Interval {
		t.Fatalf("recorded plan %+v", res.Plan)
	}
	for _, r := range recs {
		if r.Class != outcome.OK || r.Session.Closed != outcome.ClosedStop || r.Session.Messages < 1 {
			t.Fatalf("session %+v %+v", r, r.Session)
		}
	}
}

func TestStreamPlanValidateNamesFieldAndFix(t *testing.T) {
	good := StreamTarget{Path: "x", URL: "http://127.0.0.1:1/stream", Kind: SSE}
	for _, c := range []struct {
		plan    StreamPlan
		targets []StreamTarget
		want    string
	}{
		{StreamPlan{Conns: 0}, []StreamTarget{good}, "load.streams.conns 0: use 1 to 20000"},
		{StreamPlan{Conns: 1, Interval: time.Millisecond}, []StreamTarget{good}, "load.streams.interval 1ms: use 10ms to 10s"},
		{StreamPlan{Conns: 1, Interval: time.Second, StallTimeout: time.Second}, []StreamTarget{good}, "load.streams.stallTimeout 1s: use more than the interval"},
		{StreamPlan{Conns: 1, MaxDuration: 3 * time.Hour}, []StreamTarget{good}, "every run must be bounded"},
		{StreamPlan{Conns: 1}, nil, "give at least one target"},
		{StreamPlan{Conns: 1}, []StreamTarget{{Path: "x", URL: "http://h/", Kind: "grpc"}}, `load.streams.targets[0].kind "grpc": use "sse" or "ws"`},
		{StreamPlan{Conns: 1}, []StreamTarget{{Path: "x", URL: "ws://h/", Kind: SSE}}, "load.streams.targets[0].url"},
		{StreamPlan{Conns: 1}, []StreamTarget{good, good}, `load.streams.targets[1].path "x": give each target a unique path label`},
	} {
		err := c.plan.Defaults().Validate(c.targets)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.plan, err, c.want)
		}
		if _, err := StartStreams(context.Background(), c.plan, c.targets, nil); err == nil || !strings.HasPrefix(err.Error(), "load: ") {
			t.Errorf("StartStreams must refuse %+v with the component prefix: %v", c.plan, err)
		}
	}
	if err := (StreamPlan{Conns: 1}).Defaults().Validate([]StreamTarget{good, {Path: "y", URL: "wss://h/ws", Kind: WebSocket}}); err != nil {
		t.Fatal(err)
	}
}

func TestJSONSeq(t *testing.T) {
	for in, want := range map[string]int64{`{"seq":12,"pod":"a"}`: 12, `{"seq": 7}`: 7, `{"pod":"a","seq":3}`: 3} {
		if got, ok := jsonSeq([]byte(in)); !ok || got != want {
			t.Errorf("%s: %d %v", in, got, ok)
		}
	}
	for _, in := range []string{`{"x":{"seq":1}}`, `{"seq":"1"}`, `{"seq":-1}`, `{}`} {
		if _, ok := jsonSeq([]byte(in)); ok {
			t.Errorf("%s: must fall back to a full decode", in)
		}
	}
}

// A client that ends its sessions at their lifetime (as real clients do,
// and as a rainbow deployment waits for) reconnects at once and loses
// nothing: each such session is ok, closed "lifetime", and no reconnect.
func TestStreamsLifetimeEndsSessionsFromTheClient(t *testing.T) {
	for _, k := range kinds {
		t.Run(string(k.kind), func(t *testing.T) {
			a := startFixture(t, "a", drain(time.Minute))
			sink := &collect{}
			plan := streamPlan(2)
			plan.Lifetime = 300 * time.Millisecond
			s, err := StartStreams(context.Background(), plan, []StreamTarget{{Path: "svc", URL: "http://" + a.addr + k.path, Kind: k.kind}}, sink)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			res, recs := stopAndWait(t, s, sink)
			ended := 0
			for _, r := range recs {
				if r.Class != outcome.OK {
					t.Fatalf("session %+v %+v: a client's own end is no failure", r, r.Session)
				}
				if r.Session.Closed == outcome.ClosedLifetime {
					ended++
					if l := r.Latency; l < plan.Lifetime || l > plan.Lifetime+time.Second {
						t.Fatalf("a session ended at its lifetime after %s, want about %s", l, plan.Lifetime)
					}
				}
			}
			st := res.Paths["svc"].Stream
			if ended < 4 || st.Ended != ended || st.Reconnects != 0 || res.Plan.Streams.Lifetime != plan.Lifetime {
				t.Fatalf("%d sessions ended at their lifetime, stats %+v, plan %+v: want at least 4 (2 slots, 1 s, 300 ms), none a reconnect", ended, st, res.Plan.Streams)
			}
		})
	}
	if err := (StreamPlan{Conns: 1, Lifetime: 50 * time.Millisecond}).Defaults().Validate([]StreamTarget{{Path: "x", URL: "http://h/", Kind: SSE}}); err == nil ||
		!strings.Contains(err.Error(), "load.streams.lifetime 50ms") {
		t.Fatalf("a lifetime shorter than the interval: %v", err)
	}
}
