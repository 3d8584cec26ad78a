// Package testcluster gives integration tests the default cluster: it
// attaches to a running one (what `make test` brings up first) or creates it.
package testcluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/zerodrop/zerodrop/fixtures"
	"github.com/zerodrop/zerodrop/fixtures/gomod"
	"github.com/zerodrop/zerodrop/fixtures/ingress"
	"github.com/zerodrop/zerodrop/fixtures/kruise"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/kind/factory"
)

// Name is the cluster integration tests use: $ZERODROP_CLUSTER or the default.
func Name() string {
	if n := os.Getenv("ZERODROP_CLUSTER"); n != "" {
		return n
	}
	return kind.DefaultName
}

// Get attaches to the test cluster, or creates it (mode from $ZERODROP_MODE or detected).
func Get(ctx context.Context, log *slog.Logger) (*kind.Cluster, error) {
	spec := kind.Spec{Name: Name()}.Defaults()
	if c, err := kind.Attach(spec, log); err == nil {
		if err := c.WaitReady(ctx); err != nil {
			return nil, err
		}
		return c, nil
	}
	mode, _ := kind.ResolveMode(ctx, kind.Auto)
	img, err := kind.ResolveNodeImage(mode, factory.DefaultCacheDir())
	if err != nil {
		return nil, fmt.Errorf("testcluster: %w", err)
	}
	spec.NodeImage = img
	return kind.Up(ctx, spec, kind.UpOptions{Log: log})
}

// Ingress installs the ingress/Gateway controller (Traefik) on the test
// cluster: built here and loaded air-gapped, the official image online.
func Ingress(ctx context.Context, c *kind.Cluster, log *slog.Logger) (ingress.Controller, error) {
	mode, _ := kind.ResolveMode(ctx, kind.Auto)
	t := ingress.Traefik{Image: "docker.io/traefik:" + ingress.TraefikVersion, Log: log}
	for _, p := range c.Spec.PortMappings {
		switch p.Name {
		case "ingress":
			t.IngressNodePort = p.ContainerPort
		case "gateway":
			t.GatewayNodePort = p.ContainerPort
		}
	}
	if mode == kind.Airgapped {
		img, err := ingress.BuildTraefikImage(ctx, factory.DefaultCacheDir(), log)
		if err != nil {
			return nil, err
		}
		if err := c.LoadImages(ctx, map[string]string{img.Tag: img.Archive}); err != nil {
			return nil, err
		}
		t.Image = img.Tag
	}
	dir, err := gomod.Dir(ctx, ingress.GatewayAPIModule+"@"+ingress.GatewayAPI)
	if err != nil {
		return nil, err
	}
	t.GatewayAPIDir = dir
	return t, t.Install(ctx, c.Client.Resources())
}

// OpenKruise installs OpenKruise's manager (narrowed: see package kruise):
// built here and loaded air-gapped, the official image online.
func OpenKruise(ctx context.Context, c *kind.Cluster, log *slog.Logger) error {
	mode, _ := kind.ResolveMode(ctx, kind.Auto)
	image, command := kruise.ReleaseImage, kruise.ReleaseCommand
	if mode == kind.Airgapped {
		img, err := kruise.BuildImage(ctx, factory.DefaultCacheDir(), log)
		if err != nil {
			return err
		}
		if err := c.LoadImages(ctx, map[string]string{img.Tag: img.Archive}); err != nil {
			return err
		}
		image, command = img.Tag, kruise.BuiltCommand
	}
	dir, err := gomod.Dir(ctx, kruise.Module+"@"+kruise.Version)
	if err != nil {
		return err
	}
	return kruise.Install(ctx, c.Client.Resources(), dir, image, command, log)
}

// FixtureImage builds the fixture server image and loads it into every node.
func FixtureImage(ctx context.Context, c *kind.Cluster) (string, error) {
	return Image(ctx, c, "zerodrop-fixture")
}

// Image builds cmd/<name> of the source tree into an image and loads it into every node.
func Image(ctx context.Context, c *kind.Cluster, name string) (string, error) {
	return ImageVariant(ctx, c, name, "")
}

// ImageVariant is Image with a variant: another image ID for the same program.
func ImageVariant(ctx context.Context, c *kind.Cluster, name, variant string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	src, err := fixtures.SourceDir(wd)
	if err != nil {
		return "", err
	}
	img, err := fixtures.BuildImageVariant(ctx, src, factory.DefaultCacheDir(), name, variant)
	if err != nil {
		return "", err
	}
	if err := c.LoadImages(ctx, map[string]string{img.Tag: img.Archive}); err != nil {
		return "", err
	}
	return img.Tag, nil
}
