package outcome

import (
	"fmt"
	"sort"
	"strings"
)

// Result is a scenario's verdict.
type Result string

const (
	Pass    Result = "pass"    // zero failed requests, disruption really happened, traffic really flowed
	Fail    Result = "fail"    // requests failed
	Invalid Result = "invalid" // no evidence either way (generator saturated, traffic never reached a pod, ...)
	Error   Result = "error"   // the scenario could not run (disruption failed, cluster error)
)

// Verdict is the scenario's result and whether it is what the profile expects.
type Verdict struct {
	Result   Result      `json:"result"`
	Reason   string      `json:"reason"`
	Expected Expectation `json:"expected"`
	// AsExpected: pass for a pass profile, fail for a negative control. A
	// control that passes means the instrument is blind.
	AsExpected bool `json:"asExpected"`
}

// Evidence is what a scenario observed, the input of Judge.
type Evidence struct {
	Load *LoadResult
	// Window is the part of the load the verdict judges: from the moment the
	// load was warm on every path (the chaosmonkey "ready" point) to the end.
	// Failures before it belong to the warm-up (for example kube-proxy still
	// rejecting a Service it has not programmed yet), not to the disruption.
	Window Window
	// DisruptionError says why the disruption did not complete ("" if it did).
	DisruptionError string
	// Unreached lists pods that got no request on some path before the disruption.
	Unreached []string
	// FinalVersionShare is the share of the last second's answers from the new
	// version, for rolling updates (negative: not a version change).
	FinalVersionShare float64
	NewVersion        string
	Server            ServerCounts
}

// Judge turns evidence into a verdict. Pure: the semantics of a trustworthy
// verdict live here and are unit-tested.
func Judge(e Evidence, expect Expectation) Verdict {
	v := Verdict{Expected: expect}
	switch {
	case e.DisruptionError != "":
		v.Result, v.Reason = Error, "the disruption did not complete: "+e.DisruptionError
	case e.Load == nil:
		v.Result, v.Reason = Error, "no load result"
	case !e.Load.Valid:
		v.Result, v.Reason = Invalid, "the load is no evidence: "+strings.Join(e.Load.Invalid, "; ")
	case len(e.Unreached) > 0:
		v.Result, v.Reason = Invalid, "traffic did not reach every pod before the disruption: "+strings.Join(e.Unreached, ", ")
	case e.Window.Failed() > 0:
		v.Result, v.Reason = Fail, e.Window.Summary()
	case e.NewVersion != "" && e.FinalVersionShare < 1:
		v.Result, v.Reason = Invalid, fmt.Sprintf("the new version %s served only %.0f%% at the end: the rollout did not really happen", e.NewVersion, e.FinalVersionShare*100)
	case e.Server.Complete && !e.Server.Verified:
		v.Result, v.Reason = Invalid, "server-side counts disagree with the load: "+e.Server.Note
	default:
		v.Result, v.Reason = Pass, fmt.Sprintf("zero failed requests of %d", e.Window.Sent())
	}
	switch expect {
	case ExpectPass:
		v.AsExpected = v.Result == Pass
	case ExpectFail:
		v.AsExpected = v.Result == Fail
		if v.Result == Pass {
			v.Reason += "; this negative control must drop requests: the instrument is blind"
		}
	}
	return v
}

// CrossCheck compares the app's own counts (reports of exited pods and live
// ones) with the load's successes per path.
func CrossCheck(perPod map[string]map[string]int64, missing []string, r *LoadResult) ServerCounts {
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
	var diffs []string
	for path, s := range r.Paths {
		if got := sc.Total[path]; got != int64(s.OK) {
			diffs = append(diffs, fmt.Sprintf("%s: server counted %d, load saw %d successes", path, got, s.OK))
		}
	}
	sort.Strings(diffs)
	sc.Verified = len(diffs) == 0
	sc.Note = strings.Join(diffs, "; ")
	return sc
}
