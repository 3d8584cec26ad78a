package suites

import "github.com/onsi/ginkgo/v2"

// Label is a spec label from a fixed list, so a typo is a compile error and
// --label-filter values are documented in one place.
type Label string

const (
	Gating      Label = "gating"      // the CI gate: recommended profiles must drop nothing
	Control     Label = "control"     // negative controls: known-bad profiles must drop requests
	Matrix      Label = "matrix"      // the comparative matrix (slow)
	Ingress     Label = "ingress"     // scenarios through the Ingress and Gateway API paths (Traefik)
	Disruptions Label = "disruptions" // further disruptions: undo, pause, partitions, SIGKILL, a lost node
	OpenKruise  Label = "openkruise"  // OpenKruise CloneSets (installs OpenKruise on first use)
	Streams     Label = "streams"     // long-lived connections: server-sent events and WebSockets
	Sidecars    Label = "sidecars"    // the app behind a proxy sidecar: classic vs native shutdown ordering
	Stuck       Label = "stuck"       // rollouts to a broken version: stuck (ProgressDeadlineExceeded), rolled back, under load
	Orders      Label = "orders"      // a StatefulSet's pod management policies: OrderedReady vs Parallel
	Cluster     Label = "cluster"     // needs a cluster
)

// labels lists the set labels in help order.
var labels = []Label{Gating, Control, Ingress, Disruptions, OpenKruise, Streams, Sidecars, Stuck, Orders, Matrix, Cluster}

// LabelNames lists the labels scenarios carry, for messages.
func LabelNames() []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = string(l)
	}
	return out
}

// LabelStrings are the entry's labels as Ginkgo sees them: its set labels
// and Cluster, which every scenario carries.
func (e Entry) LabelStrings() []string {
	out := []string{string(Cluster)}
	for _, l := range e.Labels {
		out = append(out, string(l))
	}
	return out
}

// Labels turns labels into a Ginkgo decorator.
func Labels(ls ...Label) ginkgo.Labels {
	out := make(ginkgo.Labels, len(ls))
	for i, l := range ls {
		out[i] = string(l)
	}
	return out
}
