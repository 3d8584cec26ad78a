package observe

import (
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// PropagationTails measures, per path, how long after SIGTERM (and after its
// endpoint stopped being ready) each terminating pod still got requests, from
// the load's records and the timeline. The maximum over pods is the tail.
// The endpoint's removal counts from the pod's deletion when that came
// later: a pod a Service let go of long before (a rainbow deployment's old
// colour) was serving its clients by design until then.
func PropagationTails(records []outcome.Record, timeline []outcome.Event) map[string]outcome.Tail {
	sigterm, unready, deleting := map[string]time.Time{}, map[string]time.Time{}, map[string]time.Time{}
	// an endpoint leaves the ready set only after it was in it: a pod's
	// endpoint in a Service's slice that the EndpointSlice controller has
	// not yet marked ready when the recording starts is no removal
	wasReady := map[[2]string]bool{} // pod, Service
	for _, e := range timeline {
		switch {
		case e.Kind == outcome.KindAppSigterm:
			if _, ok := sigterm[e.Pod]; !ok {
				sigterm[e.Pod] = e.Time
			}
		case e.Kind == "pod_deleting":
			if _, ok := deleting[e.Pod]; !ok {
				deleting[e.Pod] = e.Time
			}
		case e.Source == outcome.SourceEndpoint && e.Pod != "":
			k := [2]string{e.Pod, strings.SplitN(e.Detail, " ", 2)[0]}
			if e.Kind == outcome.KindEndpointReady {
				wasReady[k] = true
				continue
			}
			if _, ok := unready[e.Pod]; !ok && wasReady[k] {
				unready[e.Pod] = e.Time
			}
		}
	}
	// a pod a Service let go of long before it was deleted (the old colour
	// of a rainbow deployment, kept for its clients) served them by design
	// until its deletion: that is when it began to go
	for pod, d := range deleting {
		if u, ok := unready[pod]; ok && d.After(u) {
			unready[pod] = d
		}
	}
	last := map[[2]string]time.Time{} // path, pod -> last request start that reached the pod
	for _, r := range records {
		if r.Pod == "" || r.Class != outcome.OK {
			continue
		}
		k := [2]string{r.Path, r.Pod}
		if r.Start.After(last[k]) {
			last[k] = r.Start
		}
	}
	out := map[string]outcome.Tail{}
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
