// Package reports holds the versioned outcome schema every scenario writes,
// and renders outcomes into reports without a cluster.
package reports

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/load"
)

// Schema names the outcome format; bump it on an incompatible change.
const Schema = "zerodrop.outcome/v1"

// Result is a scenario's verdict.
type Result string

const (
	Pass    Result = "pass"    // zero failed requests, disruption really happened, traffic really flowed
	Fail    Result = "fail"    // requests failed
	Invalid Result = "invalid" // no evidence either way (generator saturated, traffic never reached a pod, ...)
	Error   Result = "error"   // the scenario could not run (disruption failed, cluster error)
)

// Outcome is everything one scenario produced. It is written as soon as the
// scenario starts (Complete false) and rewritten when it ends.
type Outcome struct {
	Schema      string       `json:"schema"`
	Scenario    ScenarioInfo `json:"scenario"`
	Environment Environment  `json:"environment"`
	Started     time.Time    `json:"started"`
	Ended       time.Time    `json:"ended,omitempty"`
	Complete    bool         `json:"complete"`
	Load        *load.Result `json:"load,omitempty"`
	// MeasuredFrom is when the load was warm on every path: the verdict judges
	// requests from then on; WarmupFailures before it are reported, not judged.
	MeasuredFrom   time.Time `json:"measuredFrom,omitempty"`
	WarmupFailures int       `json:"warmupFailures,omitempty"`
	// Window counts, per path, the requests the verdict judged.
	Window   *Window         `json:"window,omitempty"`
	Failures []load.Record   `json:"failures,omitempty"`
	Timeline []chaos.Event   `json:"timeline,omitempty"`
	Server   ServerCounts    `json:"server"`
	Tail     map[string]Tail `json:"propagationTail,omitempty"` // per path
	Verdict  Verdict         `json:"verdict"`
	// RecordsFile is the raw request records beside this file (JSON lines).
	RecordsFile string `json:"recordsFile,omitempty"`
}

// ScenarioInfo says what ran.
type ScenarioInfo struct {
	ID         string           `json:"id"`
	Workload   fixtures.Kind    `json:"workload"`
	Profile    fixtures.Profile `json:"profile"`
	Disruption string           `json:"disruption"`
	Paths      []string         `json:"paths"`
	Namespace  string           `json:"namespace"`
}

// Environment is where it ran.
type Environment struct {
	Mode              string            `json:"mode"`
	Cluster           string            `json:"cluster"`
	NodeImage         string            `json:"nodeImage"`
	KubernetesVersion string            `json:"kubernetesVersion"`
	KindVersion       string            `json:"kindVersion,omitempty"`
	KubeProxyMode     string            `json:"kubeProxyMode"`
	Images            map[string]string `json:"images,omitempty"`
	Controllers       map[string]string `json:"controllers,omitempty"`
}

// ServerCounts is the fixture's own count of the requests it served, to
// cross-check the load's successes.
type ServerCounts struct {
	PerPod map[string]map[string]int64 `json:"perPod,omitempty"` // pod -> path -> served
	Total  map[string]int64            `json:"total,omitempty"`  // path -> served
	// Complete is true when every pod that served reported its count.
	Complete bool `json:"complete"`
	// Verified is true when every pod reported and the totals equal the load's successes.
	Verified bool   `json:"verified"`
	Note     string `json:"note,omitempty"`
}

// Tail is the measured propagation tail of one path: how long after SIGTERM
// (and after the endpoint left the ready set) a terminating pod still got
// requests. It is the basis for a preStop recommendation.
type Tail struct {
	FromSIGTERM         time.Duration `json:"fromSigtermNs"`
	FromEndpointRemoval time.Duration `json:"fromEndpointRemovalNs"`
	Pod                 string        `json:"pod,omitempty"`
	Pods                int           `json:"pods"` // terminating pods measured
}

// Verdict is the scenario's result and whether it is what the profile expects.
type Verdict struct {
	Result   Result               `json:"result"`
	Reason   string               `json:"reason"`
	Expected fixtures.Expectation `json:"expected"`
	// AsExpected: pass for a pass profile, fail for a negative control. A
	// control that passes means the instrument is blind.
	AsExpected bool `json:"asExpected"`
}

// Write stores the outcome atomically as outcome.json in dir.
func (o *Outcome) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	raw, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	tmp := filepath.Join(dir, ".outcome.json.tmp")
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	return os.Rename(tmp, filepath.Join(dir, "outcome.json"))
}

// Read loads an outcome.json and checks its schema.
func Read(path string) (*Outcome, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	var o Outcome
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("reports: %s: %w", path, err)
	}
	if o.Schema != Schema {
		return nil, fmt.Errorf("reports: %s: schema %q, this zerodrop reads %q", path, o.Schema, Schema)
	}
	return &o, nil
}
