package suites

import (
	"testing"

	"github.com/zerodrop/zerodrop/outcome"
)

// TestOnlyTheUngracefulAreControls: SIGKILL and a lost node drop requests
// whatever the workload does; every other disruption can be survived, and
// the named sets expect what Ungraceful says.
func TestOnlyTheUngracefulAreControls(t *testing.T) {
	for _, k := range DisruptionKinds {
		if ungraceful := k == KillContainer || k == StopNode; (k.Ungraceful() != "") != ungraceful {
			t.Errorf("%s: Ungraceful %q", k, k.Ungraceful())
		}
	}
	found := 0
	for _, e := range GatingSuite() {
		for _, k := range []DisruptionKind{KillContainer, StopNode} {
			d, err := k.Build(3)
			if err != nil {
				t.Fatal(err)
			}
			if e.Scenario.Disruption.Name() != d.Do.Name() {
				continue
			}
			found++
			if e.Scenario.Expect != outcome.ExpectFail || e.Scenario.Why != k.Ungraceful() {
				t.Errorf("%s expects %q because %q", e.Scenario.ID(), e.Scenario.Expect, e.Scenario.Why)
			}
		}
	}
	if found != 2 {
		t.Errorf("found %d ungraceful scenarios in the named sets, want 2", found)
	}
}
