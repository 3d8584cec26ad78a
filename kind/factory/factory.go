// Package factory builds, with no container registry, everything a kind
// cluster needs: Kubernetes, etcd, CoreDNS, containerd, crictl and the CNI
// plugins from their Go modules, a pause and a pod-network binary of our own,
// a Debian root filesystem, the component images (docker archives written with
// kind/imagetar), kind's base image and finally the node image, assembled the
// way kind's own node-image builder does it.
//
// Every step is cached under CacheDir by a key over all of its inputs, so an
// unchanged rebuild only checks keys.
package factory

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/internal/phase"
	"github.com/zerodrop/zerodrop/kind/imagetar"
)

// Options configure a build. CacheDir and SourceDir are required: the
// entry point resolves them; a zero Versions builds Default.
type Options struct {
	Versions  Versions
	CacheDir  string
	SourceDir string // the zerodrop module (for the pause and podnet binaries)
	Mirror    string // Debian mirror; default: the host's apt source, else deb.debian.org
	Log       *slog.Logger
}

// Result describes what was built; it is written to CacheDir/factory.json and
// recorded in each outcome's environment section.
type Result struct {
	NodeImage   string            `json:"nodeImage"`
	BaseImage   string            `json:"baseImage"`
	Versions    Versions          `json:"versions"`
	Images      map[string]string `json:"images"` // tag -> archive path
	KindVersion string            `json:"kindVersion"`
	GoVersion   string            `json:"goVersion"`
	BuiltAt     time.Time         `json:"builtAt"`
}

type builder struct {
	Options
	log       *slog.Logger
	goVersion string
	epoch     string // SOURCE_DATE_EPOCH as RFC 3339, for version stamps
}

// Build runs every step, reusing cached results, and returns the node image.
func Build(ctx context.Context, o Options) (*Result, error) {
	if o.Versions == (Versions{}) {
		o.Versions = Default
	}
	if o.CacheDir == "" || o.SourceDir == "" {
		return nil, fmt.Errorf("factory: the cache directory (%q) and the zerodrop source directory (%q) are both required", o.CacheDir, o.SourceDir)
	}
	if o.Log == nil {
		o.Log = phase.Discard()
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return nil, fmt.Errorf("factory: cache dir: %w", err)
	}
	b := &builder{Options: o, log: o.Log}
	gv, err := b.output(ctx, b.SourceDir, nil, "go", "env", "GOVERSION")
	if err != nil {
		return nil, fmt.Errorf("factory: go toolchain: %w", err)
	}
	b.goVersion = strings.TrimSpace(gv)
	b.epoch = sourceDateEpoch().Format(time.RFC3339)

	done := phase.Start(b.log, "image factory", "cache", b.CacheDir, "kubernetes", b.Versions.Kubernetes)
	res, err := b.build(ctx)
	return res, done(err)
}

func (b *builder) build(ctx context.Context) (*Result, error) {
	// Binaries and root filesystems are independent: build them side by side.
	type binOut struct {
		bins map[string]string
		err  error
	}
	type fsOut struct {
		fs  map[string]string
		err error
	}
	binc, fsc := make(chan binOut, 1), make(chan fsOut, 1)
	go func() {
		bins, err := b.binaries(ctx)
		binc <- binOut{bins, err}
	}()
	go func() {
		fs, err := b.rootfsAll(ctx)
		fsc <- fsOut{fs, err}
	}()
	bo, fo := <-binc, <-fsc
	if bo.err != nil {
		return nil, bo.err
	}
	if fo.err != nil {
		return nil, fo.err
	}
	images, required, err := b.componentImages(ctx, bo.bins, fo.fs)
	if err != nil {
		return nil, err
	}
	kindDir, kindVersion, err := b.kindModule(ctx)
	if err != nil {
		return nil, err
	}
	base, err := b.baseImage(ctx, bo.bins, fo.fs["node"], kindDir)
	if err != nil {
		return nil, err
	}
	node, err := b.nodeImage(ctx, base, bo.bins, images, required)
	if err != nil {
		return nil, err
	}
	res := &Result{NodeImage: node, BaseImage: base, Versions: b.Versions, Images: images, KindVersion: kindVersion, GoVersion: b.goVersion, BuiltAt: time.Now().UTC()}
	raw, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(b.CacheDir, "factory.json"), raw, 0o644); err != nil {
		return nil, fmt.Errorf("factory: %w", err)
	}
	return res, nil
}

// LastResult reads the result of the last successful build in cacheDir.
func LastResult(cacheDir string) (*Result, error) {
	raw, err := os.ReadFile(filepath.Join(cacheDir, "factory.json"))
	if err != nil {
		return nil, fmt.Errorf("factory: no air-gapped images built yet in %s (run `make images`): %w", cacheDir, err)
	}
	var r Result
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("factory: %s: %w", filepath.Join(cacheDir, "factory.json"), err)
	}
	return &r, nil
}

// key hashes the given parts into a short, stable cache key.
func key(parts ...any) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	for _, p := range parts {
		_ = enc.Encode(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// fileDigest hashes a file's content.
var fileDigest = imagetar.FileDigest

func sourceDateEpoch() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(n, 0).UTC()
		}
	}
	return time.Unix(0, 0).UTC()
}

// exists reports whether a completed cache entry is there: entries are written
// to a temporary name and renamed, so a present path is complete.
func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
