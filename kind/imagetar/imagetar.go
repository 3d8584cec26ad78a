// Package imagetar writes docker image archives (what `docker save` writes and
// `docker load`, `ctr images import` and kind's LoadImageArchive read) from
// static files, with no registry and no Docker engine.
//
// Archives are content-addressed: the same inputs give the same image digest,
// because every timestamp is fixed (SOURCE_DATE_EPOCH, or zero), entries are
// written in sorted order and ownership is always root.
package imagetar

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// File is one entry of a layer. Exactly one of Source (a path on this machine),
// Data, Link (a symlink target) or Dir must be set.
type File struct {
	Path   string // absolute path inside the image
	Mode   int64  // permission bits; 0 means 0755 for Source/Dir, 0644 for Data
	Source string
	Data   []byte
	Link   string
	Dir    bool
}

// Image describes one image: its tags, its layers (bottom first) and its config.
type Image struct {
	Tags []string
	// Layers are tar files already on disk (for example a root filesystem),
	// placed below FileLayer.
	Layers []string
	// Files make the top layer; parent directories are added as needed.
	Files      []File
	Entrypoint []string
	Cmd        []string
	Env        []string
	User       string
	WorkingDir string
	StopSignal string
	Labels     map[string]string
	// Arch defaults to amd64; OS is always linux. go-containerregistry's empty
	// image has neither, and containerd refuses an image without a platform.
	Arch string
}

// Epoch is the fixed time stamped on layer entries and image history:
// SOURCE_DATE_EPOCH when set, else the Unix epoch.
func Epoch() time.Time {
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		var sec int64
		if _, err := fmt.Sscan(s, &sec); err == nil {
			return time.Unix(sec, 0).UTC()
		}
	}
	return time.Unix(0, 0).UTC()
}

// Build assembles the image in memory (layers from files are read lazily).
func Build(spec Image) (v1.Image, error) {
	if len(spec.Tags) == 0 {
		return nil, errors.New("imagetar: image has no tag")
	}
	arch := spec.Arch
	if arch == "" {
		arch = "amd64"
	}
	epoch := Epoch()
	img := empty.Image
	var layers []v1.Layer
	for _, p := range spec.Layers {
		l, err := tarball.LayerFromFile(p)
		if err != nil {
			return nil, fmt.Errorf("imagetar: layer %s: %w", p, err)
		}
		layers = append(layers, l)
	}
	if len(spec.Files) > 0 {
		data, err := LayerTar(spec.Files, epoch)
		if err != nil {
			return nil, err
		}
		l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		})
		if err != nil {
			return nil, fmt.Errorf("imagetar: files layer: %w", err)
		}
		layers = append(layers, l)
	}
	for _, l := range layers {
		var err error
		img, err = mutate.Append(img, mutate.Addendum{Layer: l, History: v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "zerodrop imagetar"}})
		if err != nil {
			return nil, fmt.Errorf("imagetar: append layer: %w", err)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("imagetar: config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = arch
	cf.Created = v1.Time{Time: epoch}
	cf.Config.Entrypoint = spec.Entrypoint
	cf.Config.Cmd = spec.Cmd
	cf.Config.Env = spec.Env
	cf.Config.User = spec.User
	cf.Config.WorkingDir = spec.WorkingDir
	cf.Config.StopSignal = spec.StopSignal
	cf.Config.Labels = spec.Labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("imagetar: set config: %w", err)
	}
	return img, nil
}

// Write builds the image and writes it as a docker archive to dst, atomically.
// It returns the image's digest.
func Write(dst string, spec Image) (v1.Hash, error) {
	img, err := Build(spec)
	if err != nil {
		return v1.Hash{}, err
	}
	refs := map[name.Reference]v1.Image{}
	for _, t := range spec.Tags {
		tag, err := name.NewTag(t, name.StrictValidation)
		if err != nil {
			return v1.Hash{}, fmt.Errorf("imagetar: tag %q: %w", t, err)
		}
		refs[tag] = img
	}
	tmp := dst + ".tmp"
	if err := tarball.MultiRefWriteToFile(tmp, refs); err != nil {
		os.Remove(tmp)
		return v1.Hash{}, fmt.Errorf("imagetar: write %s: %w", dst, err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return v1.Hash{}, fmt.Errorf("imagetar: %w", err)
	}
	return img.Digest()
}

// LayerTar renders files into an uncompressed tar, deterministically: sorted
// paths, parent directories first, root ownership, the given mtime.
func LayerTar(files []File, mtime time.Time) ([]byte, error) {
	entries := map[string]File{}
	for _, f := range files {
		p := path.Clean("/" + f.Path)
		if p == "/" {
			return nil, fmt.Errorf("imagetar: file with empty path")
		}
		set := 0
		for _, b := range []bool{f.Source != "", f.Data != nil, f.Link != "", f.Dir} {
			if b {
				set++
			}
		}
		if set != 1 {
			return nil, fmt.Errorf("imagetar: %s: set exactly one of Source, Data, Link, Dir", p)
		}
		f.Path = p
		entries[p] = f
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := entries[d]; !ok {
				entries[d] = File{Path: d, Dir: true}
			}
		}
	}
	names := make([]string, 0, len(entries))
	for p := range entries {
		names = append(names, p)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range names {
		f := entries[p]
		h := &tar.Header{Name: strings.TrimPrefix(p, "/"), ModTime: mtime, Format: tar.FormatPAX, Uname: "root", Gname: "root"}
		var body []byte
		switch {
		case f.Dir:
			h.Typeflag, h.Name, h.Mode = tar.TypeDir, h.Name+"/", orMode(f.Mode, 0o755)
		case f.Link != "":
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.Link, 0o777
		case f.Source != "":
			b, err := os.ReadFile(f.Source)
			if err != nil {
				return nil, fmt.Errorf("imagetar: %s: %w", p, err)
			}
			h.Typeflag, h.Mode, body = tar.TypeReg, orMode(f.Mode, 0o755), b
		default:
			h.Typeflag, h.Mode, body = tar.TypeReg, orMode(f.Mode, 0o644), f.Data
		}
		h.Size = int64(len(body))
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("imagetar: %s: %w", p, err)
		}
		if _, err := tw.Write(body); err != nil {
			return nil, fmt.Errorf("imagetar: %s: %w", p, err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("imagetar: %w", err)
	}
	return buf.Bytes(), nil
}

// FileDigest is the hex sha256 of a file's content: the cache key of a
// binary or archive that goes into an image.
func FileDigest(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func orMode(m, def int64) int64 {
	if m == 0 {
		return def
	}
	return m
}
