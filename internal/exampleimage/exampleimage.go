// Package exampleimage builds the image of the example app
// (docs/examples/plain-app/app) with no registry and no Docker engine: the
// app's own Go module compiled static, written as a one-layer, non-root
// image archive as zerodrop writes its own (kind/factory), tagged as the
// example's manifests name it. Its Dockerfile says the same for a machine
// that can pull golang and distroless.
package exampleimage

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/zerodrop/zerodrop/kind/factory"
)

// Tag is the image the example's manifests name (plain-app:v1), spelled as
// containerd stores it.
const Tag = "docker.io/library/plain-app:v1"

// Name is the binary's name in the image, its entrypoint /plain-app.
const Name = "plain-app"

// Build compiles the Go module in appDir (CGO off, trimmed, no build ID: the
// same source gives the same image) and writes it to archive as an image
// tagged tag. The module is built on its own (GOWORK=off) with the local
// toolchain: it needs nothing beyond the standard library.
func Build(ctx context.Context, appDir, archive, tag string) error {
	tmp, err := os.MkdirTemp("", "exampleimage-")
	if err != nil {
		return fmt.Errorf("exampleimage: %w", err)
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, Name)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", bin, ".")
	cmd.Dir = appDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=-mod=mod", "GOTOOLCHAIN=local")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("exampleimage: build %s: %w\n%s", appDir, err, out)
	}
	if err := factory.WriteBinaryImage(factory.Image{Tag: tag, Archive: archive}, Name, bin); err != nil {
		return fmt.Errorf("exampleimage: %w", err)
	}
	return nil
}

// App is where the example app's module and its image archive are, under an
// examples directory (docs/examples): the scenario files name the archive in
// spec.images, relative to themselves.
const (
	App     = "plain-app/app"
	Archive = "plain-app/plain-app.tar"
)

// CopyExamples copies the examples directory src (docs/examples) to dst and
// writes the example app's image archive there, where the scenario files
// name it: the files as a user runs them after make examples, for tests
// that must not write into the source tree.
func CopyExamples(ctx context.Context, src, dst string) error {
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		return fmt.Errorf("exampleimage: %w", err)
	}
	return Build(ctx, filepath.Join(dst, App), filepath.Join(dst, Archive), Tag)
}
