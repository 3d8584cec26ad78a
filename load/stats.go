package load

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/zerodrop/zerodrop/outcome"
)

// PathStats are one path's totals and series (recorded in the outcome).
type PathStats = outcome.PathStats

// Second is one second of one path's series.
type Second = outcome.Second

// pathAcc accumulates one path's records into its PathStats.
type pathAcc struct {
	*PathStats
	seqs     map[uint64]bool
	maxSeq   uint64
	dupSeq   int
	bySecond map[int64]*second
}

// second is a Second being filled, with its latencies for the quantiles.
type second struct {
	*Second
	lat []time.Duration
}

func newPathAcc(path string, rate int) *pathAcc {
	return &pathAcc{PathStats: &PathStats{Path: path, Planned: rate, Failed: map[Class]int{}, Pods: map[string]int{}},
		seqs: map[uint64]bool{}, bySecond: map[int64]*second{}}
}

func (s *pathAcc) add(r Record) {
	s.Sent++
	if s.seqs[r.Seq] {
		s.dupSeq++
	}
	s.seqs[r.Seq] = true
	if r.Seq > s.maxSeq {
		s.maxSeq = r.Seq
	}
	if s.First.IsZero() || r.Start.Before(s.First) {
		s.First = r.Start
	}
	if r.Start.After(s.Last) {
		s.Last = r.Start
	}
	switch r.Conn {
	case "new":
		s.NewConns++
	case "reused":
		s.Reused++
	}
	sec := r.Start.Unix()
	b := s.bySecond[sec]
	if b == nil {
		b = &second{Second: &Second{At: time.Unix(sec, 0).UTC(), Failed: map[Class]int{}, Versions: map[string]int{}}}
		s.bySecond[sec] = b
	}
	b.Sent++
	b.lat = append(b.lat, r.Latency)
	if r.Class == outcome.OK {
		s.OK++
		b.OK++
		if r.Pod != "" {
			s.Pods[r.Pod]++
		}
		if r.Version != "" {
			b.Versions[r.Version]++
		}
	} else {
		s.Failed[r.Class]++
		s.FailedAll++
		b.Failed[r.Class]++
	}
}

// finish computes quantiles, the achieved rate and the accounting problems.
func (s *pathAcc) finish() []string {
	keys := make([]int64, 0, len(s.bySecond))
	for k := range s.bySecond {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	s.Series = s.Series[:0]
	for _, k := range keys {
		b := s.bySecond[k]
		sort.Slice(b.lat, func(i, j int) bool { return b.lat[i] < b.lat[j] })
		b.P50, b.P99 = quantile(b.lat, 0.5), quantile(b.lat, 0.99)
		b.lat = nil
		s.Series = append(s.Series, b.Second)
	}
	var problems []string
	if s.Sent > 0 {
		s.Scheduled = int(s.maxSeq) + 1
		if missing := int(s.maxSeq) + 1 - len(s.seqs); missing > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d scheduled requests have no result", s.Path, missing))
		}
		if s.dupSeq > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d requests have two results", s.Path, s.dupSeq))
		}
		if span := s.Last.Sub(s.First).Seconds(); s.Sent > 1 && span > 0 {
			s.Achieved = float64(s.Sent-1) / span
		}
	}
	s.seqs, s.bySecond = nil, nil
	return problems
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}
