package suites

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/workload"
)

// DisruptionKind names a disruption: the typed vocabulary of the matrix's
// disruption axis and of scenario files.
type DisruptionKind string

// The disruptions.
const (
	Delete          DisruptionKind = "delete"            // a graceful pod delete
	Evict           DisruptionKind = "evict"             // the Eviction API, PodDisruptionBudget-aware
	Drain           DisruptionKind = "drain"             // kubectl's drain of a worker node
	RollingUpdate   DisruptionKind = "rolling-update"    // a new version of the pod template
	RolloutRestart  DisruptionKind = "rollout-restart"   // kubectl rollout restart
	ScaleDown       DisruptionKind = "scale-down"        // one replica fewer
	RolloutUndo     DisruptionKind = "rollout-undo"      // back to the previous revision
	PausedRollout   DisruptionKind = "paused-rollout"    // a canary: paused after one new replica
	PartitionRoll   DisruptionKind = "partition-rollout" // a StatefulSet's staged partitions
	CloneSetInPlace DisruptionKind = "cloneset-in-place" // OpenKruise: a new image in place
	CloneSetDelete  DisruptionKind = "cloneset-pods-to-delete"
	KillContainer   DisruptionKind = "kill-container" // SIGKILL: an ungraceful control
	StopNode        DisruptionKind = "stop-node"      // a lost node: an ungraceful control
	StuckRollout    DisruptionKind = "stuck-rollout"  // a version that never becomes ready, then rollout undo
	CrashRollout    DisruptionKind = "crash-rollout"  // a version that crashes 10 s after it starts, then rollout undo
	// RainbowSwitch: a new colour (Deployment) beside the old, the
	// Services switched to it, the old colour deleted once idle or at a deadline
	RainbowSwitch DisruptionKind = "rainbow-switch"
)

// DisruptionKinds lists every disruption, the matrix's seven first.
var DisruptionKinds = []DisruptionKind{Delete, Evict, Drain, RollingUpdate, RolloutRestart, ScaleDown, RolloutUndo,
	PausedRollout, PartitionRoll, CloneSetInPlace, CloneSetDelete, KillContainer, StopNode, StuckRollout, CrashRollout, RainbowSwitch}

// CrashAfter is how long a crash-rollout's broken version runs before it crashes.
const CrashAfter = 10 * time.Second

// MatrixDisruptions are the seven every profile is judged under.
var MatrixDisruptions = []DisruptionKind{Delete, Evict, Drain, RollingUpdate, RolloutRestart, ScaleDown, RolloutUndo}

// ParseDisruption returns the kind a name names, or an error listing them.
func ParseDisruption(s string) (DisruptionKind, error) {
	k := DisruptionKind(s)
	if slices.Contains(DisruptionKinds, k) {
		return k, nil
	}
	names := make([]string, len(DisruptionKinds))
	for i, d := range DisruptionKinds {
		names[i] = string(d)
	}
	return "", fmt.Errorf("disruption %q: use one of %s", s, strings.Join(names, ", "))
}

// NodeLevel reports whether the disruption acts on a whole node (and so on
// every pod there, other scenarios' too): such a scenario runs alone.
func (k DisruptionKind) NodeLevel() bool { return k == Drain || k == StopNode }

// Ungraceful says why every workload drops requests under the disruption
// ("" when a graceful shutdown can avoid it): such a disruption is a
// negative control, expected to fail whatever the profile.
func (k DisruptionKind) Ungraceful() string {
	switch k {
	case KillContainer:
		return "SIGKILL skips every graceful step: requests in flight are cut and new ones refused until the container is back"
	case StopNode:
		return "nobody tells anyone a frozen node's pods are gone: proxies send them traffic until the node controller marks them not ready (about 50 s)"
	}
	return ""
}

// Stuck reports whether the disruption rolls out a broken version, which
// makes sense only with a strategy that has a progress deadline (the stuck
// set's).
func (k DisruptionKind) Stuck() bool { return k == StuckRollout || k == CrashRollout }

