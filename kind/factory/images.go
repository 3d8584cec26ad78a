package factory

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/zerodrop/zerodrop/internal/phase"
	"github.com/zerodrop/zerodrop/kind/imagetar"
)

var lookPath = exec.LookPath

// imagePlan is one archive to write.
type imagePlan struct {
	Name  string
	Image imagetar.Image
}

const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// planImages maps every image kubeadm asks for, the node's sandbox image and
// the pod network to what we build. It is pure: bins maps binary name to path,
// netfs is the iptables rootfs tar.
func planImages(required []string, sandbox string, bins map[string]string, netfs string, podnetTag string) ([]imagePlan, error) {
	static := func(name, tag, bin string, entry []string) imagePlan {
		return imagePlan{Name: name, Image: imagetar.Image{
			Tags:       []string{tag},
			Files:      []imagetar.File{{Path: entry[0], Source: bins[bin]}, {Path: "/tmp", Dir: true, Mode: 0o1777}, {Path: "/etc/passwd", Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n")}},
			Entrypoint: entry,
			Env:        []string{defaultPath},
		}}
	}
	var plans []imagePlan
	pauseTags := []string{}
	for _, ref := range append(append([]string{}, required...), sandbox) {
		repo, _, ok := strings.Cut(ref, ":")
		if !ok {
			return nil, fmt.Errorf("factory: image %q has no tag", ref)
		}
		switch name := repo[strings.LastIndex(repo, "/")+1:]; name {
		case "kube-apiserver", "kube-controller-manager", "kube-scheduler":
			plans = append(plans, static(name, ref, name, []string{"/usr/local/bin/" + name}))
		case "kube-proxy":
			p := static(name, ref, name, []string{"/usr/local/bin/kube-proxy"})
			p.Image.Layers = []string{netfs}
			p.Image.Files = p.Image.Files[:1]
			plans = append(plans, p)
		case "etcd":
			plans = append(plans, static(name, ref, "etcd", []string{"/usr/local/bin/etcd"}))
		case "coredns":
			plans = append(plans, static(name, ref, "coredns", []string{"/coredns"}))
		case "pause":
			if !contains(pauseTags, ref) {
				pauseTags = append(pauseTags, ref)
			}
		default:
			return nil, fmt.Errorf("factory: kubeadm asks for image %q, which the air-gapped factory does not know how to build", ref)
		}
	}
	sort.Strings(pauseTags)
	plans = append(plans, imagePlan{Name: "pause", Image: imagetar.Image{
		Tags:       pauseTags,
		Files:      []imagetar.File{{Path: "/pause", Source: bins["zerodrop-pause"]}},
		Entrypoint: []string{"/pause"},
		User:       "65535:65535",
	}})
	plans = append(plans, imagePlan{Name: "podnet", Image: imagetar.Image{
		Tags:       []string{podnetTag},
		Layers:     []string{netfs},
		Files:      []imagetar.File{{Path: "/usr/local/bin/zerodrop-podnet", Source: bins["zerodrop-podnet"]}},
		Entrypoint: []string{"/usr/local/bin/zerodrop-podnet"},
		Env:        []string{defaultPath},
	}})
	for _, p := range plans {
		for _, f := range p.Image.Files {
			if f.Source == "" && f.Data == nil && !f.Dir && f.Link == "" {
				return nil, fmt.Errorf("factory: image %s: no binary built for %s", p.Name, f.Path)
			}
		}
	}
	return plans, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var sandboxRe = regexp.MustCompile(`(?m)^\s*sandbox_image\s*=\s*"([^"]+)"`)

// kindSandboxImage reads the pause image kind's containerd config pins.
func kindSandboxImage(kindDir string) (string, error) {
	raw, err := os.ReadFile(filepath.Join(kindDir, "images", "base", "files", "etc", "containerd", "config.toml"))
	if err != nil {
		return "", fmt.Errorf("factory: kind containerd config: %w", err)
	}
	m := sandboxRe.FindSubmatch(raw)
	if m == nil {
		return "", fmt.Errorf("factory: no sandbox_image in kind's containerd config")
	}
	return string(m[1]), nil
}

// componentImages writes the cluster's image archives; it returns tag ->
// archive and the tags the node must hold.
func (b *builder) componentImages(ctx context.Context, bins map[string]string, fs map[string]string) (map[string]string, []string, error) {
	done := phase.Start(b.log, "component images")
	required, err := b.output(ctx, "", nil, bins["kubeadm"], "config", "images", "list", "--kubernetes-version", b.Versions.Kubernetes)
	if err != nil {
		return nil, nil, done(fmt.Errorf("factory: ask kubeadm for its images: %w", err))
	}
	kindDir, _, err := b.kindModule(ctx)
	if err != nil {
		return nil, nil, done(err)
	}
	sandbox, err := kindSandboxImage(kindDir)
	if err != nil {
		return nil, nil, done(err)
	}
	podnetDigest, err := fileDigest(bins["zerodrop-podnet"])
	if err != nil {
		return nil, nil, done(fmt.Errorf("factory: %w", err))
	}
	podnetTag := PodnetRepo + ":" + key(podnetDigest, filepath.Base(fs["net"]))[:12]
	plans, err := planImages(strings.Fields(required), sandbox, bins, fs["net"], podnetTag)
	if err != nil {
		return nil, nil, done(err)
	}
	dir := filepath.Join(b.CacheDir, "images")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, done(fmt.Errorf("factory: %w", err))
	}
	out := map[string]string{}
	var tags []string
	for _, p := range plans {
		var digests []string
		for _, f := range p.Image.Files {
			if f.Source != "" {
				d, err := fileDigest(f.Source)
				if err != nil {
					return nil, nil, done(fmt.Errorf("factory: %w", err))
				}
				digests = append(digests, d)
			}
		}
		// rootfs tar names carry their own keys
		k := key("image-v1", p.Image.Tags, p.Image.Entrypoint, p.Image.Env, p.Image.User, baseNames(p.Image.Layers), digests, len(p.Image.Files), b.epoch)
		dst := filepath.Join(dir, p.Name+"-"+k+".tar")
		if !exists(dst) {
			if _, err := imagetar.Write(dst, p.Image); err != nil {
				return nil, nil, done(fmt.Errorf("factory: image %s: %w", p.Name, err))
			}
		}
		for _, t := range p.Image.Tags {
			out[t] = dst
			tags = append(tags, t)
		}
	}
	sort.Strings(tags)
	return out, tags, done(nil)
}

// PodnetRepo is the repository of the pod network daemon's image.
const PodnetRepo = "zerodrop.local/podnet"

// kindModule finds the kind module's directory and version in the module cache.
func (b *builder) kindModule(ctx context.Context) (string, string, error) {
	out, err := b.output(ctx, b.SourceDir, nil, "go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "sigs.k8s.io/kind")
	if err == nil {
		if f := strings.Fields(out); len(f) == 2 {
			return f[0], f[1], nil
		}
	}
	if derr := b.run(ctx, b.SourceDir, nil, "go", "mod", "download", "sigs.k8s.io/kind"); derr != nil {
		return "", "", fmt.Errorf("factory: find the kind module from %s: %v; %w", b.SourceDir, err, derr)
	}
	out, err = b.output(ctx, b.SourceDir, nil, "go", "list", "-m", "-f", "{{.Dir}} {{.Version}}", "sigs.k8s.io/kind")
	if f := strings.Fields(out); err == nil && len(f) == 2 {
		return f[0], f[1], nil
	}
	return "", "", fmt.Errorf("factory: find the kind module from %s: %v", b.SourceDir, err)
}
