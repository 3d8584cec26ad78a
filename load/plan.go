// Package load drives constant-rate HTTP load on vegeta's library and
// accounts for every request: each scheduled request gets exactly one Record
// (streamed to disk as it arrives), failures are classified, and a run whose
// generator could not keep the planned rate is marked invalid — never a pass.
//
// StartStreams holds long-lived SSE and WebSocket connections open instead,
// with the same accounting: each session (one connection from open to end)
// is one Record, judged by how it ended (see Streams).
package load

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// Plan is the load to drive. Every run is bounded: Duration, or MaxDuration
// when Duration is 0 (run until stopped).
type Plan struct {
	Rate        int           `json:"rate"`        // requests per second, per target
	Duration    time.Duration `json:"duration"`    // 0: until Stop, bounded by MaxDuration
	MaxDuration time.Duration `json:"maxDuration"` // hard bound (default 15m)
	Timeout     time.Duration `json:"timeout"`     // per request (default 5s)
	KeepAlive   bool          `json:"keepAlive"`
	// MaxConnections caps open connections per target (0: no cap).
	MaxConnections int `json:"maxConnections,omitempty"`
	// Workers is vegeta's initial worker count; MaxWorkers caps it (0: default 10000).
	Workers    uint64 `json:"workers,omitempty"`
	MaxWorkers uint64 `json:"maxWorkers,omitempty"`
	// PodHeader names the response header that says which pod answered.
	PodHeader string `json:"podHeader,omitempty"`
	// MinRateRatio below which the run is invalid (default 0.99).
	MinRateRatio float64 `json:"minRateRatio,omitempty"`
	// ConnLifetime, when set, is how long a keep-alive pool keeps its
	// connections: each member closes its idle ones every ConnLifetime,
	// and its next request dials anew (as clients with a connection
	// time-to-live do; one busy then goes the next time). 0: for ever.
	ConnLifetime time.Duration `json:"connLifetime,omitempty"`
}

// Target is one traffic path.
type Target = outcome.Target

// Record returns the plan as the outcome records it.
func (p Plan) Record() outcome.Plan {
	return outcome.Plan{Rate: p.Rate, Duration: p.Duration, MaxDuration: p.MaxDuration, Timeout: p.Timeout, KeepAlive: p.KeepAlive,
		MaxConnections: p.MaxConnections, Workers: p.Workers, MaxWorkers: p.MaxWorkers, PodHeader: p.PodHeader, MinRateRatio: p.MinRateRatio,
		ConnLifetime: p.ConnLifetime}
}

// PathHeader carries the path label to the server, which counts per label.
const PathHeader = "X-Zerodrop-Path"

// Defaults fills unset fields.
func (p Plan) Defaults() Plan {
	if p.MaxDuration == 0 {
		p.MaxDuration = 15 * time.Minute
	}
	if p.Timeout == 0 {
		p.Timeout = 5 * time.Second
	}
	if p.PodHeader == "" {
		p.PodHeader = "X-Pod-Name"
	}
	if p.MinRateRatio == 0 {
		p.MinRateRatio = 0.99
	}
	if p.Workers == 0 {
		p.Workers = 10
	}
	if p.MaxWorkers == 0 {
		p.MaxWorkers = 10000
	}
	return p
}

// Validate names the field and the fix.
func (p Plan) Validate(targets []Target) error {
	var errs []error
	if p.Rate < 1 || p.Rate > 20000 {
		errs = append(errs, fmt.Errorf("load.rate %d: use 1 to 20000 requests per second", p.Rate))
	}
	if p.Duration < 0 {
		errs = append(errs, fmt.Errorf("load.duration %s: use a positive duration, or 0 to run until stopped", p.Duration))
	}
	if p.MaxDuration <= 0 || p.MaxDuration > 2*time.Hour {
		errs = append(errs, fmt.Errorf("load.maxDuration %s: every run must be bounded: use up to 2h", p.MaxDuration))
	}
	if p.Duration > p.MaxDuration {
		errs = append(errs, fmt.Errorf("load.duration %s exceeds load.maxDuration %s", p.Duration, p.MaxDuration))
	}
	if p.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("load.timeout %s: use a positive duration such as 5s", p.Timeout))
	}
	if p.MinRateRatio <= 0 || p.MinRateRatio > 1 {
		errs = append(errs, fmt.Errorf("load.minRateRatio %v: use a ratio in (0, 1]", p.MinRateRatio))
	}
	if p.ConnLifetime < 0 {
		errs = append(errs, fmt.Errorf("load.connLifetime %s: use 0 (kept-alive connections live until the load stops) or a positive duration", p.ConnLifetime))
	}
	if p.Workers > p.MaxWorkers {
		errs = append(errs, fmt.Errorf("load.workers %d exceeds load.maxWorkers %d", p.Workers, p.MaxWorkers))
	}
	if len(targets) == 0 {
		errs = append(errs, errors.New("load.targets: give at least one target"))
	}
	seen := map[string]bool{}
	for i, t := range targets {
		u, err := url.Parse(t.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("load.targets[%d].url %q: use an absolute http(s) URL", i, t.URL))
		}
		if t.Path == "" || seen[t.Path] {
			errs = append(errs, fmt.Errorf("load.targets[%d].path %q: give each target a unique path label (nodeport, ingress, ...)", i, t.Path))
		}
		seen[t.Path] = true
	}
	return errors.Join(errs...)
}
