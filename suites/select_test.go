package suites

import (
	"os"
	"strings"
	"testing"

	"github.com/zerodrop/zerodrop/workload"
)

func TestSelect(t *testing.T) {
	all := GatingSuite()
	count := func(filter string) int {
		t.Helper()
		got, err := Select(all, filter)
		if err != nil {
			t.Fatalf("%q: %v", filter, err)
		}
		return len(got)
	}
	if n := count("gating"); n != 5 {
		t.Errorf("gating selects %d scenarios, want 5", n)
	}
	if a, both := count("gating"), count("gating && ingress"); both != a {
		t.Errorf("the gate loads the ingress and gateway paths in every scenario: gating %d, gating && ingress %d", a, both)
	}
	for _, e := range mustSelect(t, all, "gating") {
		if !e.Scenario.Uses(PathIngress) || !e.Scenario.Uses(PathGateway) || len(e.Scenario.Paths) != 8 {
			t.Errorf("%s loads %v, want the four paths with both clients", e.Scenario.ID(), e.Scenario.Paths)
		}
	}
	if n := count("cluster"); n != len(all) {
		t.Errorf("every scenario carries the cluster label: %d of %d", n, len(all))
	}
	for _, e := range mustSelect(t, all, "openkruise") {
		if e.Scenario.Workload != "CloneSet" && !e.Scenario.UsesSidecarSet() {
			t.Errorf("%s carries openkruise but runs a %s with no SidecarSet", e.Scenario.ID(), e.Scenario.Workload)
		}
	}
	if n := count("control && !gating && !streams && !sidecars && !stuck && !openkruise && !orders"); n != 2 {
		t.Errorf("the further controls (SIGKILL, lost node): %d, want 2", n)
	}
	if n, ctl := count("orders"), count("orders && control"); n != 8 || ctl != 2 {
		t.Errorf("the StatefulSet orders: %d scenarios, %d controls; want 8 and 2 (the naive scale-down under each policy)", n, ctl)
	}
	for _, e := range mustSelect(t, all, "orders") {
		if e.Scenario.Workload != "StatefulSet" || e.Scenario.Profile.Strategy.PodManagementPolicy == "" || !e.Scenario.Uses(PathHeadless) || !e.Scenario.Uses(PathClusterIP) {
			t.Errorf("%s: want a StatefulSet with its pod management policy through the headless and a regular Service", e.Scenario.ID())
		}
	}
	if n := count("openkruise && control"); n != 3 {
		t.Errorf("the in-place update without a grace period, the naive ReCreate update and the exiting SidecarSet proxy are openkruise's controls: %d", n)
	}
	if n := count("openkruise && !disruptions"); n != 9 {
		t.Errorf("the in-place grace pair, the partition, the paused update, the three ReCreate updates and the two SidecarSet upgrades run only with openkruise: %d", n)
	}
	_, err := Select(all, "gating ||| x")
	if err == nil || !strings.Contains(err.Error(), "Did you mean '||'") || strings.Contains(err.Error(), "{{") || strings.Contains(err.Error(), "\x1b") {
		t.Fatalf("a bad filter must be a plain, clear error: %v", err)
	}
}

func mustSelect(t *testing.T, all []Entry, filter string) []Entry {
	t.Helper()
	got, err := Select(all, filter)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEveryDisruptionBuildsAndFits(t *testing.T) {
	for _, k := range DisruptionKinds {
		d, err := k.Build(3)
		if err != nil || d.Do == nil {
			t.Errorf("%s: %v", k, err)
		}
		fits := 0
		for _, w := range workload.Kinds {
			if k.Fits(w) == nil {
				fits++
			}
		}
		if fits == 0 {
			t.Errorf("%s fits no workload kind", k)
		}
	}
	if _, err := DisruptionKind("explode").Build(3); err == nil || !strings.Contains(err.Error(), "use one of delete, evict") {
		t.Fatalf("err %v", err)
	}
	if err := RolloutUndo.Fits(workload.StatefulSet); err == nil {
		t.Fatal("a StatefulSet has no rollout undo here")
	}
}

// TestMatrixDocIsGenerated: docs/matrix.md is what the code expects (make docs).
func TestMatrixDocIsGenerated(t *testing.T) {
	entries, err := MatrixSet(MatrixFilter{Extras: true})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("../docs/matrix.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(raw), ExpectationsMarkdown(entries)) {
		t.Fatal("docs/matrix.md is stale: run make docs")
	}
	if len(entries) < 42+8 {
		t.Fatalf("the matrix has %d scenarios, want 42 (6 profiles x 7 disruptions, each two clients: 84 cells) and the 8 strategy and PDB cases", len(entries))
	}
}
