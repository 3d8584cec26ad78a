package suites

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
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

// TestRainbowExpectations: a rainbow switch spares new connections and,
// when their clients move on before the deadline, streams, whatever the
// profile; kept-alive connections meet the profile's shutdown at the
// deadline, as under any deletion.
func TestRainbowExpectations(t *testing.T) {
	r := chaos.RainbowSwitch{Deadline: time.Minute}
	for _, name := range fixtures.ProfileNames {
		p, _ := fixtures.Preset(name)
		px := p.Expectations()
		x := RainbowExpectations(p, r, 20*time.Second, 0)
		if x[outcome.NewConnections].Expect != outcome.ExpectPass || x[outcome.Streams].Expect != outcome.ExpectPass ||
			x[outcome.KeepAlive].Expect != px[outcome.KeepAlive].Expect {
			t.Errorf("%s: %+v", name, x)
		}
		if !strings.Contains(x[outcome.Streams].Why, "after 20s") || !strings.Contains(x[outcome.KeepAlive].Why, "deadline") {
			t.Errorf("%s: the reasons must say how: %+v", name, x)
		}
		// pools that recycle their connections move on too
		if ka := RainbowExpectations(p, r, 0, 20*time.Second)[outcome.KeepAlive]; ka.Expect != outcome.ExpectPass || !strings.Contains(ka.Why, "after 20s") {
			t.Errorf("%s: keep-alive with a connection lifetime %+v", name, ka)
		}
		// clients that never end their streams or connections meet the old colour's shutdown
		for _, lifetime := range []time.Duration{0, time.Minute, 2 * time.Minute} {
			x := RainbowExpectations(p, r, lifetime, lifetime)
			if got := x[outcome.Streams]; got.Expect != px[outcome.Streams].Expect || !strings.Contains(got.Why, px[outcome.Streams].Why) {
				t.Errorf("%s, lifetime %s: streams %+v", name, lifetime, got)
			}
			if got := x[outcome.KeepAlive]; got.Expect != px[outcome.KeepAlive].Expect {
				t.Errorf("%s, lifetime %s: keep-alive %+v", name, lifetime, got)
			}
		}
	}
	s := Scenario{Profile: fixtures.Profile{Name: "naive", Expect: outcome.ExpectFail}, Disruption: chaos.RainbowSwitch{}, StreamLifetime: time.Second}
	if s.Expectations()[outcome.NewConnections].Expect != outcome.ExpectPass {
		t.Fatal("a scenario's rainbow switch must set its expectations")
	}
	s.Expect, s.Why = outcome.ExpectFail, "overridden"
	if s.Expectations()[outcome.NewConnections].Expect != outcome.ExpectFail {
		t.Fatal("a scenario's own expectation comes first")
	}
}

// TestStreamsSetRainbow: the rainbow scenario and its control run the same
// naive app with the same clients, whose streams end before the deadline;
// only the release differs.
func TestStreamsSetRainbow(t *testing.T) {
	var rainbow, control *Scenario
	for _, e := range StreamsSet() {
		s := e.Scenario
		switch {
		case s.Profile.Name == "naive" && strings.HasPrefix(s.Disruption.Name(), "rainbow-switch"):
			rainbow = &s
		case s.Profile.Name == "naive":
			control = &s
			if !slices.Contains(e.Labels, Control) {
				t.Errorf("%s is the rainbow's control", s.ID())
			}
		}
	}
	if rainbow == nil || control == nil {
		t.Fatal("the streams set needs the naive rainbow switch and its rolling-update control")
	}
	r := rainbow.Disruption.(chaos.RainbowSwitch).WithDefaults()
	if rainbow.StreamLifetime == 0 || rainbow.StreamLifetime >= r.Deadline || control.StreamLifetime != rainbow.StreamLifetime ||
		rainbow.Plan.ConnLifetime != rainbow.StreamLifetime ||
		rainbow.Profile.GraceSeconds != control.Profile.GraceSeconds || rainbow.NewVersion != "v2" {
		t.Fatalf("rainbow %+v, control %+v", rainbow, control)
	}
	x := rainbow.Expectations()
	if x[outcome.Streams].Expect != outcome.ExpectPass || control.Expectations()[outcome.Streams].Expect != outcome.ExpectFail {
		t.Fatalf("the rainbow must cut no stream where the rolling update cuts them: %+v / %+v", x, control.Expectations())
	}
	if x[outcome.NewConnections].Expect != outcome.ExpectPass || x[outcome.KeepAlive].Expect != outcome.ExpectPass {
		t.Fatalf("the rainbow's clients all move on: nothing may fail: %+v", x)
	}
	for _, p := range []Path{PathNodePort, PathNodePort.WithKeepAlive(), PathClusterIP, PathClusterIP.WithKeepAlive()} {
		if !slices.Contains(rainbow.Paths, p) {
			t.Errorf("the rainbow scenario does not load %s", p)
		}
	}
	if got := rainbow.ID(); got != "naive/rainbow-switch-blue-to-green/deployment@streams" {
		t.Errorf("id %s", got)
	}
}