// FixtureOnly says why the disruption needs the fixture ("" when a user's
// own workload can take it): a scenario file refuses it.
func (k DisruptionKind) FixtureOnly() string {
	switch k {
	case StuckRollout, CrashRollout:
		return "it breaks the new version through the fixture's " + fixtures.NeverReadyEnv + " and " + fixtures.CrashAfterEnv + " env, which your app does not read"
	}
	return ""
}

// Fits says why a workload kind cannot take the disruption (nil if it can).
func (k DisruptionKind) Fits(w workload.Kind) error {
	only := func(kinds ...workload.Kind) error {
		if slices.Contains(kinds, w) {
			return nil
		}
		return fmt.Errorf("disruption %s needs a %v, not a %s", k, kinds, w)
	}
	switch k {
	case RollingUpdate, RolloutRestart, ScaleDown:
		return only(workload.Deployment, workload.StatefulSet)
	case RolloutUndo, PausedRollout, StuckRollout, CrashRollout, RainbowSwitch:
		return only(workload.Deployment)
	case PartitionRoll:
		return only(workload.StatefulSet)
	case CloneSetInPlace, CloneSetDelete:
		return only(workload.CloneSet)
	}
	return nil
}

// Disruption is a disruption kind with its parameters, and what a scenario
// needs around it.
type Disruption struct {
	Do chaos.Disruption
	// NewVersion is the version serving at the end of a version change ("" for none).
	NewVersion string
	// Prepare runs before the load starts (a first rollout, for an undo).
	Prepare chaos.Disruption
}

// Build makes the disruption of kind k for a workload of replicas pods.
// Version changes go from v1 to v2 (undo: from v2 back to v1; a broken v2
// is rolled back to v1, which then serves).
func (k DisruptionKind) Build(replicas int32) (Disruption, error) {
	switch k {
	case Delete:
		return Disruption{Do: chaos.DeletePods{Count: 1}}, nil
	case Evict:
		return Disruption{Do: chaos.EvictPods{Count: 1}}, nil
	case Drain:
		return Disruption{Do: chaos.DrainNode{}}, nil
	case RollingUpdate:
		return Disruption{Do: chaos.RollingUpdate{Version: "v2"}, NewVersion: "v2"}, nil
	case RolloutRestart:
		return Disruption{Do: chaos.RollingUpdate{}}, nil
	case ScaleDown:
		if replicas < 2 {
			return Disruption{}, fmt.Errorf("disruption %s needs at least 2 replicas, not %d", k, replicas)
		}
		return Disruption{Do: chaos.ScaleDown{Replicas: replicas - 1}}, nil
	case RolloutUndo:
		return Disruption{Do: chaos.RolloutUndo{}, NewVersion: "v1", Prepare: chaos.RollingUpdate{Version: "v2"}}, nil
	case PausedRollout:
		return Disruption{Do: chaos.PausedRollout{Version: "v2", PauseAfter: 1, Hold: 10 * time.Second}, NewVersion: "v2"}, nil
	case PartitionRoll:
		var parts []int32
		for p := replicas - 1; p >= 0; p-- {
			parts = append(parts, p)
		}
		return Disruption{Do: chaos.PartitionedRollout{Version: "v2", Partitions: parts}, NewVersion: "v2"}, nil
	case CloneSetInPlace:
		return Disruption{Do: chaos.CloneSetUpdate{Version: "v2"}}, nil
	case CloneSetDelete:
		return Disruption{Do: chaos.CloneSetDeletePods{Count: 1}}, nil
	case KillContainer:
		return Disruption{Do: chaos.KillContainer{}}, nil
	case StopNode:
		return Disruption{Do: chaos.StopNode{}}, nil
	case StuckRollout:
		return Disruption{Do: chaos.StuckRollout{Version: "v2", Env: map[string]string{fixtures.NeverReadyEnv: "true"}}, NewVersion: "v1"}, nil
	case CrashRollout:
		return Disruption{Do: chaos.StuckRollout{Version: "v2", Env: map[string]string{fixtures.CrashAfterEnv: CrashAfter.String()}, Prefix: string(CrashRollout)}, NewVersion: "v1"}, nil
	case RainbowSwitch:
		return Disruption{Do: chaos.RainbowSwitch{Version: "v2"}, NewVersion: "v2"}, nil
	}
	_, err := ParseDisruption(string(k))
	return Disruption{}, err
}
