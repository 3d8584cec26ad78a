package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/chaos"
	"github.com/zerodrop/zerodrop/observe"
	"github.com/zerodrop/zerodrop/outcome"
	"github.com/zerodrop/zerodrop/suites"
)

// judgePhase gathers the evidence — the records on disk, the app's own
// counts, the timeline — and judges it.
type judgePhase struct{}

func (judgePhase) Execute(ctx context.Context, st *State) error {
	// the last lifecycle reports of exited containers come with the end of
	// their logs: wait for those, not for a fixed time
	if running, err := observe.RunningInstances(ctx, st.rt.Client, st.ref); err == nil {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if werr := st.timeline.WaitLogs(wctx, running); werr != nil {
			st.log.Debug("judge: app logs incomplete", "err", werr)
		}
		cancel()
	}
	perPod, missing := observe.ServerCounts(ctx, st.rt.Client, st.ref, st.timeline)
	st.stopTimeline()
	out := st.out
	out.Timeline = st.timeline.Events()
	records, rerr := outcome.ReadRecordsFile(filepath.Join(st.dir, recordsFile))
	if rerr != nil {
		st.result.Valid = false
		st.result.Invalid = append(st.result.Invalid, "records.jsonl could not be read: "+rerr.Error())
	}
	ev := outcome.Evidence{Load: st.result, Paths: st.sc.PathNames(), Window: outcome.MeasureWindow(records, st.warmAt),
		Span: st.span, Unreached: st.unreached, FinalVersionShare: -1, NewVersion: st.sc.NewVersion}
	ev.Reconciliation = reconcile(st, records)
	ev.Unproven = st.notes
	if !st.ref.AppEvents {
		ev.Unproven = append(ev.Unproven, "the app's own counts (it reports none)")
	}
	ev.Killed = killed(out.Timeline, st.ref.Container)
	if perPod != nil || missing != nil {
		answered, retried := outcome.Answers(records)
		ev.Server = outcome.CrossCheck(perPod, missing, answered, retried)
	}
	if st.span != nil {
		ev.Stuck = st.span.Stuck
	}
	if st.disruptionErr != nil {
		disruptionEvidence(st.disruptionErr, &ev)
	} else if st.sc.NewVersion != "" {
		ev.FinalVersionShare = finalShare(st.result, st.sc.NewVersion)
	}
	for _, f := range st.failures {
		if !f.Start.Before(st.warmAt) {
			out.Failures = append(out.Failures, f)
		}
	}
	if st.span != nil {
		ev.InSpan, ev.RacesInSpan = outcome.InSpan(records, *st.span)
		out.Stalls = outcome.FindStalls(records, st.span.Start, st.span.Until(), stallMin)
	}
	ev.Attribution = outcome.Attribute(out.Failures, out.Timeline)
	ev.Saturation = outcome.MeasureSaturation(st.result, st.warmAt, out.Timeline)
	out.Server = ev.Server
	out.MeasuredFrom, out.WarmupFailures, out.Window = st.warmAt.UTC(), ev.Window.Warmup, &ev.Window
	out.Reconciliation, out.Attribution, out.Saturation, out.InSpan = ev.Reconciliation, ev.Attribution, ev.Saturation, ev.InSpan
	out.Tail = observe.PropagationTails(records, out.Timeline)
	out.Cells, out.Verdict = outcome.JudgeCells(ev, st.sc.Expectations())
	return nil
}

// disruptionEvidence files a disruption's error where the judge weighs it:
// an outcome of its own (a blocked drain), a claim not verified, or a
// disruption that did not complete. (A stuck rollout is no error: see
// stuckOutcome.)
func disruptionEvidence(err error, ev *outcome.Evidence) {
	var u chaos.Unverified
	var b chaos.Blocked
	switch {
	case errors.As(err, &u):
		ev.Unverified = u.What
	case errors.As(err, &b):
		ev.Blocked = b.Error()
	default:
		ev.DisruptionError = err.Error()
	}
}

// killed lists the app containers the timeline saw end with exit code 137.
func killed(timeline []outcome.Event, container string) []string {
	var out []string
	for _, e := range timeline {
		if e.Kind == "container_terminated" && strings.HasPrefix(e.Detail, container+" exit 137") {
			out = append(out, e.Pod)
		}
	}
	return out
}

// stallMin is the longest a path may go without a success, while requests
// are sent, before it is reported as a stall.
const stallMin = 200 * time.Millisecond

// reconcile counts each path's records on disk against the load's counts,
// and the in-cluster generator's streamed records against what reached disk.
func reconcile(st *State, records []outcome.Record) []outcome.PathCount {
	onDisk := map[string]int{}
	for _, r := range records {
		onDisk[r.Path]++
	}
	counts := outcome.Reconcile(st.result, onDisk)
	if st.remote == nil {
		return counts
	}
	inCluster := 0
	for _, p := range st.sc.Paths {
		if p.InCluster() {
			inCluster += onDisk[string(p)]
		}
	}
	if inCluster != st.followed {
		for i := range counts {
			if p, _ := suites.ParsePath(counts[i].Path); p.InCluster() {
				counts[i].Problem = strings.TrimPrefix(counts[i].Problem+"; ", "; ") +
					fmt.Sprintf("the in-cluster generator streamed %d records, %d reached disk", st.followed, inCluster)
			}
		}
	}
	return counts
}

// finalShare is the share of the last full second's successful answers that
// came from version v, over every path. A stream path's series counts its
// sessions by the second they opened, sparsely: there the latest sessions
// count, by the version they streamed from.
func finalShare(r *outcome.LoadResult, v string) float64 {
	total, from := 0, 0
	for _, p := range r.Paths {
		var last *outcome.Second
		switch {
		case p.Stream != nil && len(p.Series) > 0:
			last = p.Series[len(p.Series)-1]
		case p.Stream == nil && len(p.Series) >= 2:
			last = p.Series[len(p.Series)-2] // the last second is partial
		default:
			continue
		}
		for ver, n := range last.Versions {
			total += n
			if ver == v {
				from += n
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(from) / float64(total)
}