// TestExitOnlyProfilesMayPassOnHeadless: the headless path's client falls
// through to the next address, so only the exit-only profiles (naive, a
// classic sidecar) spare it — and only where they are expected to fail;
// every other path, and every other profile's headless path, must fail as
// a control's does.
func TestExitOnlyProfilesMayPassOnHeadless(t *testing.T) {
	for _, name := range fixtures.AllProfileNames() {
		p, err := fixtures.Preset(name)
		if err != nil {
			t.Fatal(err)
		}
		s := Scenario{Profile: p, Disruption: chaos.RollingUpdate{Version: "v2"}, Paths: Paths}
		x := s.Expectations()
		for c, e := range x {
			want := exitOnly[name] && e.Expect == outcome.ExpectFail && c != outcome.Streams
			if got := len(e.MayPass) > 0; got != want {
				t.Errorf("%s %s: spares %v, want sparing %v", name, c, e.MayPass, want)
			}
			for path := range e.MayPass {
				if Path(path).Base() != PathHeadless || outcome.ClientOf(path) != c {
					t.Errorf("%s %s spares %s", name, c, path)
				}
			}
		}
	}
	// a scenario's own expectation spares nothing
	naive, _ := fixtures.Preset(fixtures.Naive)
	s := Scenario{Profile: naive, Expect: outcome.ExpectFail, Why: "x", Paths: Paths}
	if x := s.Expectations(); len(x[outcome.NewConnections].MayPass) > 0 {
		t.Errorf("override spares %v", x[outcome.NewConnections].MayPass)
	}
}

// TestExitOnlyProfilesMayPassOnEveryPathUnderOneExit: a disruption that
// ends one pod (or one node's) races the endpoint's removal on every path,
// so the naive control's clients are spared on each; the judge still wants
// a failure on some path. The rollouts keep every path's duty to fail.
func TestExitOnlyProfilesMayPassOnEveryPathUnderOneExit(t *testing.T) {
	naive, _ := fixtures.Preset(fixtures.Naive)
	for _, d := range []chaos.Disruption{chaos.DeletePods{Count: 1}, chaos.EvictPods{Count: 1}, chaos.DrainNode{}, chaos.ScaleDown{Replicas: 2}} {
		x := Scenario{Profile: naive, Disruption: d, Paths: Paths}.Expectations()
		if x[outcome.KeepAlive].Expect != outcome.ExpectFail || x[outcome.NewConnections].Expect != outcome.ExpectFail {
			t.Errorf("%s: the control is no longer expected to fail: %v", d.Name(), x)
		}
		for c, want := range map[outcome.Client][]string{
			outcome.KeepAlive:      {"nodeport+ka", "clusterip+ka", "headless+ka", "ingress+ka", "gateway+ka"},
			outcome.NewConnections: {"nodeport", "clusterip", "headless", "ingress", "gateway"},
		} {
			spared := x[c].MayPass
			for _, p := range want {
				if spared[p] == "" {
					t.Errorf("%s: %s %s not spared: %v", d.Name(), c, p, spared)
				}
			}
			if len(spared) != len(want) {
				t.Errorf("%s: %s spares %v, want the five paths %v", d.Name(), c, spared, want)
			}
		}
	}
	for _, d := range []chaos.Disruption{chaos.RollingUpdate{Version: "v2"}, chaos.RollingUpdate{}, chaos.RolloutUndo{}} {
		if ka := (Scenario{Profile: naive, Disruption: d, Paths: Paths}).Expectations()[outcome.KeepAlive].MayPass; len(ka) != 1 {
			t.Errorf("%s: keep-alive spares %v, want headless+ka only", d.Name(), ka)
		}
	}
	drain, _ := fixtures.Preset(fixtures.PreStopAndDrain)
	if ka := (Scenario{Profile: drain, Disruption: chaos.DeletePods{Count: 1}, Paths: Paths}).Expectations()[outcome.KeepAlive].MayPass; len(ka) != 0 {
		t.Errorf("a profile expected to pass spares %v", ka)
	}
}

// TestPlanForWaitsForTheSlowestAnswer: a profile with long requests gets a
// client timeout above them (they would fail at the client otherwise);
// every other profile keeps the plan's.
func TestPlanForWaitsForTheSlowestAnswer(t *testing.T) {
	for _, name := range fixtures.AllProfileNames() {
		p, _ := fixtures.Preset(name)
		got := PlanFor(MatrixPlan, p)
		if p.SlowEvery > 0 {
			if got.Timeout <= p.Latency+p.SlowLatency {
				t.Errorf("%s: timeout %s for answers of %s", name, got.Timeout, p.Latency+p.SlowLatency)
			}
		} else if got != MatrixPlan {
			t.Errorf("%s: plan changed to %+v", name, got)
		}
	}
	entries, err := MatrixSet(MatrixFilter{Extras: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if s := e.Scenario; s.Profile.SlowEvery > 0 && s.Plan.Timeout <= s.Profile.SlowLatency {
			t.Errorf("%s: timeout %s", s.ID(), s.Plan.Timeout)
		}
	}
}
