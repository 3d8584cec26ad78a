package suites

import (
	"fmt"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/load"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/workload"
)

// GatingPlan is the load of the gating suite on each path, at the rate the
// capacity curve on 2 cores holds near the idle latency baseline
// (docs/benchmarks.md): ten paths at 25 requests a second kept a median
// of 62 ms against the app's 50 ms, where at 50 it was 250 ms. At 50 per
// path the gate's eight paths lost answers on the harness's own way back
// (the app served requests whose client timed out) in 1 of 38 scenarios.
// Each path's client (a new connection for every request, or a keep-alive
// pool) comes with the path.
var GatingPlan = load.Plan{Rate: 25, KeepAlive: false, Timeout: 3 * time.Second, MaxDuration: 5 * time.Minute}

// Entry is a named scenario with its labels.
type Entry struct {
	Scenario Scenario
	Labels   []Label
}

// scenario is a Deployment of a preset under a disruption, with the gate's load.
func scenario(profile fixtures.ProfileName, d chaos.Disruption, newVersion string, paths ...Path) Scenario {
	p, err := fixtures.Preset(profile)
	if err != nil {
		// the names are the package's own constants: a test covers every set
		p = fixtures.Profile{Name: string(profile)}
	}
	return Scenario{Workload: workload.Deployment, Profile: p, Disruption: d, NewVersion: newVersion,
		Paths: paths, Plan: GatingPlan}
}

// GatingSuite is what `make e2e` runs by default and CI gates on: the
// recommended profile under each disruption must drop nothing, and the naive
// control must drop requests, on every path the gate loads at once — the
// NodePort from the host, the ClusterIP Service from inside the cluster,
// an Ingress and a Gateway API HTTPRoute through Traefik — each with a new
// connection for every request and with a keep-alive pool, judged apart.
// The further sets below run over the NodePort and ClusterIP paths.
func GatingSuite() []Entry {
	gate := WithKeepAliveToo(PathNodePort, PathClusterIP, PathIngress, PathGateway)
	base := WithKeepAliveToo(PathNodePort, PathClusterIP)
	mk := func(profile fixtures.ProfileName, d chaos.Disruption, v string, labels ...Label) Entry {
		return Entry{scenario(profile, d, v, gate...), append([]Label{Gating, Ingress}, labels...)}
	}
	out := []Entry{
		mk(fixtures.PreStopAndDrain, chaos.RollingUpdate{Version: "v2"}, "v2"),
		mk(fixtures.PreStopAndDrain, chaos.RollingUpdate{}, ""),
		mk(fixtures.PreStopAndDrain, chaos.DrainNode{}, ""),
		mk(fixtures.PreStopAndDrain, chaos.EvictPods{Count: 1}, ""),
		mk(fixtures.Naive, chaos.RollingUpdate{Version: "v2"}, "v2", Control),
	}
	// further disruptions, over the gate's paths
	undo := scenario(fixtures.PreStopAndDrain, chaos.RolloutUndo{}, "v1", base...)
	undo.Prepare = chaos.RollingUpdate{Version: "v2"}
	kill := scenario(fixtures.PreStopAndDrain, chaos.KillContainer{}, "", base...)
	kill.Expect, kill.Why = outcome.ExpectFail, KillContainer.Ungraceful()
	canary := scenario(fixtures.PreStopAndDrain, chaos.PausedRollout{Version: "v2", PauseAfter: 1, Hold: 10 * time.Second}, "v2", base...)
	staged := scenario(fixtures.PreStopAndDrain, chaos.PartitionedRollout{Version: "v2", Partitions: []int32{2, 1, 0}}, "v2", base...)
	staged.Workload = workload.StatefulSet
	// a lost node: nothing graceful happens until the node controller gives up on it
	lost := scenario(fixtures.PreStopAndDrain, chaos.StopNode{}, "", base...)
	lost.Expect, lost.Why = outcome.ExpectFail, StopNode.Ungraceful()
	out = append(out, Entry{undo, []Label{Disruptions}}, Entry{kill, []Label{Disruptions, Control}},
		Entry{canary, []Label{Disruptions}}, Entry{staged, []Label{Disruptions}}, Entry{lost, []Label{Disruptions, Control}})

	// OpenKruise CloneSets: in place (the pod stays; OpenKruise takes it out
	// of its Services first, then the kubelet restarts the container: the
	// preStop hook and SIGTERM as for a deletion), and podsToDelete
	inPlace := scenario(fixtures.PreStopAndDrain, chaos.CloneSetUpdate{Version: "v2"}, "", base...)
	inPlace.Workload = workload.CloneSet
	toDelete := scenario(fixtures.PreStopAndDrain, chaos.CloneSetDeletePods{Count: 1}, "", base...)
	toDelete.Workload = workload.CloneSet
	// a canary behind a partition (one pod updated in place, the two below
	// it untouched, verified by UID and container), and a paused update (no
	// pod moves for 10 s, then each is updated in place once resumed)
	partition := scenario(fixtures.PreStopAndDrain, chaos.CloneSetUpdate{Version: "v2", Partition: 2}, "", base...)
	partition.Workload = workload.CloneSet
	paused := scenario(fixtures.PreStopAndDrain, chaos.CloneSetUpdate{Version: "v2", Pause: 10 * time.Second}, "", base...)
	paused.Workload = workload.CloneSet
	out = append(out, Entry{inPlace, []Label{Disruptions, OpenKruise}}, Entry{toDelete, []Label{Disruptions, OpenKruise}},
		Entry{partition, []Label{OpenKruise}}, Entry{paused, []Label{OpenKruise}})
	out = append(out, recreateCases(base)...)
	out = append(out, inPlaceGraceCases(base)...)
	out = append(out, OrdersSet()...)
	out = append(out, StreamsSet()...)
	out = append(out, SidecarsSet()...)
	out = append(out, SidecarSetCases()...)
	return append(out, StuckSet()...)
}

