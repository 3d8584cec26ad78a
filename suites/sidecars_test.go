package suites

import (
	"strings"
	"testing"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/outcome"
)

func TestSidecarsSet(t *testing.T) {
	set := mustSelect(t, GatingSuite(), "sidecars && !openkruise")
	if len(set) != 3 {
		t.Fatalf("the sidecars set has %d scenarios in the pod template, want 3", len(set))
	}
	want := map[string][2]outcome.Expectation{ // new connections, keep-alive
		"sidecar-classic/rolling-update-v2/deployment":      {outcome.ExpectFail, outcome.ExpectFail},
		"sidecar-native/rolling-update-v2/deployment":       {outcome.ExpectPass, outcome.ExpectRisk},
		"sidecar-native-drain/rolling-update-v2/deployment": {outcome.ExpectPass, outcome.ExpectPass},
	}
	for _, e := range set {
		s := e.Scenario
		w, ok := want[s.ID()]
		if !ok {
			t.Errorf("unexpected scenario %s", s.ID())
			continue
		}
		x := s.Expectations()
		if x[outcome.NewConnections].Expect != w[0] || x[outcome.KeepAlive].Expect != w[1] {
			t.Errorf("%s expects %s/%s, want %s/%s", s.ID(), x[outcome.NewConnections].Expect, x[outcome.KeepAlive].Expect, w[0], w[1])
		}
		for c, ex := range x {
			if ex.Why == "" {
				t.Errorf("%s: no why for %s", s.ID(), c)
			}
		}
		isControl := strings.Contains(strings.Join(e.LabelStrings(), ","), string(Control))
		if isControl != (w[0] == outcome.ExpectFail || w[1] == outcome.ExpectFail) {
			t.Errorf("%s: control label %v with expectations %s/%s: a control is a scenario some client of which must fail", s.ID(), isControl, w[0], w[1])
		}
		if s.Profile.Sidecar == nil || s.NewVersion != "v2" || len(s.Paths) != 4 || !s.Uses(PathNodePort) || !s.Uses(PathClusterIP) {
			t.Errorf("%s: sidecar %v, version %q, paths %v", s.ID(), s.Profile.Sidecar, s.NewVersion, s.Paths)
		}
		if err := s.Profile.Validate(); err != nil {
			t.Errorf("%s: %v", s.ID(), err)
		}
	}
}

func TestMatrixHasTheSidecarCells(t *testing.T) {
	all, err := MatrixSet(MatrixFilter{Extras: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range all {
		if e.Scenario.Profile.Sidecar != nil {
			got[e.Scenario.ID()] = true
			if !strings.Contains(strings.Join(e.LabelStrings(), ","), string(Sidecars)) {
				t.Errorf("%s carries no sidecars label", e.Scenario.ID())
			}
			if e.Scenario.Uses(PathIngress, PathGateway) || !e.Scenario.Uses(PathNodePort, PathClusterIP, PathHeadless) || len(e.Scenario.Paths) != 6 {
				t.Errorf("%s loads %v: a sidecar cell loads the paths whose connections end at the proxy, with both clients", e.Scenario.ID(), e.Scenario.Paths)
			}
		}
	}
	if len(got) != len(fixtures.SidecarProfileNames) {
		t.Fatalf("matrix sidecar cells %v", got)
	}
	// named, a sidecar preset is judged under every disruption, once each
	only, err := MatrixSet(MatrixFilter{Profiles: []fixtures.ProfileName{fixtures.SidecarNativeP}, Extras: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(only) != len(MatrixDisruptions) {
		t.Fatalf("--profiles sidecar-native: %d cells, want %d", len(only), len(MatrixDisruptions))
	}
	// only paths through the ingress controller: no sidecar cell
	none, err := MatrixSet(MatrixFilter{Profiles: []fixtures.ProfileName{fixtures.SidecarNativeP}, Paths: []Path{PathIngress}})
	if err != nil || len(none) != 0 {
		t.Fatalf("sidecar cells over the ingress path only: %d, %v", len(none), err)
	}
	md := ExpectationsMarkdown(all)
	if !strings.Contains(md, "- **sidecar-native** — pass: a native sidecar gets SIGTERM only after the app has exited") {
		t.Errorf("the matrix listing must say why for the sidecar presets:\n%s", md)
	}
}

func TestSidecarSetCases(t *testing.T) {
	set := mustSelect(t, GatingSuite(), "sidecars && openkruise")
	want := map[string][2]outcome.Expectation{ // new connections, keep-alive
		"sidecarset-exit/sidecarset-upgrade/deployment":  {outcome.ExpectFail, outcome.ExpectRisk},
		"sidecarset-drain/sidecarset-upgrade/deployment": {outcome.ExpectPass, outcome.ExpectPass},
	}
	if len(set) != len(want) {
		t.Fatalf("%d SidecarSet scenarios, want %d", len(set), len(want))
	}
	for _, e := range set {
		s := e.Scenario
		w, ok := want[s.ID()]
		if !ok {
			t.Errorf("unexpected scenario %s", s.ID())
			continue
		}
		x := s.Expectations()
		if x[outcome.NewConnections].Expect != w[0] || x[outcome.KeepAlive].Expect != w[1] {
			t.Errorf("%s expects %s/%s, want %s/%s", s.ID(), x[outcome.NewConnections].Expect, x[outcome.KeepAlive].Expect, w[0], w[1])
		}
		if !s.UsesSidecarSet() || s.Profile.Sidecar.Mode != fixtures.SidecarSetMode {
			t.Errorf("%s: the proxy must come from a SidecarSet: %+v", s.ID(), s.Profile.Sidecar)
		}
		if isControl := strings.Contains(strings.Join(e.LabelStrings(), ","), string(Control)); isControl != (w[0] == outcome.ExpectFail) {
			t.Errorf("%s: control %v", s.ID(), isControl)
		}
		if err := s.Profile.Validate(); err != nil {
			t.Errorf("%s: %v", s.ID(), err)
		}
		if good := s.Profile.Sidecar.PreStop == fixtures.SidecarPreStopDrain; good != (w[0] == outcome.ExpectPass) || good != s.Profile.Sidecar.FailReadyOnDrain {
			t.Errorf("%s: the known-good case drains the proxy in its preStop and fails its readiness meanwhile: %+v", s.ID(), s.Profile.Sidecar)
		}
	}
}
