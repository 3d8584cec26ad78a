package load

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// StreamKind is the protocol of a stream target: SSE or WebSocket.
type StreamKind = outcome.StreamKind

// The stream kinds.
const (
	SSE       = outcome.SSE
	WebSocket = outcome.WebSocket
)

// The message intervals a server may be asked for (?interval=); the
// fixture refuses others (fixtures/server: MinStreamInterval,
// MaxStreamInterval; this package does not import the fixture).
const (
	minStreamInterval = 10 * time.Millisecond
	maxStreamInterval = 10 * time.Second
)

// StreamPlan is the stream load to hold: Conns connections open on every
// target at all times. When one ends, politely or not, its slot opens the
// next at once (after RetryDelay if it received nothing): that is the
// reconnect. Every run is bounded: Duration, or MaxDuration when Duration
// is 0 (run until stopped).
type StreamPlan struct {
	Conns int `json:"conns"` // open connections per target
	// Interval is the message interval asked of the server (?interval=,
	// default 100ms).
	Interval time.Duration `json:"interval"`
	// ConnectTimeout bounds the dial and the handshake (default 5s).
	ConnectTimeout time.Duration `json:"connectTimeout"`
	// StallTimeout is the longest wait for a session's next message
	// before it counts as a timeout (default 10 intervals, at least 5s): a
	// stream whose pod vanished without a reset would otherwise hang.
	StallTimeout time.Duration `json:"stallTimeout"`
	// RetryDelay is the pause before a slot reopens after a session that
	// received no message: refused, a failed handshake, or turned away at
	// once by a draining pod (default 100ms). A client retrying at once
	// would spin and flood the records.
	RetryDelay time.Duration `json:"retryDelay"`
	// OpenRate paces the first connections, per second per target
	// (default 1000): thousands of handshakes at once overflow listen
	// backlogs and measure the harness, not the pod. Reconnects are not
	// paced: a drain's burst of them is what is measured.
	OpenRate int `json:"openRate,omitempty"`
	// Lifetime, when set, is how long a client keeps a stream before it
	// ends it itself (politely where the protocol can: a WebSocket close
	// frame) and its slot reconnects: real clients end their sessions, and
	// a rainbow deployment waits for exactly that. 0: never.
	Lifetime    time.Duration `json:"lifetime,omitempty"`
	Duration    time.Duration `json:"duration"`    // 0: until Stop, bounded by MaxDuration
	MaxDuration time.Duration `json:"maxDuration"` // hard bound (default 15m)
	// PodHeader names the handshake's response header that says which pod
	// answered, used when the messages do not say (default X-Pod-Name).
	PodHeader string `json:"podHeader,omitempty"`
}

// StreamTarget is one stream path: a URL that serves server-sent events
// (Kind SSE) or a WebSocket (Kind WebSocket, http(s) or ws(s) URL).
type StreamTarget struct {
	Path string     `json:"path"`
	URL  string     `json:"url"`
	Host string     `json:"host,omitempty"` // Host header, for ingress routing
	Kind StreamKind `json:"kind"`
}

func (t StreamTarget) record() outcome.Target {
	return outcome.Target{Path: t.Path, URL: t.URL, Host: t.Host, Stream: t.Kind}
}

// Defaults fills unset fields.
func (p StreamPlan) Defaults() StreamPlan {
	if p.Interval == 0 {
		p.Interval = 100 * time.Millisecond
	}
	if p.ConnectTimeout == 0 {
		p.ConnectTimeout = 5 * time.Second
	}
	if p.StallTimeout == 0 {
		p.StallTimeout = max(10*p.Interval, 5*time.Second)
	}
	if p.RetryDelay == 0 {
		p.RetryDelay = 100 * time.Millisecond
	}
	if p.OpenRate == 0 {
		p.OpenRate = 1000
	}
	if p.MaxDuration == 0 {
		p.MaxDuration = 15 * time.Minute
	}
	if p.PodHeader == "" {
		p.PodHeader = "X-Pod-Name"
	}
	return p
}

