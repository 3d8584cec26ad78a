package outcome

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Result is a scenario's verdict.
type Result string

const (
	Pass    Result = "pass"    // zero failed requests, disruption really happened, traffic really flowed
	Fail    Result = "fail"    // requests failed
	Invalid Result = "invalid" // no evidence either way (generator saturated, traffic never reached a pod, ...)
	Error   Result = "error"   // the scenario could not run (disruption failed, cluster error)
	// Blocked: the disruption was refused (a PodDisruptionBudget that allows
	// nothing), as it must be when that is the expectation.
	Blocked Result = "blocked"
	// Stuck: the rollout stopped short of its new version (the Deployment's
	// ProgressDeadlineExceeded) and was rolled back, with zero failed
	// requests meanwhile: what a rollout to a broken version must do.
	Stuck Result = "stuck"
)

// Results lists the results in report order.
var Results = []Result{Pass, Fail, Blocked, Stuck, Invalid, Error}

// Clean reports whether the result means zero failed requests with the
// disruption judged as it ran: a pass, a refused disruption, a stuck rollout.
func (r Result) Clean() bool { return r == Pass || r == Blocked || r == Stuck }

// Verdict is the scenario's result and whether it is what the profile expects.
type Verdict struct {
	Result   Result      `json:"result"`
	Reason   string      `json:"reason"`
	Expected Expectation `json:"expected"`
	// AsExpected: pass for a pass profile, fail for a negative control. A
	// control that passes means the instrument is blind.
	AsExpected bool `json:"asExpected"`
}

// Evidence is what a scenario observed, the input of Judge. The runner
// fills it from the load, the records on disk, the timeline and the app's
// own counts, with the helpers of this package (Reconcile, InSpan,
// Attribute, MeasureSaturation).
type Evidence struct {
	Load *LoadResult
	// Paths are the paths the scenario loads: each must carry traffic.
	Paths []string
	// Window is the part of the load the verdict judges: from the moment the
	// load was warm on every path (the chaosmonkey "ready" point) to the end.
	// Failures before it belong to the warm-up (for example kube-proxy still
	// rejecting a Service it has not programmed yet), not to the disruption.
	Window Window
	// Span is the disruption as it ran (nil if it never started).
	Span *Span
	// DisruptionError says why the disruption did not complete ("" if it did).
	DisruptionError string
	// Blocked says why the disruption was refused ("" if it was not).
	Blocked string
	// Stuck says how a rollout got stuck and was recovered (nil if it did
	// not get stuck).
	Stuck *RolloutStuck
	// Unverified says what the disruption did not do that it claims (an
	// in-place update that recreated pods): no evidence either way.
	Unverified string
	// Reconciliation is every path's count; a Problem makes the run no evidence.
	Reconciliation []PathCount
	// Unreached lists pods that got no request on some path before the disruption.
	Unreached []string
	// FinalVersionShare is the share of the last second's answers from the new
	// version, for rolling updates (negative: not a version change).
	FinalVersionShare float64
	NewVersion        string
	Server            ServerCounts
	// InSpan and RacesInSpan count, per path, the requests started inside the
	// disruption span and the race-class failures among them.
	InSpan      map[string]int
	RacesInSpan map[string]int
	// Attribution counts each path's failures by what they point at.
	Attribution map[string]map[Attribution]int
	// Saturation is each path's latency before the first termination against its baseline.
	Saturation []Saturation
	// Unproven lists what the scenario could not verify (an app that names
	// no pod, counts nothing itself): a pass says so.
	Unproven []string
	// Killed lists containers that ended with SIGKILL (exit 137) during the
	// run: the grace period ran out before the app finished.
	Killed []string
}

// loadTolerance is how much earlier than the end of the disruption span a
// path's last request may start (the load stops right after the settle time).
const loadTolerance = 500 * time.Millisecond

// Judge turns evidence into a verdict. Pure: the semantics of a trustworthy
// verdict live here and are unit-tested. Only evidence that the race was
// exercised and every request was accounted for can pass or fail; anything
// else is invalid, never a pass.
func Judge(e Evidence, expect Expectation) Verdict {
	return JudgeExpected(e, Expected{Expect: expect})
}

// JudgeExpected is Judge against an expectation that may spare some paths
// of a control's duty to fail on every path (Expected.MayPass).
func JudgeExpected(e Evidence, x Expected) Verdict {
	expect := x.Expect
	v := Verdict{Expected: expect}
	v.Result, v.Reason = judge(e, expect, x.MayPass)
	switch expect {
	case ExpectPass:
		v.AsExpected = v.Result == Pass
	case ExpectFail:
		v.AsExpected = v.Result == Fail
	case ExpectBlocked:
		v.AsExpected = v.Result == Blocked
	case ExpectStuck:
		v.AsExpected = v.Result == Stuck
	case ExpectRisk:
		v.AsExpected = v.Result == Pass || v.Result == Fail
	}
	return v
}

