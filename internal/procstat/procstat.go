// Package procstat measures the CPU time processes on this host spend, by
// group (the load generator, Docker's userland proxy, the ingress
// controller, the app), for benchmarks: kind nodes are containers on the
// same kernel, so every process of the cluster is visible in /proc.
package procstat

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ticks is the kernel's clock tick (USER_HZ), 100 on Linux.
const ticks = 100

// Group names a set of processes by their command name.
type Group struct {
	Name  string
	Match func(comm, cmdline string) bool
}

// Comm matches processes whose command name (15 characters at most) starts with prefix.
func Comm(name, prefix string) Group {
	return Group{Name: name, Match: func(comm, _ string) bool { return strings.HasPrefix(comm, prefix) }}
}

// Snapshot is the CPU time of every process in each group, and the
// machine's total busy time, at one moment.
type Snapshot struct {
	At     time.Time
	Groups map[string]time.Duration
	// perPID keeps each process's CPU by group, so that a process that
	// exits between two snapshots does not subtract its past from the others.
	perPID map[string]map[int]time.Duration
	// Busy is every core's non-idle time from /proc/stat (user, system,
	// softirq, ...): what the machine spent, kernel networking included.
	Busy time.Duration
}

// Take reads /proc once.
func Take(groups []Group) (Snapshot, error) {
	s := Snapshot{At: time.Now(), Groups: map[string]time.Duration{}, perPID: map[string]map[int]time.Duration{}}
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return s, fmt.Errorf("procstat: %w", err)
	}
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		comm, cpu, ok := parseStat(string(stat))
		if !ok {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		pid, _ := strconv.Atoi(filepath.Base(d))
		for _, g := range groups {
			if g.Match(comm, strings.ReplaceAll(string(cmdline), "\x00", " ")) {
				s.Groups[g.Name] += cpu
				if s.perPID[g.Name] == nil {
					s.perPID[g.Name] = map[int]time.Duration{}
				}
				s.perPID[g.Name][pid] = cpu
			}
		}
	}
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return s, fmt.Errorf("procstat: %w", err)
	}
	s.Busy = busy(string(raw))
	return s, nil
}

// Since is the CPU each group (and the machine) spent from earlier to s,
// process by process: a process that started in between counts whole, one
// that ended in between is not counted (what it spent in the window is lost:
// measure processes that outlive it).
func (s Snapshot) Since(earlier Snapshot) Snapshot {
	out := Snapshot{At: s.At, Groups: map[string]time.Duration{}, Busy: s.Busy - earlier.Busy}
	for g, pids := range s.perPID {
		for pid, d := range pids {
			out.Groups[g] += max(0, d-earlier.perPID[g][pid])
		}
	}
	return out
}

// parseStat reads the command name and utime+stime of a /proc/<pid>/stat
// line; the name is in parentheses and may hold spaces.
func parseStat(line string) (string, time.Duration, bool) {
	open, close := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || close < open {
		return "", 0, false
	}
	fields := strings.Fields(line[close+1:])
	// after the name: state(0) ppid(1) ... utime(11) stime(12)
	if len(fields) < 13 {
		return "", 0, false
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, false
	}
	return line[open+1 : close], time.Duration(ut+st) * time.Second / ticks, true
}

// busy sums the non-idle columns of the cpu line of /proc/stat.
func busy(stat string) time.Duration {
	for _, line := range strings.Split(stat, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || f[0] != "cpu" {
			continue
		}
		var total int64
		for i, v := range f[1:] {
			if i == 3 || i == 4 { // idle, iowait
				continue
			}
			n, _ := strconv.ParseInt(v, 10, 64)
			total += n
		}
		return time.Duration(total) * time.Second / ticks
	}
	return 0
}
