package factory

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// ownBinaries are this project's programs that go into the cluster images.
var ownBinaries = []string{"zerodrop-pause", "zerodrop-podnet"}

// binaries builds every component (cached by its inputs) and this project's
// own binaries, and returns binary name -> path.
func (b *builder) binaries(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	comps := components(b.Versions, b.epoch)
	// while one component compiles (CPU-bound), the next ones' modules
	// download (network-bound): a cold build overlaps the two
	pctx, stopPrefetch := context.WithCancel(ctx)
	defer stopPrefetch()
	go b.prefetch(pctx, comps[1:])
	for _, c := range comps {
		dir, err := b.buildComponent(ctx, c)
		if err != nil {
			return nil, err
		}
		for _, n := range c.outputs() {
			out[n] = filepath.Join(dir, n)
		}
	}
	ownDir := filepath.Join(b.CacheDir, "bin", "own")
	if err := os.MkdirAll(ownDir, 0o755); err != nil {
		return nil, fmt.Errorf("factory: %w", err)
	}
	done := phase.Start(b.log, "build own binaries", "names", strings.Join(ownBinaries, ","))
	for _, n := range ownBinaries {
		dst := filepath.Join(ownDir, n)
		// go's build cache makes this a re-link at most; the image keys hash the output.
		if err := b.run(ctx, b.SourceDir, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", dst, "./cmd/"+n); err != nil {
			return nil, done(fmt.Errorf("factory: build %s (is SourceDir %s the zerodrop tree?): %w", n, b.SourceDir, err))
		}
		out[n] = dst
	}
	return out, done(nil)
}

// prefetch downloads the modules of components not built yet, one after
// another, into the module cache (in a scratch copy of each component's
// wrapper module, so nothing races the build's own go.sum). Failures are
// left to the build to report.
func (b *builder) prefetch(ctx context.Context, comps []component) {
	for _, c := range comps {
		if ctx.Err() != nil {
			return
		}
		if exists(b.componentDir(c)) {
			continue
		}
		dir, err := os.MkdirTemp("", "zerodrop-prefetch-")
		if err != nil {
			return
		}
		for name, content := range c.files(goDirective(b.goVersion)) {
			os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
		}
		cmd := exec.CommandContext(ctx, "go", "mod", "download")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		began := time.Now()
		err = cmd.Run()
		b.log.Debug("prefetched modules", "component", c.Name, "elapsed", time.Since(began).Round(time.Second), "err", err)
		os.RemoveAll(dir)
	}
}

// componentDir is where a component's binaries are cached, by its inputs.
func (b *builder) componentDir(c component) string {
	return filepath.Join(b.CacheDir, "bin", c.Name+"-"+c.Version+"-"+b.componentKey(c))
}

// componentKey hashes every input of a component's build.
func (b *builder) componentKey(c component) string {
	_, src := c.source()
	return key(c.goMod(goDirective(b.goVersion)), src, string(c.goSum()), c.Tags, c.LDFlags, b.goVersion)
}

func (b *builder) buildComponent(ctx context.Context, c component) (string, error) {
	k := b.componentKey(c)
	outDir := b.componentDir(c)
	if exists(outDir) {
		b.log.Debug("cached", "component", c.Name, "dir", outDir)
		return outDir, nil
	}
	done := phase.Start(b.log, "build "+c.Name, "module", c.Module, "version", c.Version)
	src := filepath.Join(b.CacheDir, "src", c.Name+"-"+k)
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", done(fmt.Errorf("factory: %w", err))
	}
	for name, content := range c.files(goDirective(b.goVersion)) {
		if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
			return "", done(fmt.Errorf("factory: %w", err))
		}
	}
	tmp := outDir + ".tmp"
	os.RemoveAll(tmp)
	args := []string{"build", "-trimpath", "-ldflags=" + strings.Join(append([]string{"-s", "-w", "-buildid="}, c.LDFlags...), " "), "-o", tmp + "/"}
	if c.Tags != "" {
		args = append(args, "-tags", c.Tags)
	}
	args = append(args, c.Packages...)
	// -mod=mod lets go add a go.sum line the pinned file lacks (checked against
	// the checksum database) instead of failing.
	env := []string{"CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off"}
	if err := b.run(ctx, src, env, "go", args...); err != nil {
		return "", done(fmt.Errorf("factory: build %s %s: %w", c.Module, c.Version, err))
	}
	for from, to := range c.Rename {
		if err := os.Rename(filepath.Join(tmp, from), filepath.Join(tmp, to)); err != nil {
			return "", done(fmt.Errorf("factory: %w", err))
		}
	}
	for _, n := range c.outputs() {
		if !exists(filepath.Join(tmp, n)) {
			return "", done(fmt.Errorf("factory: build %s produced no %s", c.Module, n))
		}
	}
	if err := os.Rename(tmp, outDir); err != nil {
		return "", done(fmt.Errorf("factory: %w", err))
	}
	return outDir, done(nil)
}

// goDirective turns "go1.26.8" into "1.26.8": the wrapper's go line is the
// running toolchain, which is at least what every pinned module asks for.
func goDirective(goVersion string) string {
	v, _, _ := strings.Cut(strings.TrimPrefix(goVersion, "go"), " ")
	return v
}
