package factory

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/zerodrop/zerodrop/internal/phase"
	"github.com/zerodrop/zerodrop/kind/imagetar"
)

//go:embed nodefiles/*
var nodeFiles embed.FS

// BaseRepo and NodeRepo are the repositories of the images the factory builds.
const (
	BaseRepo = "zerodrop.local/kind-base"
	NodeRepo = "zerodrop.local/kind-node"
)

// baseFiles renders the top layer of kind's base image: kind's
// images/base/files tree with the modes its Dockerfile gives, the runtime
// binaries, the CRI base spec, the enabled/masked systemd units and our node
// fixes.
func baseFiles(kindDir string, bins map[string]string, criBase []byte) ([]imagetar.File, error) {
	root := filepath.Join(kindDir, "images", "base", "files")
	var files []imagetar.File
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel := "/" + filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		mode := int64(0o644)
		if strings.HasPrefix(rel, "/usr/local/bin/") || strings.HasPrefix(rel, "/kind/bin/") {
			mode = 0o755
		}
		files = append(files, imagetar.File{Path: rel, Source: p, Mode: mode})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("factory: read kind base files: %w", err)
	}
	for _, n := range []string{"containerd", "ctr", "containerd-shim-runc-v2", "crictl"} {
		files = append(files, imagetar.File{Path: "/usr/local/bin/" + n, Source: bins[n]})
	}
	for _, n := range []string{"host-local", "loopback", "ptp", "portmap"} {
		files = append(files, imagetar.File{Path: "/opt/cni/bin/" + n, Source: bins[n]})
	}
	files = append(files, imagetar.File{Path: "/etc/containerd/cri-base.json", Data: criBase})
	for _, n := range []string{"zerodrop-node-fixes.sh", "zerodrop-node-fixes.service"} {
		b, err := nodeFiles.ReadFile("nodefiles/" + n)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(n, ".sh") {
			files = append(files, imagetar.File{Path: "/kind/bin/" + n, Data: b, Mode: 0o755})
		} else {
			files = append(files, imagetar.File{Path: "/etc/systemd/system/" + n, Data: b})
		}
	}
	// systemctl enable / mask, as symlinks (what systemctl itself writes)
	for _, u := range []string{"kubelet.service", "containerd.service", "undo-mount-hacks.service", "zerodrop-node-fixes.service"} {
		files = append(files, imagetar.File{Path: "/etc/systemd/system/multi-user.target.wants/" + u, Link: "/etc/systemd/system/" + u})
	}
	files = append(files,
		imagetar.File{Path: "/etc/systemd/system/systemd-binfmt.service", Link: "/dev/null"},
		imagetar.File{Path: "/etc/kubernetes/manifests", Dir: true},
	)
	for _, f := range files {
		if f.Source == "" && f.Data == nil && f.Link == "" && !f.Dir {
			return nil, fmt.Errorf("factory: base image: nothing built for %s", f.Path)
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// criBaseSpec is kind's /etc/containerd/cri-base.json: `ctr oci spec` with
// kind's product-files hook added and the default rlimits removed.
func (b *builder) criBaseSpec(ctx context.Context, ctr string) ([]byte, error) {
	raw, err := b.output(ctx, "", nil, ctr, "oci", "spec")
	if err != nil {
		return nil, fmt.Errorf("factory: ctr oci spec: %w", err)
	}
	var spec map[string]any
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		return nil, fmt.Errorf("factory: ctr oci spec: %w", err)
	}
	return patchCRIBase(spec)
}

func patchCRIBase(spec map[string]any) ([]byte, error) {
	hooks, _ := spec["hooks"].(map[string]any)
	if hooks == nil {
		hooks = map[string]any{}
	}
	cc, _ := hooks["createContainer"].([]any)
	hooks["createContainer"] = append(cc, map[string]any{"path": "/kind/bin/mount-product-files.sh"})
	spec["hooks"] = hooks
	if p, ok := spec["process"].(map[string]any); ok {
		delete(p, "rlimits")
	}
	return json.MarshalIndent(spec, "", "    ")
}

var tagSafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]`)

// baseImage builds kind's base image and loads it into the Docker engine.
func (b *builder) baseImage(ctx context.Context, bins map[string]string, nodefs, kindDir string) (string, error) {
	criBase, err := b.criBaseSpec(ctx, bins["ctr"])
	if err != nil {
		return "", err
	}
	files, err := baseFiles(kindDir, bins, criBase)
	if err != nil {
		return "", err
	}
	var fileKeys []string
	for _, f := range files {
		d := f.Link
		switch {
		case f.Source != "":
			if d, err = fileDigest(f.Source); err != nil {
				return "", fmt.Errorf("factory: %w", err)
			}
		case f.Data != nil:
			d = key(string(f.Data))
		}
		fileKeys = append(fileKeys, fmt.Sprintf("%s %o %s", f.Path, f.Mode, d))
	}
	k := key("base-v1", filepath.Base(nodefs), fileKeys, b.epoch)
	tag := BaseRepo + ":" + tagSafe.ReplaceAllString(b.Versions.Suite, "-") + "-" + k
	ok, err := b.imageExists(ctx, tag)
	if err != nil {
		return "", err
	}
	if ok {
		return tag, nil
	}
	done := phase.Start(b.log, "base image", "tag", tag)
	archive := filepath.Join(b.CacheDir, "images", "base-"+k+".tar")
	if err := os.MkdirAll(filepath.Dir(archive), 0o755); err != nil {
		return "", done(fmt.Errorf("factory: %w", err))
	}
	_, err = imagetar.Write(archive, imagetar.Image{
		Tags:       []string{tag},
		Layers:     []string{nodefs},
		Files:      files,
		Entrypoint: []string{"/usr/local/bin/entrypoint", "/sbin/init"},
		Env:        []string{"container=docker", defaultPath},
		StopSignal: "SIGRTMIN+3",
	})
	if err != nil {
		return "", done(err)
	}
	defer os.Remove(archive) // the engine has it now; the rootfs tar stays cached
	if err := b.run(ctx, "", nil, "docker", "load", "-i", archive); err != nil {
		return "", done(fmt.Errorf("factory: docker load base image: %w", err))
	}
	return tag, done(nil)
}

// imageExists asks the engine for ref. `docker images -q` lists nothing for an
// absent image and fails only when the engine does, so the expected "no" of a
// cold build leaves no failed command's log behind and a broken engine is an error.
func (b *builder) imageExists(ctx context.Context, ref string) (bool, error) {
	ids, err := b.output(ctx, "", nil, "docker", "images", "-q", ref)
	if err != nil {
		return false, fmt.Errorf("factory: look for image %s: %w", ref, err)
	}
	return strings.TrimSpace(ids) != "", nil
}