// StreamsSet judges long-lived connections — server-sent events and
// WebSockets, from the host and inside the cluster — through a rolling
// update: the naive app cuts them when it exits; the recommended one ends
// them politely at the start of its drain, and clients reconnect elsewhere.
//
// And through a rainbow deployment: the same naive app, released as a new
// colour beside the old one; the old colour goes only once its clients have
// moved on (or at RainbowDeadline), so nothing is cut. Its clients move on
// after ClientLifetime — they end their streams and recycle their pooled
// connections — as the rolling update's control's clients do. The rainbow
// scenario loads the request paths too, each client judged by
// RainbowExpectations.
func StreamsSet() []Entry {
	var paths []Path
	for _, p := range []Path{PathNodePort, PathClusterIP} {
		paths = append(paths, p.WithStreams()...)
	}
	good := scenario(fixtures.PreStopAndDrain, chaos.RollingUpdate{Version: "v2"}, "", paths...)
	good.Variant = "streams"
	bad := scenario(fixtures.Naive, chaos.RollingUpdate{Version: "v2"}, "", paths...)
	bad.Variant = "streams"
	bad.StreamLifetime = ClientLifetime
	var all []Path
	for _, p := range []Path{PathNodePort, PathClusterIP} {
		all = append(all, p.Base(), p.WithKeepAlive())
		all = append(all, p.WithStreams()...)
	}
	rainbow := scenario(fixtures.Naive, chaos.RainbowSwitch{Version: "v2", Deadline: RainbowDeadline}, "v2", all...)
	rainbow.Variant = "streams"
	rainbow.StreamLifetime = ClientLifetime
	rainbow.Plan.ConnLifetime = ClientLifetime
	return []Entry{{good, []Label{Streams}}, {bad, []Label{Streams, Control}}, {rainbow, []Label{Streams}}}
}

// The streams set's client lifetime (of a stream, of a pooled connection)
// and rainbow deadline: every connection open on the old colour at the
// switch has ended well before the deadline.
const (
	ClientLifetime  = 15 * time.Second
	RainbowDeadline = 45 * time.Second
)

// SidecarsSet judges the recommended app behind a proxy sidecar through a
// rolling update, from the host and inside the cluster, with both clients:
// a classic sidecar is stopped with the app and exits at once (the known-bad
// control); a native one (a restartable init container) is stopped only
// after the app, which is enough for new connections but leaves kept-alive
// ones at risk: their connections end at the proxy, which answers 502 in the
// 0.1 s between the app's exit and its own SIGTERM; a native one whose
// preStop hook starts its own drain at the deletion passes for both.
func SidecarsSet() []Entry {
	paths := WithKeepAliveToo(PathNodePort, PathClusterIP)
	var out []Entry
	for _, name := range fixtures.SidecarProfileNames {
		s := scenario(name, chaos.RollingUpdate{Version: "v2"}, "v2", paths...)
		labels := []Label{Sidecars}
		// a control when some client must fail (sidecar-classic)
		if s.MustFail() {
			labels = append(labels, Control)
		}
		out = append(out, Entry{s, labels})
	}
	return out
}

