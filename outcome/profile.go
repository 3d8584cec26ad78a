package outcome

import "time"

// Profile is a graceful-shutdown configuration as recorded: what the
// workload's pods did between deletion and exit. The fixture's presets fill
// it from their definition; a user's workload from its pod template.
type Profile struct {
	Name           string `json:"name"`
	PreStop        string `json:"preStop"` // none, exec, sleep
	PreStopSeconds int    `json:"preStopSeconds,omitempty"`
	// OnTerm is what the app does on SIGTERM: exit, ignore or drain=D ("" unknown).
	OnTerm           string        `json:"onSigterm"`
	FailReadyOnDrain bool          `json:"failReadinessOnDrain,omitempty"`
	GraceSeconds     int64         `json:"terminationGracePeriodSeconds"`
	AllowSIGKILL     bool          `json:"allowSigkill,omitempty"`
	Readiness        *Readiness    `json:"readiness,omitempty"`
	Strategy         Strategy      `json:"strategy"`
	Replicas         int32         `json:"replicas"`
	StartupDelay     time.Duration `json:"startupDelay,omitempty"`
	// Latency is what the app takes to answer a request.
	Latency time.Duration `json:"latency,omitempty"`
	// SlowEvery and SlowLatency: every SlowEvery-th request takes SlowLatency.
	SlowEvery   int           `json:"slowEvery,omitempty"`
	SlowLatency time.Duration `json:"slowLatency,omitempty"`
	Expect      Expectation   `json:"expect"`
	// ExpectKeepAlive is the expectation for keep-alive clients ("": Expect).
	ExpectKeepAlive Expectation `json:"expectKeepAlive,omitempty"`
	// ExpectStreams is the expectation for long-lived streams ("": Expect).
	ExpectStreams Expectation `json:"expectStreams,omitempty"`
	// Sidecar is the proxy in front of the app, if any.
	Sidecar *Sidecar `json:"sidecar,omitempty"`
}

// Sidecar is a proxy sidecar in front of the app, as recorded.
type Sidecar struct {
	Mode           string `json:"mode"`      // classic (a regular container), native (restartable init container) or sidecarset (injected by OpenKruise)
	OnTerm         string `json:"onSigterm"` // exit, ignore or drain=D
	PreStop        string `json:"preStop,omitempty"`
	PreStopSeconds int    `json:"preStopSeconds,omitempty"`
	// FailReadyOnDrain: the proxy's readiness fails once it drains.
	FailReadyOnDrain bool `json:"failReadinessOnDrain,omitempty"`
}

// Readiness is the readiness probe on the app.
type Readiness struct {
	PeriodSeconds    int32 `json:"periodSeconds"`
	FailureThreshold int32 `json:"failureThreshold"`
}

// Strategy is the rollout strategy.
type Strategy struct {
	MaxSurge                string `json:"maxSurge,omitempty"`
	MaxUnavailable          string `json:"maxUnavailable,omitempty"`
	MinReadySeconds         int32  `json:"minReadySeconds,omitempty"`
	ProgressDeadlineSeconds int32  `json:"progressDeadlineSeconds,omitempty"`
	InPlaceGraceSeconds     int32  `json:"inPlaceGraceSeconds,omitempty"`
	// PodManagementPolicy is a StatefulSet's: OrderedReady, or Parallel
	// (zerodrop's default, "" here).
	PodManagementPolicy string `json:"podManagementPolicy,omitempty"`
}

// Expectation is a named expected outcome.
type Expectation string

const (
	ExpectPass Expectation = "pass" // zero failed requests
	ExpectFail Expectation = "fail" // a negative control: must drop requests
	// ExpectBlocked: the disruption must be refused (a PodDisruptionBudget
	// that allows nothing), reported as its own outcome.
	ExpectBlocked Expectation = "blocked"
	// ExpectStuck: the rollout must get stuck (ProgressDeadlineExceeded)
	// and be rolled back with zero failed requests, reported as its own
	// outcome.
	ExpectStuck Expectation = "stuck"
	// ExpectRisk: the configuration can drop requests, but only the few in
	// flight at a moment (an exit under pooled connections), so one trial
	// may see none. A valid run is as expected whether it drops requests
	// or not; it is never read as safe, and the report counts what it
	// dropped. Repeat trials to see the rate.
	ExpectRisk Expectation = "at-risk"
)
