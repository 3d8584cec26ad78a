package load

import (
	"sort"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// streamAcc accumulates a stream path's sessions: as requests (one record
// each) into its PathStats, and into its StreamStats.
type streamAcc struct {
	*pathAcc
	st         *outcome.StreamStats
	reconnects []time.Duration
	lastEnd    time.Time
}

func newStreamAcc(path string, kind StreamKind, conns int) *streamAcc {
	return &streamAcc{pathAcc: newPathAcc(path, 0), st: &outcome.StreamStats{Kind: kind, Conns: conns}}
}

func (a *streamAcc) add(r Record) {
	ss := r.Session
	// the series shows what a (re)connecting client waits for: its first
	// message, or the failure when none came; a session's whole length
	// says nothing about the system's speed
	series := r
	if ss.Messages > 0 {
		series.Latency = ss.FirstMessage
	}
	a.pathAcc.add(series)
	a.st.Messages += ss.Messages
	a.st.Missing += ss.Missing
	switch ss.Closed {
	case outcome.ClosedPolite:
		a.st.Polite++
	case outcome.ClosedStop:
		a.st.Stopped++
	case outcome.ClosedRedial:
		a.st.Redialed++
	case outcome.ClosedLifetime:
		a.st.Ended++
	}
	if r.Conn != "" && ss.Messages == 0 {
		a.st.Empty++
	}
	if ss.Reconnect > 0 {
		a.reconnects = append(a.reconnects, ss.Reconnect)
	}
	if e := r.End(); e.After(a.lastEnd) {
		a.lastEnd = e
	}
}

// finish completes the path's stats and returns its accounting problems.
func (a *streamAcc) finish() []string {
	problems := a.pathAcc.finish()
	if a.Sent > 0 {
		a.Last = a.lastEnd
	}
	a.Achieved = 0 // a stream path has no request rate
	sort.Slice(a.reconnects, func(i, j int) bool { return a.reconnects[i] < a.reconnects[j] })
	if n := len(a.reconnects); n > 0 {
		a.st.Reconnects = n
		a.st.ReconnectP50, a.st.ReconnectP99, a.st.ReconnectMax = quantile(a.reconnects, 0.5), quantile(a.reconnects, 0.99), a.reconnects[n-1]
	}
	a.reconnects = nil
	a.Stream = a.st
	return problems
}
