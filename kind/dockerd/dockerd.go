// Package dockerd makes sure a Docker engine answers on this machine and can
// run kind's privileged node containers.
//
// When no engine answers it installs Debian's docker.io (when apt is there and
// we are root), starts dockerd in the background with a log file and waits
// until it answers. When the capability bounding set lacks capabilities that
// --privileged asks for, it installs the zerodrop-runc wrapper as dockerd's
// default runtime first. A working engine is left alone.
package dockerd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/zerodrop/zerodrop/kind/dockerd/capfilter"
)

// RuntimeName is the name the wrapper is registered under in daemon.json.
const RuntimeName = "zerodrop-runc"

// Options configure Ensure. The zero value uses the standard Debian paths.
type Options struct {
	// RuntimeWrapper is the built zerodrop-runc binary to install; required
	// only when the bounding set lacks capabilities.
	RuntimeWrapper string
	// InstallDir receives the wrapper (default /usr/local/libexec/zerodrop).
	InstallDir string
	// DaemonJSON is dockerd's config file (default /etc/docker/daemon.json).
	DaemonJSON string
	// LogFile receives dockerd's output (default /var/log/zerodrop-dockerd.log).
	LogFile string
	// PIDFile records the dockerd we started (default /run/zerodrop-dockerd.pid).
	PIDFile string
	// Wait bounds how long dockerd may take to answer (default 90s).
	Wait time.Duration
	// Logf reports progress; nil discards it.
	Logf func(format string, args ...any)
}

func (o *Options) defaults() {
	if o.InstallDir == "" {
		o.InstallDir = "/usr/local/libexec/zerodrop"
	}
	if o.DaemonJSON == "" {
		o.DaemonJSON = "/etc/docker/daemon.json"
	}
	if o.LogFile == "" {
		o.LogFile = "/var/log/zerodrop-dockerd.log"
	}
	if o.PIDFile == "" {
		o.PIDFile = "/run/zerodrop-dockerd.pid"
	}
	if o.Wait == 0 {
		o.Wait = 90 * time.Second
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
}

// Info says what Ensure found or did.
type Info struct {
	ServerVersion  string
	DefaultRuntime string
	Started        bool     // we started dockerd
	Installed      bool     // we installed docker.io
	MissingCaps    []string // capabilities the bounding set lacks
}

// Ensure makes a Docker engine answer and be able to run privileged containers.
func Ensure(ctx context.Context, o Options) (Info, error) {
	o.defaults()
	var info Info
	bnd, err := capfilter.Bounding()
	if err != nil {
		return info, fmt.Errorf("dockerd: %w", err)
	}
	last, err := capfilter.LastCap()
	if err != nil {
		return info, fmt.Errorf("dockerd: %w", err)
	}
	info.MissingCaps = bnd.Missing(last)
	needWrapper := len(info.MissingCaps) > 0

	if v, rt, err := serverInfo(ctx); err == nil {
		info.ServerVersion, info.DefaultRuntime = v, rt
		if needWrapper && rt != RuntimeName {
			return info, fmt.Errorf("dockerd: the running engine (default runtime %q) cannot start privileged containers here: "+
				"the capability bounding set lacks %s; add the %s runtime wrapper to %s as \"default-runtime\" "+
				"(`zerodrop engine` does this when it starts dockerd itself) and restart dockerd",
				rt, strings.Join(info.MissingCaps, ","), RuntimeName, o.DaemonJSON)
		}
		o.Logf("docker engine %s answers (default runtime %s)", v, rt)
		return info, nil
	}

	dockerdPath, err := exec.LookPath("dockerd")
	if err != nil {
		if err := AptInstall(ctx, o.Logf, "docker.io"); err != nil {
			return info, err
		}
		info.Installed = true
		if dockerdPath, err = exec.LookPath("dockerd"); err != nil {
			return info, fmt.Errorf("dockerd: docker.io installed but dockerd is not on PATH: %w", err)
		}
	}
	if needWrapper {
		o.Logf("capability bounding set lacks %s: installing %s as dockerd's default runtime", strings.Join(info.MissingCaps, ","), RuntimeName)
		if err := installWrapper(o); err != nil {
			return info, err
		}
	}
	if err := start(ctx, o, dockerdPath); err != nil {
		return info, err
	}
	info.Started = true
	info.ServerVersion, info.DefaultRuntime, err = serverInfo(ctx)
	return info, err
}

// serverInfo asks the engine for its version and default runtime.
func serverInfo(ctx context.Context) (string, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}|{{.DefaultRuntime}}").Output()
	if err != nil {
		return "", "", fmt.Errorf("dockerd: engine does not answer: %w", err)
	}
	v, rt, _ := strings.Cut(strings.TrimSpace(string(out)), "|")
	if v == "" {
		return "", "", errors.New("dockerd: engine does not answer")
	}
	return v, rt, nil
}