// SidecarSetCases inject the proxy with an OpenKruise SidecarSet (the pod
// template holds the app alone) and upgrade it in place under load, one pod
// at a time: the kubelet stops the proxy alone while the pod and the app
// stay, so nothing marks the pod terminating and its endpoint stays while
// the proxy goes.
//
//   - a proxy that exits on SIGTERM (known-bad): the pod stays in its
//     Services until the kubelet sees the container gone, and new
//     connections meanwhile are refused;
//   - a proxy whose preStop hook drains it for PropagationAllowance and
//     fails its readiness meanwhile (known-good): the failing probe takes
//     the pod out of its Services while the proxy still serves.
func SidecarSetCases() []Entry {
	paths := WithKeepAliveToo(PathNodePort, PathClusterIP)
	var out []Entry
	for _, c := range []struct {
		name       string
		sidecar    fixtures.Sidecar
		expect, ka outcome.Expectation
		why, whyKA string
	}{
		{"sidecarset-exit", fixtures.Sidecar{Mode: fixtures.SidecarSetMode, OnTerm: "exit"}, outcome.ExpectFail, outcome.ExpectRisk,
			"OpenKruise changes the proxy's image in the pod and the kubelet stops the proxy alone: it exits at SIGTERM, but the pod is not terminating and stays in its Services until the kubelet reports the container gone, so new connections sent to it meanwhile are refused (nothing listens on the pod's port until the new proxy starts), while the app behind it serves on",
			"pooled connections end at the proxy and are cut when it exits; a request in flight then, or a re-dial that lands on rules still listing the pod while no proxy listens, fails — a few per pod, so a trial may see none"},
		{"sidecarset-drain", fixtures.Sidecar{Mode: fixtures.SidecarSetMode, OnTerm: "exit", PreStop: fixtures.SidecarPreStopDrain, PreStopSeconds: fixtures.PropagationAllowance, FailReadyOnDrain: true},
			outcome.ExpectPass, outcome.ExpectPass,
			fmt.Sprintf("the proxy's preStop hook starts its drain and holds %d s: its readiness fails at once, and the failing probe takes the pod out of its Services (a pod that is not terminating leaves them no other way) while the proxy still serves; it exits only after the endpoint is gone everywhere, and the pod returns once the new proxy is Ready", fixtures.PropagationAllowance),
			"while the proxy drains, every answer carries Connection: close and connections left idle are closed, so pooled clients move to other pods before it exits"},
	} {
		p, _ := fixtures.Preset(fixtures.PreStopAndDrain)
		p.Name, p.Sidecar = c.name, &c.sidecar
		p.Expect, p.Why, p.ExpectKeepAlive, p.WhyKeepAlive = c.expect, c.why, c.ka, c.whyKA
		p.ExpectStreams, p.WhyStreams = "", ""
		s := scenario(fixtures.PreStopAndDrain, chaos.SidecarSetUpgrade{Version: "v2"}, "", paths...)
		s.Profile = p
		labels := []Label{Sidecars, OpenKruise}
		if s.MustFail() {
			labels = append(labels, Control)
		}
		out = append(out, Entry{s, labels})
	}
	return out
}

// InPlaceGrace is the inPlaceUpdateStrategy.gracePeriodSeconds of the
// known-good in-place case: longer than kube-proxy and the ingress
// controller take to drop a not-ready endpoint (1-2.5 s measured).
const InPlaceGrace = 10