func judge(e Evidence, expect Expectation, mayPass map[string]string) (Result, string) {
	if e.Blocked != "" {
		if e.Window.Failed() > 0 {
			return Fail, e.Blocked + "; meanwhile " + e.Window.Summary()
		}
		return Blocked, e.Blocked + "; zero failed requests of " + fmt.Sprint(e.Window.Sent())
	}
	if expect == ExpectBlocked {
		return Invalid, "the disruption was expected to be refused and was not"
	}
	switch {
	case e.DisruptionError != "":
		return Error, "the disruption did not complete: " + e.DisruptionError
	case e.Unverified != "":
		return Invalid, "the disruption did not do what it claims: " + e.Unverified
	case e.Load == nil:
		return Error, "no load result"
	case !e.Load.Valid:
		return Invalid, "the load is no evidence: " + strings.Join(e.Load.Invalid, "; ")
	}
	if p := reconciliationProblems(e.Reconciliation); p != "" {
		return Invalid, "the counts do not reconcile: " + p
	}
	if idle := idlePaths(e); len(idle) > 0 {
		return Invalid, "no request was judged on " + strings.Join(idle, ", ")
	}
	if short := shortPaths(e); len(short) > 0 {
		return Invalid, "the load ended before the disruption did on " + strings.Join(short, ", ")
	}
	if len(e.Unreached) > 0 {
		return Invalid, "traffic did not reach every pod before the disruption: " + strings.Join(e.Unreached, ", ")
	}
	// a stuck rollout is judged on the same evidence as a pass: every
	// request accounted for, traffic on every path and pod, zero failures
	stuck := ""
	if e.Stuck != nil {
		stuck = e.Stuck.String() + "; "
	}
	if e.Window.Failed() > 0 {
		if sat := saturated(e); sat != "" {
			return Invalid, "system under test saturated, not a shutdown race: " + sat
		}
		if lost := lostAnswers(e); lost != "" {
			return Invalid, "answers lost on the harness's own way back, not a shutdown race: " + lost
		}
		if expect == ExpectFail {
			if blind := blindPaths(e, mayPass); len(blind) > 0 {
				return Invalid, "instrument blind on " + strings.Join(blind, ", ") + ": this control must fail on every path it loads, in race classes, inside the disruption; " + e.Window.Summary()
			}
		}
		if stuck != "" {
			return Fail, stuck + "meanwhile " + e.Window.Summary()
		}
		return Fail, e.Window.Summary()
	}
	if expect == ExpectFail {
		return Invalid, stuck + "instrument blind on every path: this negative control must drop requests and dropped none of " + fmt.Sprint(e.Window.Sent())
	}
	if expect == ExpectStuck && e.Stuck == nil {
		return Invalid, "the rollout was expected to get stuck and completed: the broken version was not broken"
	}
	if e.NewVersion != "" && e.FinalVersionShare < 1 {
		return Invalid, stuck + fmt.Sprintf("the version %s served only %.0f%% at the end: the rollout did not really happen", e.NewVersion, e.FinalVersionShare*100)
	}
	if e.Server.Complete && !e.Server.Verified {
		return Invalid, stuck + "server-side counts disagree with the load: " + e.Server.Note
	}
	reason := "zero failed requests of " + fmt.Sprint(e.Window.Sent())
	if n := total(e.InSpan); n > 0 {
		pw := PowerOf(n)
		reason += fmt.Sprintf(", %d inside the disruption (failure rate below %.2g%% at 95%% confidence)", n, pw.UpperBound*100)
	}
	if !e.Server.Complete && e.Server.Note != "" {
		reason = "pass (server counts unverified: " + e.Server.Note + "): " + reason
		if stuck != "" {
			reason = strings.Replace(reason, "pass (", "(", 1)
		}
	}
	if len(e.Unproven) > 0 {
		reason += "; unverified: " + strings.Join(e.Unproven, "; ")
	}
	if len(e.Killed) > 0 {
		reason += "; but SIGKILL ended " + strings.Join(e.Killed, ", ") + " (exit 137): the grace period ran out before the app finished"
	}
	if e.Stuck != nil {
		return Stuck, stuck + reason
	}
	return Pass, reason
}

func reconciliationProblems(counts []PathCount) string {
	var out []string
	for _, c := range counts {
		if c.Problem != "" {
			out = append(out, c.Path+": "+c.Problem)
		}
	}
	return strings.Join(out, "; ")
}

// idlePaths are loaded paths with no request in the judged window.
func idlePaths(e Evidence) []string {
	var out []string
	for _, p := range e.Paths {
		if w := e.Window.Paths[p]; w == nil || w.Sent == 0 {
			out = append(out, p)
		}
	}
	return out
}

