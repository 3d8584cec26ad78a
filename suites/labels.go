package suites

import "github.com/onsi/ginkgo/v2"

// Label is a spec label from a fixed list, so a typo is a compile error and
// --label-filter values are documented in one place.
type Label string

const (
	Gating      Label = "gating"      // the CI gate: recommended profiles must drop nothing
	Control     Label = "control"     // negative controls: known-bad profiles must drop requests
	Matrix      Label = "matrix"      // the comparative matrix (slow)
	Ingress     Label = "ingress"     // the same scenarios through the Ingress and Gateway API paths as well
	Disruptions Label = "disruptions" // further disruptions: undo, pause, partitions, SIGKILL, a lost node
	OpenKruise  Label = "openkruise"  // OpenKruise CloneSets (installs OpenKruise on first use)
	Cluster     Label = "cluster"     // needs a cluster
)

// Labels turns labels into a Ginkgo decorator.
func Labels(ls ...Label) ginkgo.Labels {
	out := make(ginkgo.Labels, len(ls))
	for i, l := range ls {
		out[i] = string(l)
	}
	return out
}
