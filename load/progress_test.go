package load

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMeterCountsEveryPathsResults: the live progress of a load, fed by the
// engine through the meter, adds up per path to what the run recorded.
func TestMeterCountsEveryPathsResults(t *testing.T) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/flaky" && n.Add(1)%2 == 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	var passed atomic.Int64
	m := NewMeter(SinkFunc(func(Record) error { passed.Add(1); return nil }), "good", "flaky", "idle")
	ticks, got := make(chan time.Time), make(chan Snapshot)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Report(ctx, ticks, func(s Snapshot) { got <- s })

	l, err := Start(ctx, shortPlan(), []Target{{Path: "good", URL: srv.URL + "/good"}, {Path: "flaky", URL: srv.URL + "/flaky"}}, m)
	if err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	ticks <- t1
	mid := <-got
	res, err := l.Wait()
	if err != nil {
		t.Fatal(err)
	}
	ticks <- t1.Add(time.Second)
	end := <-got

	if len(end.Paths) != 3 || end.Paths[0].Path != "flaky" || end.Paths[1].Path != "good" || end.Paths[2].Path != "idle" {
		t.Fatalf("paths %+v, want flaky, good, idle in order", end.Paths)
	}
	total := 0
	for i, p := range end.Paths {
		st := res.Paths[p.Path]
		sent, failed := 0, 0
		if st != nil {
			sent, failed = st.Sent, st.FailedAll
		}
		if a := mid.Paths[i].Answered + p.Answered; a != sent || p.AnsweredTotal != sent {
			t.Errorf("%s: answered %d+%d (total %d), the run recorded %d", p.Path, mid.Paths[i].Answered, p.Answered, p.AnsweredTotal, sent)
		}
		if f := mid.Paths[i].Failed + p.Failed; f != failed || p.FailedTotal != failed {
			t.Errorf("%s: failed %d+%d (total %d), the run recorded %d", p.Path, mid.Paths[i].Failed, p.Failed, p.FailedTotal, failed)
		}
		if p.Interval != time.Second || p.Rate() != float64(p.Answered) {
			t.Errorf("%s: interval %s rate %.1f, want 1s and %d/s", p.Path, p.Interval, p.Rate(), p.Answered)
		}
		total += sent
	}
	if res.Paths["flaky"].FailedAll == 0 || res.Paths["good"].FailedAll != 0 || res.Paths["good"].Sent == 0 {
		t.Fatalf("the server did not fail half of flaky's requests only: %+v %+v", res.Paths["flaky"], res.Paths["good"])
	}
	var log bytes.Buffer
	slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})).Info("load", end.LogAttrs()...)
	f := end.Paths[0]
	if want := fmt.Sprintf("level=INFO msg=load flaky.rate=%d flaky.failed=%d", f.Answered, f.FailedTotal); !strings.HasPrefix(log.String(), want) {
		t.Errorf("logged %q, want it to begin %q", log.String(), want)
	}
	if int(passed.Load()) != total {
		t.Fatalf("the meter passed on %d records of %d", passed.Load(), total)
	}
}