// shortPaths are paths whose last request started before the disruption
// span ended: the load did not outlive the disruption.
func shortPaths(e Evidence) []string {
	if e.Span == nil || e.Span.End.IsZero() {
		return nil
	}
	var out []string
	for _, p := range e.Paths {
		st := e.Load.Paths[p]
		if st == nil || st.Last.Before(e.Span.Until().Add(-loadTolerance)) {
			out = append(out, p)
		}
	}
	return out
}

// blindPaths are loaded paths without a race-class failure inside the
// span, but for those the expectation lets pass.
func blindPaths(e Evidence, mayPass map[string]string) []string {
	var out []string
	for _, p := range e.Paths {
		if _, spared := mayPass[p]; !spared && e.RacesInSpan[p] == 0 {
			out = append(out, p)
		}
	}
	return out
}

// saturated explains failures no pod event explains, on a path whose
// latency blew up before any pod began terminating ("" when not so).
func saturated(e Evidence) string {
	var out []string
	for _, s := range e.Saturation {
		unexplained := e.Attribution[s.Path][AttrNone]
		if s.Saturated && unexplained > 0 {
			out = append(out, fmt.Sprintf("%s: %d failures no pod event explains; median latency %s at %s against a baseline of %s, before the first pod began terminating",
				s.Path, unexplained, s.WorstP50.Round(time.Millisecond), s.At.Format("15:04:05"), s.BaseP50.Round(time.Millisecond)))
		}
	}
	return strings.Join(out, "; ")
}

// lostAnswers explains failures that are all timeouts, each path's at
// least half matched by requests the app served and whose answers never
// reached the client (ServerCounts.Lost): the pod answered, and the answer
// was lost between it and the client — in the harness's own path (Docker's
// port mapping, the ingress controller's queues, a starved generator), not
// in the pod's shutdown, which refuses, resets or answers 5xx. "" when not
// so: a failure of any other class, or a path whose timeouts the app's
// counts do not match, stands as a failure.
func lostAnswers(e Evidence) string {
	if !e.Server.Complete {
		return ""
	}
	var out []string
	for _, p := range sortedKeys(e.Window.Paths) {
		n := 0
		for c, k := range e.Window.Paths[p].Failed {
			if c != Timeout && k > 0 {
				return ""
			}
			n += k
		}
		if n == 0 {
			continue
		}
		lost := e.Server.Lost[p]
		if 2*lost < int64(n) {
			return ""
		}
		out = append(out, fmt.Sprintf("%s: %d timed out, and the app served %d requests whose answers never arrived", p, n, lost))
	}
	return strings.Join(out, "; ")
}

func total(m map[string]int) (n int) {
	for _, v := range m {
		n += v
	}
	return n
}

// Answers counts, per path, the records the app answered — a request
// whose final try got a status, a stream session whose handshake succeeded
// — and, among them, the requests Go's transport had to send twice.
func Answers(records []Record) (answered, retried map[string]int) {
	answered, retried = map[string]int{}, map[string]int{}
	for _, r := range records {
		if r.Code >= 200 && r.Code < 400 {
			answered[r.Path]++
		}
		if r.Class == RetriedNoAnswer || r.Class == RetriedUnwritten {
			retried[r.Path]++
		}
	}
	return answered, retried
}

// CrossCheck compares the app's own counts (reports of exited pods and live
// ones) with the answers the load got, per path (see Answers). A request Go
// retried counts once when the app's count equals the answers: its first
// try never reached the app, so it was safe to retry; more counted than
// answered means answers were lost on the way back.
func CrossCheck(perPod map[string]map[string]int64, missing []string, answered, retried map[string]int) ServerCounts {
	sc := ServerCounts{PerPod: perPod, Total: map[string]int64{}}
	for _, counts := range perPod {
		for path, n := range counts {
			sc.Total[path] += n
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		sc.Note = "no count from " + strings.Join(missing, ", ") + " (killed before it could report)"
		return sc
	}
	sc.Complete = true
	sc.Disagree = map[string]string{}
	var diffs []string
	for _, path := range sortedKeys(answered) {
		got, want := sc.Total[path], int64(answered[path])
		switch {
		case got == want && retried[path] > 0:
			sc.Retries = append(sc.Retries, fmt.Sprintf("%s: the app served each of the %d retried requests once: their first tries never reached it", path, retried[path]))
		case got > want:
			if sc.Lost == nil {
				sc.Lost = map[string]int64{}
			}
			sc.Lost[path] = got - want
			sc.Disagree[path] = fmt.Sprintf("server counted %d, load saw %d answers: %d served requests whose answers never arrived", got, want, got-want)
		case got < want:
			sc.Disagree[path] = fmt.Sprintf("server counted %d, load saw %d answers", got, want)
		}
		if d, ok := sc.Disagree[path]; ok {
			diffs = append(diffs, path+": "+d)
		}
	}
	sc.Verified = len(diffs) == 0
	sc.Note = strings.Join(diffs, "; ")
	return sc
}
