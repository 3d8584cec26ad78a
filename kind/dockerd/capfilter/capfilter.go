// Package capfilter trims the Linux capabilities of an OCI runtime spec down to
// what this machine's capability bounding set allows.
//
// Why: on VMs whose bounding set lacks a capability (these lack
// CAP_SYS_RESOURCE), `docker run --privileged` — what kind does for every node —
// asks runc for every capability and fails with "unable to apply caps:
// operation not permitted". A runtime wrapper calls Filter on the bundle's
// config.json (create/run) and on the --process file (exec) and then execs runc.
package capfilter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Names lists capabilities by bit number, as in linux/capability.h.
var Names = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
}

// Set is a capability bit mask.
type Set uint64

// Has reports whether the set holds the named capability. Names this package
// does not know are kept: the runtime decides about them.
func (s Set) Has(name string) bool {
	for i, n := range Names {
		if n == name {
			return s&(1<<uint(i)) != 0
		}
	}
	return true
}

// Missing lists the known capabilities up to lastCap that the set lacks.
func (s Set) Missing(lastCap int) []string {
	var out []string
	for i := 0; i <= lastCap && i < len(Names); i++ {
		if s&(1<<uint(i)) == 0 {
			out = append(out, Names[i])
		}
	}
	return out
}

// ParseStatus reads the CapBnd line of a /proc/<pid>/status text.
func ParseStatus(status string) (Set, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("capfilter: CapBnd %q: %w", v, err)
			}
			return Set(n), nil
		}
	}
	return 0, fmt.Errorf("capfilter: no CapBnd line in status")
}

// Bounding returns this process's capability bounding set.
func Bounding() (Set, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("capfilter: %w", err)
	}
	return ParseStatus(string(b))
}

// LastCap returns the highest capability number the kernel knows.
func LastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("capfilter: %w", err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

var capLists = []string{"bounding", "effective", "inheritable", "permitted", "ambient"}

// Filter removes capabilities the set lacks from an OCI spec: either a whole
// bundle config (with a "process" object) or a bare process spec (as runc exec
// --process takes). Every other field is kept byte-for-byte in value (numbers
// are not converted to floats). It reports whether anything was removed.
func Filter(spec []byte, have Set) ([]byte, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(spec))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, false, fmt.Errorf("capfilter: parse spec: %w", err)
	}
	proc := doc
	if p, ok := doc["process"].(map[string]any); ok {
		proc = p
	}
	caps, ok := proc["capabilities"].(map[string]any)
	if !ok {
		return spec, false, nil
	}
	changed := false
	for _, key := range capLists {
		list, ok := caps[key].([]any)
		if !ok {
			continue
		}
		kept := make([]any, 0, len(list))
		for _, c := range list {
			if s, ok := c.(string); ok && !have.Has(s) {
				changed = true
				continue
			}
			kept = append(kept, c)
		}
		caps[key] = kept
	}
	if !changed {
		return spec, false, nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, false, fmt.Errorf("capfilter: encode spec: %w", err)
	}
	return out, true, nil
}

// FilterFile applies Filter to a file in place.
func FilterFile(path string, have Set) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("capfilter: %w", err)
	}
	out, changed, err := Filter(b, have)
	if err != nil || !changed {
		return err
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("capfilter: %w", err)
	}
	if err := os.WriteFile(path, out, st.Mode().Perm()); err != nil {
		return fmt.Errorf("capfilter: %w", err)
	}
	return nil
}

// SpecFiles finds, in a runc command line, the spec files the call will read:
// <bundle>/config.json for create and run, the --process file for exec.
// cwd is the bundle when --bundle is not given.
func SpecFiles(args []string, cwd string) []string {
	// runc's global flags that take a value; the first other non-flag is the command.
	valued := map[string]bool{"--root": true, "--log": true, "--log-format": true, "--criu": true, "--rootless": true}
	cmd, i := "", 0
	for i = 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			cmd = a
			break
		}
		if valued[a] {
			i++
		}
	}
	rest := []string{}
	if i < len(args) {
		rest = args[i+1:]
	}
	flag := func(names ...string) (string, bool) {
		for j := 0; j < len(rest); j++ {
			for _, n := range names {
				if rest[j] == n && j+1 < len(rest) {
					return rest[j+1], true
				}
				if v, ok := strings.CutPrefix(rest[j], n+"="); ok {
					return v, true
				}
			}
		}
		return "", false
	}
	switch cmd {
	case "create", "run":
		bundle, ok := flag("--bundle", "-b")
		if !ok {
			bundle = cwd
		}
		return []string{strings.TrimSuffix(bundle, "/") + "/config.json"}
	case "exec":
		if p, ok := flag("--process", "-p"); ok {
			return []string{p}
		}
	}
	return nil
}
