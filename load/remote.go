package load

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The in-cluster protocol. A load generator inside the cluster (for the
// ClusterIP path) runs the same engine behind an HTTP API; the harness reaches
// it through the API server's pod proxy:
//
//	POST /start   {"plan":..., "targets":[...], "streams":{"plan":..., "targets":[...]}}   409 if a run exists
//	POST /stop                                     ends scheduling (and closes the streams)
//	GET  /records?from=N                           JSON lines from record N on, following until the run ends
//	GET  /result                                   the Result once done (202 while running)
//	POST /spread  {"path":..., "pods":[...], "timeoutMs":N}   keep-alive pool, or stream sessions, onto every pod; {"missing":[...]}
//	GET  /live                                     stream sessions open and receiving: {"path":{"pod":n}}
//	GET  /healthz
//
// /records can be resumed at any offset, so a broken stream loses nothing.
// One run may drive requests, streams, or both: the records of both go
// through /records, the result merges them. A caller that sends no
// "streams" gets exactly the request run it always did.

// StartRequest is the body of POST /start: the request load (Plan and
// Targets, none for a stream-only run) and the stream load (Streams, nil
// for none).
type StartRequest struct {
	Plan    Plan           `json:"plan"`
	Targets []Target       `json:"targets"`
	Streams *StreamRequest `json:"streams,omitempty"`
}

// StreamRequest is the stream load of a StartRequest.
type StreamRequest struct {
	Plan    StreamPlan     `json:"plan"`
	Targets []StreamTarget `json:"targets"`
}

// Server runs loads for remote callers.
type Server struct {
	mu      sync.Mutex
	cond    *sync.Cond
	running bool
	load    *Load    // nil: the run drives no requests
	streams *Streams // nil: the run holds no streams
	lines   [][]byte // encoded records, in arrival order
	done    bool
	result  *Result
	lastErr error
}

// NewServer returns a server with no run.
func NewServer() *Server {
	s := &Server{}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// Handler serves the protocol.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /start", s.start)
	mux.HandleFunc("POST /stop", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		running, l, st := s.running, s.load, s.streams
		s.mu.Unlock()
		if !running {
			http.Error(w, "no run", http.StatusConflict)
			return
		}
		if l != nil {
			l.Stop()
		}
		if st != nil {
			st.Stop()
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /live", s.live)
	mux.HandleFunc("GET /records", s.records)
	mux.HandleFunc("GET /result", s.resultHandler)
	mux.HandleFunc("POST /spread", s.spread)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	var req StartRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "start: "+err.Error(), http.StatusBadRequest)
		return
	}
	if len(req.Targets) == 0 && req.Streams == nil {
		http.Error(w, "start: give request targets, stream targets, or both", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		http.Error(w, "a run exists; start a new load generator for another", http.StatusConflict)
		return
	}
	sink := SinkFunc(func(rec Record) error {
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.lines = append(s.lines, b)
		s.mu.Unlock()
		s.cond.Broadcast()
		return nil
	})
	// both validated before either starts: a refused run starts nothing
	var errs []error
	if len(req.Targets) > 0 {
		errs = append(errs, req.Plan.Defaults().Validate(req.Targets))
	}
	if req.Streams != nil {
		errs = append(errs, req.Streams.Plan.Defaults().Validate(req.Streams.Targets))
	}
	if err := errors.Join(errs...); err != nil {
		http.Error(w, "load: "+err.Error(), http.StatusBadRequest)
		return
	}
	var l *Load
	var st *Streams
	var err error
	if len(req.Targets) > 0 {
		if l, err = Start(context.Background(), req.Plan, req.Targets, sink); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	if req.Streams != nil {
		if st, err = StartStreams(context.Background(), req.Streams.Plan, req.Streams.Targets, sink); err != nil {
			if l != nil {
				l.Stop()
			}
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	s.running, s.load, s.streams = true, l, st
	go func() {
		res, err := waitBoth(l, st)
		s.mu.Lock()
		s.result, s.lastErr, s.done = res, err, true
		s.mu.Unlock()
		s.cond.Broadcast()
	}()
	w.WriteHeader(http.StatusAccepted)
}

// waitBoth waits for the request load and the streams of a run (either
// may be nil) and merges their results.
func waitBoth(l *Load, st *Streams) (*Result, error) {
	var parts []*Result
	var errs []error
	if l != nil {
		res, err := l.Wait()
		parts, errs = append(parts, res), append(errs, err)
	}
	if st != nil {
		res, err := st.Wait()
		parts, errs = append(parts, res), append(errs, err)
	}
	if len(parts) == 1 {
		return parts[0], errs[0]
	}
	return Merge(parts...), errors.Join(errs...)
}

func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	running, st := s.running, s.streams
	s.mu.Unlock()
	if !running {
		http.Error(w, "no run", http.StatusConflict)
		return
	}
	live := map[string]map[string]int{}
	if st != nil {
		live = st.Live()
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(live)
}

// recordsBatch is how long the records stream gathers records before it
// sends them: one chunk every 50 ms instead of one per record costs the API
// server's proxy (which carries the stream, over TLS) a fraction of the CPU.
const recordsBatch = 50 * time.Millisecond

func (s *Server) records(w http.ResponseWriter, r *http.Request) {
	from, _ := strconv.Atoi(r.URL.Query().Get("from"))
	if from < 0 {
		from = 0
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	var out io.Writer = w
	flush := func() {}
	if fl, ok := w.(http.Flusher); ok {
		flush = fl.Flush
	}
	// gzip, when the client takes it (Go's transport asks on its own and
	// decodes transparently): JSON records shrink about tenfold
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		defer zw.Close()
		out = zw
		httpFlush := flush
		flush = func() { zw.Flush(); httpFlush() }
	}
	// wake the waiter when the client goes away
	stop := context.AfterFunc(r.Context(), func() { s.cond.Broadcast() })
	defer stop()
	for {
		s.mu.Lock()
		for from >= len(s.lines) && !s.done && r.Context().Err() == nil {
			s.cond.Wait()
		}
		if !s.done {
			s.mu.Unlock()
			select {
			case <-time.After(recordsBatch):
			case <-r.Context().Done():
			}
			s.mu.Lock()
		}
		batch := s.lines[min(from, len(s.lines)):]
		done := s.done
		s.mu.Unlock()
		if r.Context().Err() != nil {
			return
		}
		for _, b := range batch {
			out.Write(b)
			out.Write([]byte{'\n'})
		}
		from += len(batch)
		flush()
		if done && len(batch) == 0 {
			return
		}
	}
}

// SpreadRequest is the body of POST /spread.
type SpreadRequest struct {
	Path      string   `json:"path"`
	Pods      []string `json:"pods"`
	TimeoutMs int      `json:"timeoutMs"`
}

// SpreadResponse is its answer: the pods no pooled connection holds.
type SpreadResponse struct {
	Missing []string `json:"missing"`
}

func (s *Server) spread(w http.ResponseWriter, r *http.Request) {
	var req SpreadRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, "spread: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	running, l, st := s.running, s.load, s.streams
	s.mu.Unlock()
	if !running {
		http.Error(w, "no run", http.StatusConflict)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), time.Duration(req.TimeoutMs)*time.Millisecond)
	defer cancel()
	var missing []string
	var err error
	switch {
	case st != nil && st.has(req.Path):
		missing, err = st.Spread(ctx, req.Path, req.Pods)
	case l != nil:
		missing, err = l.Spread(ctx, req.Path, req.Pods)
	default:
		err = fmt.Errorf("load: no path %q", req.Path)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(SpreadResponse{Missing: missing})
}

func (s *Server) resultHandler(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case !s.running:
		http.Error(w, "no run", http.StatusNotFound)
	case !s.done:
		w.WriteHeader(http.StatusAccepted)
	default:
		w.Header().Set("Content-Type", "application/json")
		if s.lastErr != nil {
			w.Header().Set("X-Zerodrop-Error", s.lastErr.Error())
		}
		json.NewEncoder(w).Encode(s.result)
	}
}

// Remote drives a load generator through its HTTP API.
type Remote struct {
	// Base is the generator's URL, e.g. the API server's pod proxy URL.
	Base   string
	Client *http.Client
}

// Start begins a run of requests on the generator.
func (c Remote) Start(ctx context.Context, plan Plan, targets []Target) error {
	return c.StartRun(ctx, StartRequest{Plan: plan, Targets: targets})
}

// StartRun begins a run of requests, streams, or both on the generator.
func (c Remote) StartRun(ctx context.Context, req StartRequest) error {
	body, _ := json.Marshal(req)
	return c.post(ctx, "/start", body)
}

// Live returns the generator's stream sessions open and receiving, per
// path and pod (see Streams.Live): its streams are warm when every path
// holds the plan's connections, on every pod.
func (c Remote) Live(ctx context.Context) (map[string]map[string]int, error) {
	live := map[string]map[string]int{}
	return live, c.call(ctx, http.MethodGet, "/live", nil, &live)
}

// Spread makes the generator's keep-alive pool of a path hold a connection
// to every pod of want; it returns the pods it could not reach in time.
func (c Remote) Spread(ctx context.Context, path string, want []string, timeout time.Duration) ([]string, error) {
	var sr SpreadResponse
	err := c.call(ctx, http.MethodPost, "/spread", SpreadRequest{Path: path, Pods: want, TimeoutMs: int(timeout / time.Millisecond)}, &sr)
	return sr.Missing, err
}

// call sends in (JSON, when not nil) to the generator's endpoint and
// decodes its JSON answer into out; any status but 200 is an error.
func (c Remote) call(ctx context.Context, method, endpoint string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("load: remote %s: %w", endpoint, err)
		}
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+endpoint, body)
	if err != nil {
		return fmt.Errorf("load: remote: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Client.Do(req)
	if err != nil {
		return fmt.Errorf("load: remote %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("load: remote %s: %s: %s", endpoint, resp.Status, bytes.TrimSpace(msg))
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("load: remote %s: %w", endpoint, err)
	}
	return nil
}

// Stop ends scheduling on the generator.
func (c Remote) Stop(ctx context.Context) error { return c.post(ctx, "/stop", nil) }

func (c Remote) post(ctx context.Context, path string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("load: remote: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Client.Do(req)
	if err != nil {
		return fmt.Errorf("load: remote %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("load: remote %s: %s: %s", path, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// Follow streams every record into sink, resuming after a broken stream at
// the next record, until the run ends. It returns how many records it saw.
func (c Remote) Follow(ctx context.Context, sink Sink) (int, error) {
	n, failures := 0, 0
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/records?from=%d", c.Base, n), nil)
		if err != nil {
			return n, fmt.Errorf("load: remote: %w", err)
		}
		resp, err := c.Client.Do(req)
		if err == nil && resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			err = fmt.Errorf("status %s", resp.Status)
		}
		if err != nil {
			if failures++; failures > 30 || ctx.Err() != nil {
				return n, fmt.Errorf("load: remote records from %d: %w", n, err)
			}
			time.Sleep(time.Second)
			continue
		}
		complete := true
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var rec Record
			if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
				complete = false // a cut line: resume at it
				break
			}
			if err := sink.Write(rec); err != nil {
				resp.Body.Close()
				return n, err
			}
			n++
		}
		if sc.Err() != nil {
			complete = false
		}
		resp.Body.Close()
		if complete {
			// the server ends the stream only when the run is done; make sure
			done, err := c.done(ctx)
			if err == nil && done {
				return n, nil
			}
		}
		if failures++; failures > 30 || ctx.Err() != nil {
			return n, fmt.Errorf("load: remote records stream kept breaking at %d", n)
		}
	}
}

func (c Remote) done(ctx context.Context) (bool, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/result", nil)
	resp, err := c.Client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// Result fetches the finished run's result.
func (c Remote) Result(ctx context.Context) (*Result, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/result", nil)
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("load: remote result: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("load: remote result: %s", resp.Status)
	}
	var r Result
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, fmt.Errorf("load: remote result: %w", err)
	}
	if e := resp.Header.Get("X-Zerodrop-Error"); e != "" {
		return &r, errors.New("load: remote: " + e)
	}
	return &r, nil
}

// Merge combines results of runs over disjoint paths (the host's and the
// in-cluster generator's) into one: the run is valid only if every part is.
func Merge(parts ...*Result) *Result {
	out := &Result{Paths: map[string]*PathStats{}, Valid: true}
	for i, p := range parts {
		if p == nil {
			continue
		}
		if i == 0 || p.Started.Before(out.Started) {
			out.Started = p.Started
		}
		if p.Ended.After(out.Ended) {
			out.Ended = p.Ended
		}
		// a stream-only part keeps the request plan and adds its own
		streams := out.Plan.Streams
		if p.Plan.Rate > 0 || p.Plan.Streams == nil {
			out.Plan = p.Plan
		}
		if p.Plan.Streams != nil {
			streams = p.Plan.Streams
		}
		out.Plan.Streams = streams
		out.Targets = append(out.Targets, p.Targets...)
		for k, v := range p.Paths {
			out.Paths[k] = v
		}
		out.Invalid = append(out.Invalid, p.Invalid...)
		out.Valid = out.Valid && p.Valid
	}
	return out
}