// Record returns the plan as the outcome records it.
func (p StreamPlan) Record() outcome.Plan {
	return outcome.Plan{Duration: p.Duration, MaxDuration: p.MaxDuration, Timeout: p.ConnectTimeout, PodHeader: p.PodHeader,
		Streams: &outcome.StreamPlan{Conns: p.Conns, Interval: p.Interval, ConnectTimeout: p.ConnectTimeout,
			StallTimeout: p.StallTimeout, RetryDelay: p.RetryDelay, OpenRate: p.OpenRate, Lifetime: p.Lifetime}}
}

// maxStreamConns bounds the connections per target: each is a file
// descriptor on both ends, and a goroutine here.
const maxStreamConns = 20000

// Validate names the field and the fix.
func (p StreamPlan) Validate(targets []StreamTarget) error {
	var errs []error
	if p.Conns < 1 || p.Conns > maxStreamConns {
		errs = append(errs, fmt.Errorf("load.streams.conns %d: use 1 to %d open connections per target", p.Conns, maxStreamConns))
	}
	if p.Interval < minStreamInterval || p.Interval > maxStreamInterval {
		errs = append(errs, fmt.Errorf("load.streams.interval %s: use %s to %s", p.Interval, minStreamInterval, maxStreamInterval))
	}
	if p.ConnectTimeout <= 0 {
		errs = append(errs, fmt.Errorf("load.streams.connectTimeout %s: use a positive duration such as 5s", p.ConnectTimeout))
	}
	if p.StallTimeout <= p.Interval {
		errs = append(errs, fmt.Errorf("load.streams.stallTimeout %s: use more than the interval %s, such as 10 intervals", p.StallTimeout, p.Interval))
	}
	if p.RetryDelay <= 0 || p.RetryDelay > time.Minute {
		errs = append(errs, fmt.Errorf("load.streams.retryDelay %s: use a positive duration up to 1m, such as 100ms", p.RetryDelay))
	}
	if p.OpenRate < 1 || p.OpenRate > 100000 {
		errs = append(errs, fmt.Errorf("load.streams.openRate %d: use 1 to 100000 connections per second", p.OpenRate))
	}
	if p.Duration < 0 {
		errs = append(errs, fmt.Errorf("load.streams.duration %s: use a positive duration, or 0 to run until stopped", p.Duration))
	}
	if p.Lifetime < 0 || p.Lifetime > 0 && p.Lifetime <= p.Interval {
		errs = append(errs, fmt.Errorf("load.streams.lifetime %s: use 0 (streams last until the load stops) or more than the interval %s", p.Lifetime, p.Interval))
	}
	if p.MaxDuration <= 0 || p.MaxDuration > 2*time.Hour {
		errs = append(errs, fmt.Errorf("load.streams.maxDuration %s: every run must be bounded: use up to 2h", p.MaxDuration))
	}
	if p.Duration > p.MaxDuration {
		errs = append(errs, fmt.Errorf("load.streams.duration %s exceeds load.streams.maxDuration %s", p.Duration, p.MaxDuration))
	}
	if len(targets) == 0 {
		errs = append(errs, errors.New("load.streams.targets: give at least one target"))
	}
	seen := map[string]bool{}
	for i, t := range targets {
		schemes := map[string]bool{"http": true, "https": true}
		switch t.Kind {
		case SSE:
		case WebSocket:
			schemes["ws"], schemes["wss"] = true, true
		default:
			errs = append(errs, fmt.Errorf("load.streams.targets[%d].kind %q: use %q or %q", i, t.Kind, SSE, WebSocket))
		}
		u, err := url.Parse(t.URL)
		if err != nil || !schemes[u.Scheme] || u.Host == "" {
			errs = append(errs, fmt.Errorf("load.streams.targets[%d].url %q: use an absolute http(s) URL (ws(s) for a WebSocket)", i, t.URL))
		}
		if t.Path == "" || seen[t.Path] {
			errs = append(errs, fmt.Errorf("load.streams.targets[%d].path %q: give each target a unique path label (nodeport-sse, ...)", i, t.Path))
		}
		seen[t.Path] = true
	}
	return errors.Join(errs...)
}
