package outcome

import (
	"fmt"
	"strings"
	"time"
)

// ProgressDeadlineExceeded is the reason the Deployment controller gives on
// its Progressing condition (status False) when a rollout made no progress
// for progressDeadlineSeconds.
const ProgressDeadlineExceeded = "ProgressDeadlineExceeded"

// RolloutStuck is a rollout the Deployment controller gave up on — its Progressing
// condition False with reason ProgressDeadlineExceeded — and that was then
// rolled back (`kubectl rollout undo`) until the old version was whole
// again: an outcome of its own, beside the requests' verdict.
type RolloutStuck struct {
	Deployment string `json:"deployment"`
	// Version is the broken version the rollout went to.
	Version string `json:"version"`
	// Reason and Message are the Progressing condition's.
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
	// DeadlineSeconds is the Deployment's progressDeadlineSeconds.
	DeadlineSeconds int32 `json:"progressDeadlineSeconds"`
	// After is from the template change to the condition the harness saw.
	After time.Duration `json:"afterNs"`
	// RolledBackTo is the revision the undo returned to; RecoveredIn is
	// from the undo until that rollout was complete and the broken
	// version's pods were gone.
	RolledBackTo string        `json:"rolledBackTo"`
	RecoveredIn  time.Duration `json:"recoveredInNs"`
	// Replicas is what the Deployment wants; OldMinAvailable the fewest
	// available replicas the old version had while stuck (its capacity),
	// NewMaxAvailable the most the broken one ever had.
	Replicas        int32 `json:"replicas"`
	OldMinAvailable int32 `json:"oldMinAvailable"`
	NewMaxAvailable int32 `json:"newMaxAvailable"`
}

// String is the outcome in one line: "rollout stuck
// (ProgressDeadlineExceeded) ...".
func (s RolloutStuck) String() string {
	reason := s.Reason
	if reason == "" {
		reason = ProgressDeadlineExceeded
	}
	parts := []string{fmt.Sprintf("rollout stuck (%s): deployment %s gave up on %s after %s (progressDeadlineSeconds %d)",
		reason, s.Deployment, s.Version, s.After.Round(time.Second), s.DeadlineSeconds)}
	if s.Replicas > 0 {
		parts = append(parts, fmt.Sprintf("the old version kept %d of %d replicas available meanwhile", s.OldMinAvailable, s.Replicas))
	}
	parts = append(parts, fmt.Sprintf("rolled back to revision %s, whole again in %s", s.RolledBackTo, s.RecoveredIn.Round(time.Second)))
	return strings.Join(parts, "; ")
}