// inPlaceGraceCases are an in-place update of an app that exits on
// SIGTERM, with and without OpenKruise's in-place grace period. OpenKruise
// marks the pod not ready (its readiness gate) and then updates the
// container's image, and the kubelet restarts the container: SIGTERM
// without a preStop, so the app exits at once. Without a grace period the
// restart comes while kube-proxy still sends the pod new connections
// (known-bad); with inPlaceUpdateStrategy.gracePeriodSeconds OpenKruise
// waits between the two, and the endpoint is gone first (known-good for
// new connections; pooled ones stay on the pod through conntrack and the
// few requests in flight on them at the restart are cut).
func inPlaceGraceCases(paths []Path) []Entry {
	bad := scenario(fixtures.Naive, chaos.CloneSetUpdate{Version: "v2"}, "", paths...)
	bad.Workload = workload.CloneSet
	good := scenario(fixtures.Naive, chaos.CloneSetUpdate{Version: "v2"}, "", paths...)
	good.Workload = workload.CloneSet
	good.Variant = fmt.Sprintf("inplace-grace-%ds", InPlaceGrace)
	p := &good.Profile
	p.Name = "naive-inplace-grace"
	p.Strategy.InPlaceGraceSeconds = InPlaceGrace
	p.Expect, p.Why = fixtures.ExpectPass, fmt.Sprintf("OpenKruise takes the pod out of its Services (readiness gate) and waits %d s before it restarts the container: kube-proxy has dropped the endpoint before the app exits, so no new connection reaches it", InPlaceGrace)
	p.ExpectKeepAlive, p.WhyKeepAlive = fixtures.ExpectRisk, "pooled connections stay on the pod (conntrack) through the grace period, and the app, which exits on SIGTERM, cuts the few requests in flight on them at the restart"
	return []Entry{{bad, []Label{OpenKruise, Control}}, {good, []Label{OpenKruise}}}
}

// recreateCases are a CloneSet's ReCreate update (every pod replaced, as a
// Deployment's rolling update does) within maxSurge and maxUnavailable,
// which the disruption verifies while it runs: surge first (a new pod
// Ready before an old one goes) and unavailable first (an old pod goes
// before its replacement exists). The recommended profile drops nothing
// under either; the naive one fails (the control): each replaced pod exits
// at its deletion, as in any rolling update.
func recreateCases(paths []Path) []Entry {
	var out []Entry
	for _, c := range []struct {
		profile fixtures.ProfileName
		variant string
		st      fixtures.Strategy
	}{
		{fixtures.PreStopAndDrain, "surge1-unavailable0", fixtures.Strategy{MaxSurge: "1", MaxUnavailable: "0"}},
		{fixtures.PreStopAndDrain, "surge0-unavailable1", fixtures.Strategy{MaxSurge: "0", MaxUnavailable: "1"}},
		{fixtures.Naive, "surge1-unavailable0", fixtures.Strategy{MaxSurge: "1", MaxUnavailable: "0"}},
	} {
		s := scenario(c.profile, chaos.CloneSetRecreate{Version: "v2"}, "", paths...)
		s.Workload, s.Variant, s.Profile.Strategy = workload.CloneSet, c.variant, c.st
		labels := []Label{OpenKruise}
		if s.MustFail() {
			labels = append(labels, Control)
		}
		out = append(out, Entry{s, labels})
	}
	return out
}

// OrdersSet judges a StatefulSet's pod management policies through its
// headless Service (CoreDNS) and a regular one (kube-proxy), loaded at
// once: a rolling update, which replaces one pod at a time in reverse
// ordinal order under either policy, a staged update behind a partition
// (2, then 1, then 0; each step leaves the pods below it untouched, which
// the disruption verifies), and a scale-down from 3 to 1, where
// OrderedReady stops one pod and waits until it is gone before the next
// while Parallel stops both at once. The recommended profile must drop
// nothing under either; the naive one fails under both (on the headless
// path it may pass: a resolving client falls through to the next address).
func OrdersSet() []Entry {
	paths := WithKeepAliveToo(PathNodePort, PathClusterIP, PathHeadless)
	var out []Entry
	for _, policy := range []string{"OrderedReady", "Parallel"} {
		variant := strings.ToLower(policy)
		for _, c := range []struct {
			profile fixtures.ProfileName
			d       chaos.Disruption
			version string
		}{
			{fixtures.PreStopAndDrain, chaos.RollingUpdate{Version: "v2"}, "v2"},
			// a staged update (partition 2, then 1, then 0) seen through
			// the headless Service's DNS answers as well as kube-proxy
			{fixtures.PreStopAndDrain, chaos.PartitionedRollout{Version: "v2", Partitions: []int32{2, 1, 0}}, "v2"},
			{fixtures.PreStopAndDrain, chaos.ScaleDown{Replicas: 1}, ""},
			{fixtures.Naive, chaos.ScaleDown{Replicas: 1}, ""},
		} {
			s := scenario(c.profile, c.d, c.version, paths...)
			s.Workload, s.Variant = workload.StatefulSet, variant
			s.Profile.Strategy.PodManagementPolicy = policy
			labels := []Label{Orders}
			if s.MustFail() {
				labels = append(labels, Control)
			}
			out = append(out, Entry{s, labels})
		}
	}
	return out
}