// AptInstall installs Debian packages (as root, with apt-get), for the host
// tools the project needs: docker.io, debootstrap.
func AptInstall(ctx context.Context, logf func(string, ...any), pkgs ...string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("dockerd: %s missing and not root: install it and try again", strings.Join(pkgs, " "))
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("dockerd: %s missing and no apt-get: install it and try again", strings.Join(pkgs, " "))
	}
	if logf != nil {
		logf("installing %s with apt-get", strings.Join(pkgs, " "))
	}
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("dockerd: apt-get %s: %w\n%s", strings.Join(args, " "), err, tail(out, 20))
		}
		return nil
	}
	if err := run("update", "-qq"); err != nil {
		return err
	}
	return run(append([]string{"install", "-y", "-qq"}, pkgs...)...)
}

// installWrapper copies the wrapper binary and registers it in daemon.json,
// keeping every other setting there.
func installWrapper(o Options) error {
	if o.RuntimeWrapper == "" {
		return errors.New("dockerd: the runtime wrapper is needed here but no binary was given (build cmd/zerodrop-runc and pass its path)")
	}
	src, err := os.ReadFile(o.RuntimeWrapper)
	if err != nil {
		return fmt.Errorf("dockerd: runtime wrapper: %w", err)
	}
	if err := os.MkdirAll(o.InstallDir, 0o755); err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	dst := filepath.Join(o.InstallDir, RuntimeName)
	if err := os.WriteFile(dst+".new", src, 0o755); err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	if err := os.Rename(dst+".new", dst); err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	cfg := map[string]any{}
	if b, err := os.ReadFile(o.DaemonJSON); err == nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("dockerd: %s is not valid JSON (%w): fix or remove it", o.DaemonJSON, err)
		}
	}
	merged, err := MergeDaemonConfig(cfg, dst)
	if err != nil {
		return fmt.Errorf("dockerd: %s: %w", o.DaemonJSON, err)
	}
	if err := os.MkdirAll(filepath.Dir(o.DaemonJSON), 0o755); err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	if err := os.WriteFile(o.DaemonJSON, merged, 0o644); err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	return nil
}

// MergeDaemonConfig registers the wrapper at path as a runtime named
// RuntimeName and makes it the default, keeping every other setting.
func MergeDaemonConfig(cfg map[string]any, path string) ([]byte, error) {
	runtimes, _ := cfg["runtimes"].(map[string]any)
	if runtimes == nil {
		if _, present := cfg["runtimes"]; present {
			return nil, errors.New(`"runtimes" is not an object`)
		}
		runtimes = map[string]any{}
	}
	runtimes[RuntimeName] = map[string]any{"path": path}
	cfg["runtimes"] = runtimes
	cfg["default-runtime"] = RuntimeName
	out, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// start runs dockerd in its own session so it outlives this process, records
// its PID, and waits until it answers.
func start(ctx context.Context, o Options, dockerdPath string) error {
	if err := os.MkdirAll(filepath.Dir(o.LogFile), 0o755); err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	logf, err := os.OpenFile(o.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("dockerd: %w", err)
	}
	defer logf.Close()
	args := []string{}
	if _, err := os.Stat(o.DaemonJSON); err == nil {
		args = append(args, "--config-file", o.DaemonJSON)
	}
	cmd := exec.Command(dockerdPath, args...)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = logf, logf, nil
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	o.Logf("starting %s (log %s)", dockerdPath, o.LogFile)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("dockerd: start: %w", err)
	}
	pid := cmd.Process.Pid
	_ = os.WriteFile(o.PIDFile, []byte(fmt.Sprintf("%d\n", pid)), 0o644)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(o.Wait)
	for {
		if _, _, err := serverInfo(ctx); err == nil {
			o.Logf("dockerd (pid %d) answers", pid)
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("dockerd: exited before answering (%v); last lines of %s:\n%s", err, o.LogFile, tailFile(o.LogFile, 20))
		case <-ctx.Done():
			return fmt.Errorf("dockerd: %w", ctx.Err())
		case <-time.After(time.Second):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd: pid %d did not answer within %s; last lines of %s:\n%s", pid, o.Wait, o.LogFile, tailFile(o.LogFile, 20))
		}
	}
}

func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return tail(b, n)
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
