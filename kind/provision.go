package kind

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// Installer puts something onto a running cluster: an ingress controller,
// OpenKruise. Installing twice is a no-op.
type Installer interface {
	Install(ctx context.Context, c *Cluster) error
}

// InstallerFunc adapts a function to Installer.
type InstallerFunc func(ctx context.Context, c *Cluster) error

// Install calls f.
func (f InstallerFunc) Install(ctx context.Context, c *Cluster) error { return f(ctx, c) }

// Options say which cluster to provision and with what. Every input is
// explicit: the caller (cmd/, a test's entry point) resolves the mode and
// the directories once.
type Options struct {
	Spec Spec
	// Mode picks the node image when Spec.NodeImage is empty: kind's stock
	// image online, the factory's last build from CacheDir air-gapped.
	Mode     Mode
	CacheDir string
	// Recreate deletes a same-named cluster that does not match or is not
	// healthy, instead of failing.
	Recreate     bool
	ReadyTimeout time.Duration
	// Addons are installed, in order, once the cluster is ready.
	Addons []Installer
	Log    *slog.Logger
}

// Provision creates the cluster, or reuses a healthy one that matches,
// waits until it is ready, and installs the addons.
func Provision(ctx context.Context, o Options) (*Cluster, error) {
	log := o.Log
	if log == nil {
		log = phase.Discard()
	}
	spec := o.Spec.Defaults()
	if spec.NodeImage == "" {
		img, err := ResolveNodeImage(o.Mode, o.CacheDir)
		if err != nil {
			return nil, err
		}
		spec.NodeImage = img
	}
	c, err := Up(ctx, spec, UpOptions{Log: log, Recreate: o.Recreate, ReadyTimeout: o.ReadyTimeout})
	if err != nil {
		return nil, err
	}
	if err := c.Install(ctx, o.Addons...); err != nil {
		return nil, err
	}
	return c, nil
}

// Install installs addons on the cluster, in order.
func (c *Cluster) Install(ctx context.Context, addons ...Installer) error {
	for _, a := range addons {
		if err := a.Install(ctx, c); err != nil {
			return fmt.Errorf("kind: install: %w", err)
		}
	}
	return nil
}
