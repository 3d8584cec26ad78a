package outcome

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Schema names the outcome format; bump it on an incompatible change.
// Fields are only ever added within a version, so older files still read.
const Schema = "zerodrop.outcome/v1"

// Outcome is everything one scenario produced. It is written as soon as the
// scenario starts (Complete false) and rewritten when it ends.
type Outcome struct {
	Schema      string       `json:"schema"`
	Scenario    ScenarioInfo `json:"scenario"`
	Environment Environment  `json:"environment"`
	Started     time.Time    `json:"started"`
	Ended       time.Time    `json:"ended,omitempty"`
	Complete    bool         `json:"complete"`
	Load        *LoadResult  `json:"load,omitempty"`
	// MeasuredFrom is when the load was warm on every path: the verdict judges
	// requests from then on; WarmupFailures before it are reported, not judged.
	MeasuredFrom   time.Time `json:"measuredFrom,omitempty"`
	WarmupFailures int       `json:"warmupFailures,omitempty"`
	// Window counts, per path, the requests the verdict judged.
	Window   *Window         `json:"window,omitempty"`
	Failures []Record        `json:"failures,omitempty"`
	Timeline []Event         `json:"timeline,omitempty"`
	Server   ServerCounts    `json:"server"`
	Tail     map[string]Tail `json:"propagationTail,omitempty"` // per path
	Verdict  Verdict         `json:"verdict"`
	// Cells are the verdicts per client (new connections, keep-alive), each
	// against its own expectation; Verdict folds them.
	Cells []Cell `json:"cells,omitempty"`
	// Disruption is what was done, when, and what it verified it did.
	Disruption *Span `json:"disruption,omitempty"`
	// Reconciliation is each path's count: scheduled, results, ok, failed, on disk.
	Reconciliation []PathCount `json:"reconciliation,omitempty"`
	// Stalls are stretches without a success inside the disruption span.
	Stalls []Stall `json:"stalls,omitempty"`
	// Attribution counts each path's judged failures by what they point at.
	Attribution map[string]map[Attribution]int `json:"attribution,omitempty"`
	// Saturation compares each path's latency before the first termination with its baseline.
	Saturation []Saturation `json:"saturation,omitempty"`
	// InSpan counts each path's requests inside the disruption span.
	InSpan map[string]int `json:"inSpan,omitempty"`
	// Phases are the runner's phases in order, with their timings: where the
	// harness spent the scenario's time.
	Phases []Phase `json:"phases,omitempty"`
	// RecordsFile is the raw request records beside this file (JSON lines).
	RecordsFile string `json:"recordsFile,omitempty"`
}

// ScenarioInfo says what ran.
type ScenarioInfo struct {
	ID         string   `json:"id"`
	Workload   string   `json:"workload"` // the controller kind: Deployment, StatefulSet, CloneSet
	Profile    Profile  `json:"profile"`
	Disruption string   `json:"disruption"`
	Paths      []string `json:"paths"`
	Namespace  string   `json:"namespace"`
	// Trial numbers a repeat of the same scenario (0: not repeated).
	Trial int `json:"trial,omitempty"`
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
	// Entries says where host-side load entered, per path: the node's own
	// address, or a 127.0.0.1 port mapping (Docker's userland proxy is then
	// part of the path).
	Entries map[string]string `json:"entries,omitempty"`
}

// ServerCounts is the app's own count of the requests it served, to
// cross-check the load's successes.
type ServerCounts struct {
	PerPod map[string]map[string]int64 `json:"perPod,omitempty"` // pod -> path -> served
	Total  map[string]int64            `json:"total,omitempty"`  // path -> served
	// Complete is true when every pod that served reported its count.
	Complete bool `json:"complete"`
	// Verified is true when every pod reported and the totals equal the load's successes.
	Verified bool   `json:"verified"`
	Note     string `json:"note,omitempty"`
	// Disagree says, per path, how the app's count differs from the load's
	// successes (paths that agree are absent).
	Disagree map[string]string `json:"disagree,omitempty"`
	// Retries says, for paths with hidden retries, that the app saw each
	// retried request once (its first try never reached it: safe to retry).
	Retries []string `json:"retries,omitempty"`
	// Lost counts, per path, the requests the app served whose answers the
	// load never got: lost on the way back to the client.
	Lost map[string]int64 `json:"lost,omitempty"`
}

// only is the cross-check of some paths.
func (sc ServerCounts) only(keep map[string]bool) ServerCounts {
	if !sc.Complete {
		return sc
	}
	out := sc
	out.Disagree = map[string]string{}
	var notes []string
	for _, p := range sortedKeys(sc.Disagree) {
		if keep[p] {
			out.Disagree[p] = sc.Disagree[p]
			notes = append(notes, p+": "+sc.Disagree[p])
		}
	}
	out.Lost = nil
	for p, n := range sc.Lost {
		if keep[p] {
			if out.Lost == nil {
				out.Lost = map[string]int64{}
			}
			out.Lost[p] = n
		}
	}
	out.Verified = len(out.Disagree) == 0
	out.Note = strings.Join(notes, "; ")
	return out
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

// Phase is one runner phase as it ran.
type Phase struct {
	Name     string        `json:"name"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"durationNs"`
	Error    string        `json:"error,omitempty"`
}

// Write stores the outcome atomically as outcome.json in dir.
func (o *Outcome) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("outcome: %w", err)
	}
	raw, err := json.MarshalIndent(o, "", "  ")
	if err != nil {
		return fmt.Errorf("outcome: %w", err)
	}
	tmp := filepath.Join(dir, ".outcome.json.tmp")
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return fmt.Errorf("outcome: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "outcome.json")); err != nil {
		return fmt.Errorf("outcome: %w", err)
	}
	return nil
}

// Read loads an outcome.json and checks its schema.
func Read(path string) (*Outcome, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("outcome: %w", err)
	}
	var o Outcome
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("outcome: %s: %w", path, err)
	}
	if o.Schema != Schema {
		return nil, fmt.Errorf("outcome: %s: schema %q, this zerodrop reads %q", path, o.Schema, Schema)
	}
	return &o, nil
}

// ErrNoOutcomes is returned by LoadDirs when the directories hold none.
var ErrNoOutcomes = fmt.Errorf("outcome: no outcome.json found")

// LoadDirs reads every outcome.json below the given directories, sorted by scenario.
func LoadDirs(dirs ...string) ([]*Outcome, error) {
	var out []*Outcome
	for _, d := range dirs {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if e.IsDir() || e.Name() != "outcome.json" {
				return nil
			}
			o, err := Read(p)
			if err != nil {
				return err
			}
			out = append(out, o)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("outcome: %w", err)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w under %s", ErrNoOutcomes, strings.Join(dirs, ", "))
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Scenario, out[j].Scenario
		return a.ID < b.ID || a.ID == b.ID && a.Trial < b.Trial
	})
	return out, nil
}
