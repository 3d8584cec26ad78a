package scenariofile

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/name"
)

// readImages reads the tags of every archive of spec.images: tag → the
// archive's path (absolute, as the runner loads it from anywhere).
func readImages(entries []string, dir string, p *problems) map[string]string {
	out := map[string]string{}
	for i, entry := range entries {
		field := fmt.Sprintf("spec.images[%d]", i)
		if entry == "" {
			p.addf(field, " is empty: give a docker image archive (docker save -o FILE IMAGE)")
			continue
		}
		full := entry
		if !filepath.IsAbs(entry) {
			full = filepath.Join(dir, entry)
		}
		if abs, err := filepath.Abs(full); err == nil {
			full = abs
		}
		tags, err := archiveTags(full)
		if err != nil {
			p.addf(field, " %q: %v", entry, err)
			continue
		}
		for _, t := range tags {
			out[t] = full
		}
	}
	return out
}

// archiveTags returns the tags a docker image archive holds: what its
// manifest.json's RepoTags say, as `docker save` writes them.
func archiveTags(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w (paths are relative to the scenario file's directory)", unwrapPathError(err))
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, unwrapPathError(err)
	}
	if st.IsDir() {
		return nil, errors.New("a directory, not an image archive: give the file docker save -o FILE IMAGE writes")
	}
	magic := make([]byte, 2)
	if n, _ := f.ReadAt(magic, 0); n == 2 && bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		return nil, errors.New("gzip-compressed: gunzip it; images are loaded as kind load image-archive does, from a plain tar")
	}
	// reading the headers of an *os.File seeks past each entry's content
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, errors.New("a tar with no manifest.json: not a docker image archive (docker save -o FILE IMAGE writes one)")
		}
		if err != nil {
			return nil, fmt.Errorf("not a tar archive (%v): give the file docker save -o FILE IMAGE writes", err)
		}
		if filepath.Clean(h.Name) != "manifest.json" {
			continue
		}
		var entries []struct {
			RepoTags []string `json:"RepoTags"`
		}
		if err := json.NewDecoder(tr).Decode(&entries); err != nil {
			return nil, fmt.Errorf("its manifest.json does not decode (%v): not a docker image archive", err)
		}
		var tags []string
		for _, e := range entries {
			tags = append(tags, e.RepoTags...)
		}
		if len(tags) == 0 {
			return nil, errors.New("holds no tagged image: save the image by its name (docker save -o FILE NAME:TAG), not by its ID")
		}
		return tags, nil
	}
}

// sameImage reports whether two image references name the same image, as
// containerd resolves them (plain-app:v1 is docker.io/library/plain-app:v1).
func sameImage(a, b string) bool {
	ra, err := name.ParseReference(a, name.WeakValidation)
	if err != nil {
		return a == b
	}
	rb, err := name.ParseReference(b, name.WeakValidation)
	if err != nil {
		return a == b
	}
	return ra.Name() == rb.Name()
}

// pullsAlways reports whether the kubelet pulls a container's image on
// every start: imagePullPolicy Always, or no policy and the latest tag
// (or none), which default to Always.
func pullsAlways(image, policy string) bool {
	switch policy {
	case "Always":
		return true
	case "":
		ref, err := name.ParseReference(image, name.WeakValidation)
		if err != nil {
			return false
		}
		tag, ok := ref.(name.Tag)
		return ok && tag.TagStr() == "latest"
	}
	return false
}
