package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// TestAdviceOnAPreStopThatWasNotEnough: a sleep that was not enough is
// never advised down to the tail + 1 s below it; with no tail measured (an
// app that names no pod in its answers) the advice is tune, not a number.
func TestAdviceOnAPreStopThatWasNotEnough(t *testing.T) {
	failed := func(tail map[string]outcome.Tail) *outcome.Outcome {
		return &outcome.Outcome{
			Scenario: outcome.ScenarioInfo{ID: "web/evict-1/deployment", Disruption: "evict-1", Workload: "Deployment", Paths: []string{"nodeport"},
				Profile: outcome.Profile{Name: "web", PreStop: "sleepAction", PreStopSeconds: 5, OnTerm: "", GraceSeconds: 30}},
			Verdict: outcome.Verdict{Result: outcome.Fail, Expected: outcome.ExpectPass},
			Window:  &outcome.Window{Paths: map[string]*outcome.WindowPath{"nodeport": {Sent: 100, Failed: map[outcome.Class]int{outcome.Timeout: 1}}}},
			Tail:    tail,
		}
	}
	got := strings.Join(advice([]*outcome.Outcome{failed(nil)}), "\n")
	if !strings.Contains(got, "lengthen it beyond 5s; no propagation tail was measured") || !strings.Contains(got, "`zerodrop tune`") {
		t.Errorf("no tail measured: %s", got)
	}
	got = strings.Join(advice([]*outcome.Outcome{failed(map[string]outcome.Tail{"nodeport": {FromEndpointRemoval: 500 * time.Millisecond, Pods: 1}})}), "\n")
	if !strings.Contains(got, "lengthen it to at least 6s (the measured tail + 1 s, and more than its 5s)") {
		t.Errorf("a tail shorter than the sleep: %s", got)
	}
	got = strings.Join(advice([]*outcome.Outcome{failed(map[string]outcome.Tail{"nodeport": {FromEndpointRemoval: 7200 * time.Millisecond, Pods: 1}})}), "\n")
	if !strings.Contains(got, "lengthen it to at least 9s") {
		t.Errorf("a tail longer than the sleep: %s", got)
	}
}
