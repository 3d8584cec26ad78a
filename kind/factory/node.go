package factory

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/zerodrop/zerodrop/internal/phase"
	"github.com/zerodrop/zerodrop/kind/podnet"
)

// nodeImage assembles the node image the way kind's node-image builder does
// (pkg/build/nodeimage buildImage): run the base image, copy kubeadm, kubelet
// and kubectl in, write /kind/version and the default CNI manifest, start
// containerd, import every image archive pinned, and commit.
func (b *builder) nodeImage(ctx context.Context, base string, bins map[string]string, images map[string]string, required []string) (string, error) {
	podnetTag := ""
	for _, t := range required {
		if strings.HasPrefix(t, PodnetRepo+":") {
			podnetTag = t
		}
	}
	manifest := podnet.Manifest(podnetTag)
	var digests []string
	for _, n := range []string{"kubeadm", "kubelet", "kubectl"} {
		d, err := fileDigest(bins[n])
		if err != nil {
			return "", fmt.Errorf("factory: %w", err)
		}
		digests = append(digests, d)
	}
	archives := uniqueArchives(images)
	// archive names carry their content keys; their directory is where the cache happens to be
	k := key("node-v1", base, digests, baseNames(archives), required, manifest, b.Versions.Kubernetes)
	tag := NodeRepo + ":" + b.Versions.Kubernetes + "-" + k
	ok, err := b.imageExists(ctx, tag)
	if err != nil {
		return "", err
	}
	if ok {
		return tag, nil
	}
	done := phase.Start(b.log, "node image", "tag", tag, "images", len(required))
	id := fmt.Sprintf("zerodrop-node-build-%d", time.Now().UnixNano())
	if err := b.run(ctx, "", nil, "docker", "run", "-d", "--entrypoint=sleep", "--name="+id,
		"--security-opt", "seccomp=unconfined", base, "infinity"); err != nil {
		return "", done(fmt.Errorf("factory: start build container: %w", err))
	}
	defer func() { _ = b.run(context.Background(), "", nil, "docker", "rm", "-f", "-v", id) }()
	exec := func(args ...string) error {
		return b.run(ctx, "", nil, "docker", append([]string{"exec", id}, args...)...)
	}
	write := func(path, content string) error {
		return b.runCmd(ctx, command{Name: "docker", Stdin: strings.NewReader(content),
			Args: []string{"exec", "-i", id, "sh", "-c", "mkdir -p \"$(dirname \"$1\")\" && cat > \"$1\"", "sh", path}})
	}
	for _, n := range []string{"kubeadm", "kubelet", "kubectl"} {
		if err := b.run(ctx, "", nil, "docker", "cp", bins[n], id+":/usr/bin/"+n); err != nil {
			return "", done(fmt.Errorf("factory: copy %s: %w", n, err))
		}
		if err := exec("chown", "root:root", "/usr/bin/"+n); err != nil {
			return "", done(fmt.Errorf("factory: install %s: %w", n, err))
		}
		if err := exec("chmod", "0755", "/usr/bin/"+n); err != nil {
			return "", done(fmt.Errorf("factory: install %s: %w", n, err))
		}
	}
	if err := write("/kind/version", b.Versions.Kubernetes); err != nil {
		return "", done(fmt.Errorf("factory: write /kind/version: %w", err))
	}
	if err := write("/kind/manifests/default-cni.yaml", manifest); err != nil {
		return "", done(fmt.Errorf("factory: write CNI manifest: %w", err))
	}
	if err := exec("bash", "-c", "nohup containerd > /var/log/containerd-build.log 2>&1 &"); err != nil {
		return "", done(fmt.Errorf("factory: start containerd in build container: %w", err))
	}
	if err := exec("bash", "-c", `for i in $(seq 1 60); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 0.5; done; cat /var/log/containerd-build.log; exit 1`); err != nil {
		return "", done(fmt.Errorf("factory: containerd did not become ready in the build container: %w", err))
	}
	for _, a := range archives {
		f, err := os.Open(a)
		if err != nil {
			return "", done(fmt.Errorf("factory: %w", err))
		}
		err = b.runCmd(ctx, command{Name: "docker", Stdin: f, Args: []string{"exec", "-i", id, "ctr", "--namespace=k8s.io", "images", "import",
			"--label=io.cri-containerd.pinned=pinned", "--all-platforms", "--no-unpack", "--digests", "-"}})
		f.Close()
		if err != nil {
			return "", done(fmt.Errorf("factory: import %s: %w", filepath.Base(a), err))
		}
	}
	have, err := b.output(ctx, "", nil, "docker", "exec", id, "ctr", "--namespace=k8s.io", "images", "list", "-q")
	if err != nil {
		return "", done(fmt.Errorf("factory: list imported images: %w", err))
	}
	if missing := missingImages(required, strings.Fields(have)); len(missing) > 0 {
		return "", done(fmt.Errorf("factory: node image lacks %s after import", strings.Join(missing, ", ")))
	}
	// stop containerd cleanly so its metadata is flushed before the commit; the
	// build container's PID 1 (sleep) does not reap, so a zombie counts as gone
	if err := exec("bash", "-c", `pkill -x containerd; for i in $(seq 1 80); do ps -C containerd -o stat= | grep -qv '^Z' || exit 0; sleep 0.25; done; exit 1`); err != nil {
		return "", done(fmt.Errorf("factory: stop containerd in build container: %w", err))
	}
	if err := b.run(ctx, "", nil, "docker", "commit",
		"--change", `ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]`,
		"--change", `CMD []`,
		id, tag); err != nil {
		return "", done(fmt.Errorf("factory: commit node image: %w", err))
	}
	return tag, done(nil)
}

func uniqueArchives(images map[string]string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range images {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// baseNames drops the directories of content-keyed cache files, so that a key
// over them does not depend on where the cache is.
func baseNames(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = filepath.Base(p)
	}
	return out
}

// missingImages lists required tags absent from have; containerd lists them
// fully qualified (docker.io/... for short names), as kubeadm asks for them.
func missingImages(required, have []string) []string {
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	var out []string
	for _, r := range required {
		if !set[r] && !set["docker.io/"+r] {
			out = append(out, r)
		}
	}
	return out
}
