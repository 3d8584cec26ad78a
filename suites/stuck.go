package suites

import (
	"time"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/outcome"
)

// stuckPaths are the gate's paths: the stuck rollouts change nothing about
// where load enters, only what the rollout does.
var stuckPaths = WithKeepAliveToo(PathNodePort, PathClusterIP)

// StuckSet rolls the recommended profile out to broken versions under
// load, and rolls back when the Deployment controller gives up
// (ProgressDeadlineExceeded) or the new pods crash: what keeps users from
// seeing a broken release is the strategy and readiness, not the app's
// shutdown.
//
//   - never ready, maxUnavailable 0: stuck, the old version serves throughout (known-good);
//   - never ready, maxUnavailable 1: stuck with one old pod drained away, 2 of 3 serve: nothing fails either;
//   - never ready, maxUnavailable 100%: the old version is gone before the new one proves itself (known-bad);
//   - crashes 10 s after it starts, minReadySeconds 0: the rollout completes onto it (known-bad);
//   - the same with minReadySeconds 30: stuck at the first pod, which still takes new connections until it crashes (known-bad);
//   - the same behind a 15 s readiness warm-up: never Ready, never in the Service: stuck (known-good).
func StuckSet() []Entry {
	return stuckCases(stuckPaths)
}

// stuckCases are the stuck set's scenarios loading paths (the crash loop
// behind minReadySeconds only their new-connection clients).
func stuckCases(paths []Path) []Entry {
	mk := func(variant string, k DisruptionKind, st fixtures.Strategy, paths []Path, edit func(*Scenario)) Scenario {
		d, _ := k.Build(3) // covered by TestEveryDisruptionBuildsAndFits
		s := scenario(fixtures.PreStopAndDrain, d.Do, d.NewVersion, paths...)
		s.Variant, s.Profile.Strategy = variant, st
		edit(&s)
		return s
	}
	guarded := fixtures.Strategy{MaxSurge: "1", MaxUnavailable: "0", ProgressDeadlineSeconds: 20}
	neverReady := mk("never-ready-unavailable0", StuckRollout, guarded, paths, func(s *Scenario) {
		s.Expect, s.Why = outcome.ExpectStuck, "maxUnavailable 0 keeps every old pod until a new one is available, and none ever is: the controller gives up after progressDeadlineSeconds (20 s), the old version serves throughout with all 3 pods, and the undo removes a pod that never took traffic"
	})
	oneDown := mk("never-ready-unavailable1", StuckRollout, fixtures.Strategy{MaxSurge: "0", MaxUnavailable: "1", ProgressDeadlineSeconds: 20}, paths, func(s *Scenario) {
		s.Expect, s.Why = outcome.ExpectStuck, "maxUnavailable 1 lets the controller take one old pod away before any new one is available, so 2 of 3 serve while the rollout is stuck; that pod is drained as in any rolling update (preStop, then drain) and the new one never takes traffic: capacity drops, no request fails"
	})
	allAtOnce := mk("never-ready-unavailable100", StuckRollout,
		fixtures.Strategy{MaxSurge: "0", MaxUnavailable: "100%", ProgressDeadlineSeconds: 20}, paths, func(s *Scenario) {
			s.Expect, s.Why = outcome.ExpectFail, "maxUnavailable 100% scales the old version away before the new one proves itself: the new one is never Ready, the Service is left without endpoints once the old pods have drained, and every request fails until the undo"
		})
	crashCompletes := mk("crash-minready0", CrashRollout, fixtures.Strategy{MaxSurge: "1", MaxUnavailable: "0", ProgressDeadlineSeconds: 30}, paths, func(s *Scenario) {
		s.Expect, s.Why = outcome.ExpectFail, "without minReadySeconds a pod counts as available the moment it is Ready: the rollout completes onto a version that crashes 10 s after it starts, and each crash cuts its requests and refuses new ones until the undo"
		// out/bench-matrix-4: headless 4 and 2 failed, headless+ka 6 and
		// 0, never refused, while the other paths lost 7-68 each
		s.MayPass = crashResolving()
	})
	// A keep-alive pool made before the rollout holds connections to the
	// old pods and dials anew only when a member's connection is busy, so
	// whether one ever reaches the crashing pod is luck: no expectation
	// either way, so no keep-alive client.
	var fresh []Path
	for _, p := range paths {
		if !p.KeepAlive() {
			fresh = append(fresh, p)
		}
	}
	crashStuck := mk("crash-minready30", CrashRollout, fixtures.Strategy{MaxSurge: "1", MaxUnavailable: "0", MinReadySeconds: 30, ProgressDeadlineSeconds: 40}, fresh, func(s *Scenario) {
		s.Expect, s.Why = outcome.ExpectFail, "minReadySeconds 30 stops the rollout at its first new pod (never Ready for 30 s in a row): the old pods stay, and the deadline catches it; but it gates availability, not endpoints: the new pod is Ready and takes new connections for a few seconds after each start, and each crash cuts them and refuses more until its endpoint leaves"
		// out/matrix-3: headless 0 of 3,530 while the four other paths lost
		// 18-28 each, 17 of clusterip's 18 refused at connect.
		s.MayPass = crashResolving()
	})
	crashBeforeReady := mk("crash-before-ready", CrashRollout, guarded, paths, func(s *Scenario) {
		s.Profile.StartupDelay = CrashAfter + 5*time.Second // ready only after the crash
		s.Expect, s.Why = outcome.ExpectStuck, "readiness gates traffic: a version that crashes before its 15 s warm-up ends is never Ready, never in the Service, and the rollout gets stuck with every old pod serving"
	})
	return []Entry{
		{neverReady, []Label{Stuck}},
		{oneDown, []Label{Stuck}},
		{allAtOnce, []Label{Stuck, Control}},
		{crashCompletes, []Label{Stuck, Control}},
		{crashStuck, []Label{Stuck, Control}},
		{crashBeforeReady, []Label{Stuck}},
	}
}

// crashResolving lets the headless paths pass in a crash cell: a crash's
// failures are mostly refused connections, and a client that resolves the
// name for every connection tries the next address when one refuses (Go's
// dialer), so a refusal turns into a connection to a live pod; only the
// requests in flight at a crash fail, a few per crash.
func crashResolving() map[Path]string {
	why := "the crash's failures are mostly refused connections, and a client that resolves the name for every connection tries the next address when one refuses (Go's dialer): a refusal turns into a connection to a live pod; only the requests in flight at a crash fail, a few per crash"
	return map[Path]string{PathHeadless: why, PathHeadless.WithKeepAlive(): why}
}
