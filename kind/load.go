package kind

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// LoadImages loads image archives (tag -> docker archive) into every node,
// as `kind load image-archive` does, skipping a node that already holds
// the tag as the same image (its ID is the archive's config digest): an
// image rebuilt under the same tag is loaded again, not left stale.
func (c *Cluster) LoadImages(ctx context.Context, images map[string]string) error {
	ns, err := c.Nodes()
	if err != nil {
		return err
	}
	tags := make([]string, 0, len(images))
	for t := range images {
		tags = append(tags, t)
	}
	sort.Strings(tags)
	ids := map[string]string{}
	for _, t := range tags {
		// an archive whose ID cannot be read is loaded every time
		if id, err := ArchiveImageID(images[t]); err == nil {
			ids[t] = id
		}
	}
	done := phase.Start(c.log, "load images", "images", len(tags), "nodes", len(ns))
	loaded := 0
	for _, n := range ns {
		for _, tag := range tags {
			if err := ctx.Err(); err != nil {
				return done(err)
			}
			if id, err := nodeutils.ImageID(n, tag); err == nil && id != "" && id == ids[tag] {
				continue
			}
			f, err := os.Open(images[tag])
			if err != nil {
				return done(fmt.Errorf("kind: load %s: %w", tag, err))
			}
			err = nodeutils.LoadImageArchive(n, f)
			f.Close()
			if err != nil {
				return done(fmt.Errorf("kind: load %s into %s: %w", tag, n, withOutput(err)))
			}
			loaded++
		}
	}
	c.log.Debug("images loaded", "loaded", loaded)
	return done(nil)
}

// ArchiveImageID reads the image ID (its config's digest, sha256:…) of a
// docker image archive's first image, as `docker save` and imagetar write
// it: manifest.json's Config, sha256:<hex>, blobs/sha256/<hex> or <hex>.json.
func ArchiveImageID(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("kind: %w", err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", fmt.Errorf("kind: %s: no manifest.json", path)
		}
		if err != nil {
			return "", fmt.Errorf("kind: %s: %w", path, err)
		}
		if filepath.Clean(h.Name) != "manifest.json" {
			continue
		}
		var m []struct {
			Config string `json:"Config"`
		}
		if err := json.NewDecoder(tr).Decode(&m); err != nil || len(m) == 0 || m[0].Config == "" {
			return "", fmt.Errorf("kind: %s: manifest.json names no config", path)
		}
		c := m[0].Config
		c = strings.TrimSuffix(c[strings.LastIndex(c, "/")+1:], ".json")
		return "sha256:" + strings.TrimPrefix(c, "sha256:"), nil
	}
}
