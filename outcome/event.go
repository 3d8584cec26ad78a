package outcome

import "time"

// Event is one timestamped thing on the scenario's single time axis (kind
// nodes share the host clock, so the cluster's and the load's times compare).
type Event struct {
	Time   time.Time `json:"time"`
	Source string    `json:"source"` // harness, pod, endpoint, node, app, sidecar, k8s
	Kind   string    `json:"kind"`
	Pod    string    `json:"pod,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Sources of timeline events.
const (
	SourceHarness  = "harness"
	SourcePod      = "pod"
	SourceEndpoint = "endpoint"
	SourceNode     = "node"
	SourceApp      = "app"
	SourceSidecar  = "sidecar" // a sidecar's own lifecycle events (the fixture's proxy)
	SourceK8s      = "k8s"
)

// Event kinds the judgement and the reports read. The app's own lifecycle
// events are "app_" + the fixture's event name.
const (
	KindAppSigterm      = "app_sigterm"
	KindEndpointReady   = "endpoint_ready"
	KindDisruptionStart = "disruption_start"
	KindDisruptionDone  = "disruption_done"
	KindLoadWarm        = "load_warm"
)
