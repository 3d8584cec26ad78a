package procstat

import (
	"syscall"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	line := "1234 (zerodrop-fixtu re) S 1 1234 1234 0 -1 4194560 500 0 0 0 250 130 0 0 20 0 9 0 100 0 0"
	comm, cpu, ok := parseStat(line)
	if !ok || comm != "zerodrop-fixtu re" || cpu != 3800*time.Millisecond {
		t.Fatalf("%q %s %v", comm, cpu, ok)
	}
}

func TestBusy(t *testing.T) {
	stat := "cpu  100 5 50 9000 40 0 25 0 0 0\ncpu0 50 2 25 4500 20 0 12 0 0 0\n"
	if got := busy(stat); got != 1800*time.Millisecond {
		t.Fatalf("busy %s", got)
	}
}

func TestTakeSeesThisProcess(t *testing.T) {
	g := []Group{Comm("test", "procstat.test")}
	a, err := Take(g)
	if err != nil {
		t.Fatal(err)
	}
	// spin until this process has used 300 ms of CPU by its own count (on
	// a busy machine that takes longer than 300 ms of wall time), bounded
	spent := selfCPU(t)
	for end := time.Now().Add(20 * time.Second); selfCPU(t)-spent < 300*time.Millisecond && time.Now().Before(end); {
	}
	b, _ := Take(g)
	if d := b.Since(a).Groups["test"]; d < 200*time.Millisecond {
		t.Fatalf("spinning for 300 ms of CPU (by getrusage: %s) was seen as %s", selfCPU(t)-spent, d)
	}
}

// TestSinceIgnoresProcessesThatExited: a process that ended between two
// snapshots must not subtract its CPU from the processes still running.
func TestSinceIgnoresProcessesThatExited(t *testing.T) {
	before := Snapshot{perPID: map[string]map[int]time.Duration{"app": {1: 10 * time.Second, 2: 5 * time.Second}}}
	after := Snapshot{perPID: map[string]map[int]time.Duration{"app": {2: 6 * time.Second, 3: time.Second}}}
	if got := after.Since(before).Groups["app"]; got != 2*time.Second {
		t.Fatalf("CPU in the window %s, want 2s (1s of pid 2, 1s of the new pid 3)", got)
	}
}

// selfCPU is this process's CPU time (user and system) by getrusage.
func selfCPU(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
