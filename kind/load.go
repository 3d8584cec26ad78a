package kind

import (
	"context"
	"fmt"
	"os"
	"sort"

	"sigs.k8s.io/kind/pkg/cluster/nodeutils"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// LoadImages loads image archives (tag -> docker archive) into every node,
// as `kind load image-archive` does, skipping tags a node already holds.
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
	done := phase.Start(c.log, "load images", "images", len(tags), "nodes", len(ns))
	loaded := 0
	for _, n := range ns {
		for _, tag := range tags {
			if err := ctx.Err(); err != nil {
				return done(err)
			}
			if id, err := nodeutils.ImageID(n, tag); err == nil && id != "" {
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
