package suites

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/fixtures/server"
	"github.com/zerodrop/zerodrop/load"
	"github.com/zerodrop/zerodrop/reports"
)

// Evidence is what a scenario observed, the input of Judge.
type Evidence struct {
	Load *load.Result
	// Window is the part of the load the verdict judges: from the moment the
	// load was warm on every path (the chaosmonkey "ready" point) to the end.
	// Failures before it belong to the warm-up (for example kube-proxy still
	// rejecting a Service it has not programmed yet), not to the disruption.
	Window        reports.Window
	DisruptionErr error
	// Unreached lists pods that got no request on some path before the disruption.
	Unreached []string
	// FinalVersionShare is the share of the last second's answers from the new
	// version, for rolling updates (negative: not a version change).
	FinalVersionShare float64
	NewVersion        string
	Server            reports.ServerCounts
}

// Judge turns evidence into a verdict. Pure: the semantics of a trustworthy
// verdict live here and are unit-tested.
func Judge(e Evidence, expect fixtures.Expectation) reports.Verdict {
	v := reports.Verdict{Expected: expect}
	switch {
	case e.DisruptionErr != nil:
		v.Result, v.Reason = reports.Error, "the disruption did not complete: "+e.DisruptionErr.Error()
	case e.Load == nil:
		v.Result, v.Reason = reports.Error, "no load result"
	case !e.Load.Valid:
		v.Result, v.Reason = reports.Invalid, "the load is no evidence: "+strings.Join(e.Load.Invalid, "; ")
	case len(e.Unreached) > 0:
		v.Result, v.Reason = reports.Invalid, "traffic did not reach every pod before the disruption: "+strings.Join(e.Unreached, ", ")
	case e.Window.Failed() > 0:
		v.Result, v.Reason = reports.Fail, e.Window.Summary()
	case e.NewVersion != "" && e.FinalVersionShare < 1:
		v.Result, v.Reason = reports.Invalid, fmt.Sprintf("the new version %s served only %.0f%% at the end: the rollout did not really happen", e.NewVersion, e.FinalVersionShare*100)
	case e.Server.Complete && !e.Server.Verified:
		v.Result, v.Reason = reports.Invalid, "server-side counts disagree with the load: "+e.Server.Note
	default:
		v.Result, v.Reason = reports.Pass, fmt.Sprintf("zero failed requests of %d", e.Window.Sent())
	}
	switch expect {
	case fixtures.ExpectPass:
		v.AsExpected = v.Result == reports.Pass
	case fixtures.ExpectFail:
		v.AsExpected = v.Result == reports.Fail
		if v.Result == reports.Pass {
			v.Reason += "; this negative control must drop requests: the instrument is blind"
		}
	}
	return v
}

// PropagationTails measures, per path, how long after SIGTERM (and after its
// endpoint stopped being ready) each terminating pod still got requests, from
// the load's records and the timeline. The maximum over pods is the tail.
func PropagationTails(records []load.Record, timeline []chaos.Event) map[string]reports.Tail {
	sigterm, unready := map[string]time.Time{}, map[string]time.Time{}
	for _, e := range timeline {
		switch {
		case e.Kind == "app_"+server.EvSigterm:
			if _, ok := sigterm[e.Pod]; !ok {
				sigterm[e.Pod] = e.Time
			}
		case e.Source == "endpoint" && e.Kind != "endpoint_ready" && e.Pod != "":
			if _, ok := unready[e.Pod]; !ok {
				unready[e.Pod] = e.Time
			}
		}
	}
	last := map[[2]string]time.Time{} // path, pod -> last request start that reached the pod
	for _, r := range records {
		if r.Pod == "" || r.Class != load.OK {
			continue
		}
		k := [2]string{r.Path, r.Pod}
		if r.Start.After(last[k]) {
			last[k] = r.Start
		}
	}
	out := map[string]reports.Tail{}
	for k, t := range last {
		path, pod := k[0], k[1]
		sig, ok := sigterm[pod]
		if !ok {
			continue
		}
		tail := out[path]
		tail.Pods++
		if d := t.Sub(sig); d > tail.FromSIGTERM || tail.Pod == "" {
			tail.FromSIGTERM, tail.Pod = d, pod
		}
		if u, ok := unready[pod]; ok {
			if d := t.Sub(u); d > tail.FromEndpointRemoval {
				tail.FromEndpointRemoval = d
			}
		}
		out[path] = tail
	}
	return out
}

// CrossCheck compares the fixture's own counts (reports of exited pods and
// /stats of live ones) with the load's successes per path.
func CrossCheck(perPod map[string]map[string]int64, missing []string, r *load.Result) reports.ServerCounts {
	sc := reports.ServerCounts{PerPod: perPod, Total: map[string]int64{}}
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
