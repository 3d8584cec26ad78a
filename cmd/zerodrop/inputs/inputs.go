// Package inputs resolves, once per process, what every command and every
// test entry point passes down explicitly: the mode images come from, the
// cache and state directories, the zerodrop module the own images are built
// from, the cluster's name. Nothing below cmd/ reads the environment, the
// working directory or the network for these.
package inputs

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/zerodrop/zerodrop/internal/clusterlock"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/kind/factory"
)

// Inputs are the resolved values.
type Inputs struct {
	Mode kind.Mode
	// ModeWhy says how Mode was chosen (flag, $ZERODROP_MODE, DNS).
	ModeWhy string
	// CacheDir caches every build (image factory, own images, controllers).
	CacheDir string
	// StateDir holds the clusters' own kubeconfigs and kind's logs.
	StateDir string
	// SourceDir is the zerodrop module the own images are built from.
	SourceDir string
}

// Resolve resolves the mode (m: online, airgapped, or auto) and the
// directories. cacheDir and stateDir override the defaults when not empty.
func Resolve(ctx context.Context, m kind.Mode, cacheDir, stateDir string) Inputs {
	in := Inputs{CacheDir: cacheDir, StateDir: stateDir}
	in.Mode, in.ModeWhy = ResolveMode(ctx, m)
	if in.CacheDir == "" {
		in.CacheDir = DefaultCacheDir()
	}
	if in.StateDir == "" {
		in.StateDir = DefaultStateDir()
	}
	return in
}

// Kubeconfig is the cluster's own kubeconfig file in the state directory.
func (in Inputs) Kubeconfig(cluster string) string { return kind.KubeconfigPath(in.StateDir, cluster) }

// WithSource finds the zerodrop module the own images are built from: dir
// (a flag) when given, else the source tree at or above the working
// directory.
func (in Inputs) WithSource(dir string) (Inputs, error) {
	if dir != "" {
		src, err := factory.FindSourceDir(dir)
		if err != nil {
			return in, err
		}
		in.SourceDir = src
		return in, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return in, fmt.Errorf("inputs: %w", err)
	}
	src, err := factory.FindSourceDir(wd)
	if err != nil {
		return in, fmt.Errorf("%w: run zerodrop from its source tree, or pass --source-dir", err)
	}
	in.SourceDir = src
	return in, nil
}

// DefaultCacheDir is $ZERODROP_CACHE, else $XDG_CACHE_HOME/zerodrop, else ~/.cache/zerodrop.
func DefaultCacheDir() string {
	if d := os.Getenv("ZERODROP_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "zerodrop")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "zerodrop")
	}
	return filepath.Join(os.TempDir(), "zerodrop-cache")
}

// DefaultStateDir is $ZERODROP_STATE, else ~/.zerodrop.
func DefaultStateDir() string {
	if d := os.Getenv("ZERODROP_STATE"); d != "" {
		return d
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".zerodrop")
	}
	return filepath.Join(os.TempDir(), "zerodrop-state")
}

// ClusterName is the cluster tests use: $ZERODROP_CLUSTER, else the default.
func ClusterName() string {
	if n := os.Getenv("ZERODROP_CLUSTER"); n != "" {
		return n
	}
	return kind.DefaultName
}

// started is when this process began, near enough: when its packages were
// initialised.
var started = time.Now()

// LockIdentity names this process in the cluster lock, for whoever finds the
// cluster in use: the command, the host, the PID and when it started.
func LockIdentity(command string) clusterlock.Identity {
	host, err := os.Hostname()
	if err != nil {
		host = "an unnamed host"
	}
	return clusterlock.Identity{Command: command, Host: host, PID: os.Getpid(), Started: started}
}

// registryHost is what auto mode asks about. Only a DNS lookup is made: no
// request is sent to any registry.
const registryHost = "registry.k8s.io"

// ResolveMode turns Auto into Online or Airgapped ($ZERODROP_MODE first, then
// whether the registry's name resolves), and says why.
func ResolveMode(ctx context.Context, m kind.Mode) (kind.Mode, string) {
	if m != kind.Auto && m != "" {
		return m, "chosen"
	}
	if env := os.Getenv("ZERODROP_MODE"); env != "" {
		if pm, err := kind.ParseMode(env); err == nil && pm != kind.Auto {
			return pm, "ZERODROP_MODE=" + env
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := net.DefaultResolver.LookupHost(ctx, registryHost); err != nil {
		return kind.Airgapped, registryHost + " does not resolve (" + err.Error() + ")"
	}
	return kind.Online, registryHost + " resolves"
}
