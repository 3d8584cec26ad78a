package outcome

import "time"

// LoadResult is a finished load: per-path totals and series, and whether the
// run is valid evidence at all.
type LoadResult struct {
	Plan    Plan                  `json:"plan"`
	Targets []Target              `json:"targets"`
	Started time.Time             `json:"started"`
	Ended   time.Time             `json:"ended"`
	Paths   map[string]*PathStats `json:"paths"`
	Valid   bool                  `json:"valid"`
	// Invalid says why the run is no evidence (generator saturated, lost results, ...).
	Invalid []string `json:"invalid,omitempty"`
}

// Sent is the total number of requests on every path.
func (r *LoadResult) Sent() (n int) {
	for _, p := range r.Paths {
		n += p.Sent
	}
	return n
}

// Failures is the total number of failed requests on every path.
func (r *LoadResult) Failures() (n int) {
	for _, p := range r.Paths {
		n += p.FailedAll
	}
	return n
}

// Plan is the load that was planned, as recorded.
type Plan struct {
	Rate           int           `json:"rate"` // requests per second, per target
	Duration       time.Duration `json:"duration"`
	MaxDuration    time.Duration `json:"maxDuration"`
	Timeout        time.Duration `json:"timeout"`
	KeepAlive      bool          `json:"keepAlive"`
	MaxConnections int           `json:"maxConnections,omitempty"`
	Workers        uint64        `json:"workers,omitempty"`
	MaxWorkers     uint64        `json:"maxWorkers,omitempty"`
	PodHeader      string        `json:"podHeader,omitempty"`
	MinRateRatio   float64       `json:"minRateRatio,omitempty"`
	// ConnLifetime is how long a keep-alive pool kept each connection (0: until the load stopped).
	ConnLifetime time.Duration `json:"connLifetimeNs,omitempty"`
	// Streams is the plan of the stream paths (nil: none). Rate and the
	// request fields above do not apply to them.
	Streams *StreamPlan `json:"streams,omitempty"`
}

// Target is one traffic path.
type Target struct {
	Path string `json:"path"` // label: nodeport, ingress, gateway, clusterip
	URL  string `json:"url"`
	Host string `json:"host,omitempty"` // Host header, for ingress routing
	// KeepAlive keeps connections open across requests, in a pool of Pool
	// connections (default 1).
	KeepAlive bool `json:"keepAlive,omitempty"`
	Pool      int  `json:"pool,omitempty"`
	// ExpectStatus, when set, is the only status that counts as a success
	// (otherwise any 2xx or 3xx).
	ExpectStatus int `json:"expectStatus,omitempty"`
	// Stream is the protocol of a stream path ("" for requests).
	Stream StreamKind `json:"stream,omitempty"`
}

// PathStats are one path's totals and series. On a stream path every
// session counts as one request: Scheduled are the sessions opened, Sent
// those recorded, Pods the ok sessions per pod, Last the end of the last
// session (so a path whose streams stayed open through a disruption counts
// as loaded until they closed), and the series' latencies are the times to
// the first message; Stream holds the rest.
type PathStats struct {
	Path string `json:"path"`
	// Scheduled is how many requests the generator scheduled (its sequence
	// numbers); Sent how many results it recorded.
	Scheduled int            `json:"scheduled"`
	Sent      int            `json:"sent"`
	OK        int            `json:"ok"`
	Failed    map[Class]int  `json:"failed"`
	FailedAll int            `json:"failedTotal"`
	NewConns  int            `json:"newConns"`
	Reused    int            `json:"reusedConns"`
	Pods      map[string]int `json:"pods"` // answers per pod
	First     time.Time      `json:"first"`
	Last      time.Time      `json:"last"`
	Planned   int            `json:"plannedRate"`
	Achieved  float64        `json:"achievedRate"`
	MaxLag    time.Duration  `json:"maxLagNs"` // worst delay of a request behind its schedule
	Series    []*Second      `json:"series"`
	// Stream is set on a stream path.
	Stream *StreamStats `json:"stream,omitempty"`
}

// Second is one second of one path's series.
type Second struct {
	At       time.Time      `json:"at"` // start of the second (unix-aligned)
	Sent     int            `json:"sent"`
	OK       int            `json:"ok"`
	Failed   map[Class]int  `json:"failed,omitempty"`
	P50      time.Duration  `json:"p50Ns"`
	P99      time.Duration  `json:"p99Ns"`
	Versions map[string]int `json:"versions,omitempty"` // answers per X-Pod-Version
}
