package runner

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/zerodrop/zerodrop/observe"
	"github.com/zerodrop/zerodrop/outcome"
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
	records, rerr := readRecords(filepath.Join(st.dir, recordsFile))
	ev := outcome.Evidence{Load: st.result, Window: outcome.MeasureWindow(records, st.warmAt), Unreached: st.unreached,
		FinalVersionShare: -1, NewVersion: st.sc.NewVersion}
	if perPod != nil || missing != nil {
		ev.Server = outcome.CrossCheck(perPod, missing, st.result)
	}
	if st.disruptionErr != nil {
		ev.DisruptionError = st.disruptionErr.Error()
	} else if st.sc.NewVersion != "" {
		ev.FinalVersionShare = finalShare(st.result, st.sc.NewVersion)
	}
	if rerr != nil {
		st.result.Valid = false
		st.result.Invalid = append(st.result.Invalid, "records.jsonl could not be read: "+rerr.Error())
	}
	out := st.out
	out.Server = ev.Server
	out.MeasuredFrom, out.WarmupFailures, out.Window = st.warmAt.UTC(), ev.Window.Warmup, &ev.Window
	for _, f := range st.failures {
		if !f.Start.Before(st.warmAt) {
			out.Failures = append(out.Failures, f)
		}
	}
	out.Timeline = st.timeline.Events()
	out.Tail = observe.PropagationTails(records, out.Timeline)
	out.Verdict = outcome.Judge(ev, st.sc.Expectation())
	return nil
}

// finalShare is the share of the last full second's successful answers that
// came from version v, over every path.
func finalShare(r *outcome.LoadResult, v string) float64 {
	total, from := 0, 0
	for _, p := range r.Paths {
		if len(p.Series) < 2 {
			continue
		}
		last := p.Series[len(p.Series)-2] // the last second is partial
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

func readRecords(path string) ([]outcome.Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []outcome.Record
	err = outcome.ReadRecords(f, func(r outcome.Record) error { out = append(out, r); return nil })
	return out, err
}
