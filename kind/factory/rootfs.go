package factory

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/zerodrop/zerodrop/internal/phase"
)

// A rootfs is a Debian minbase tree with extra packages, tarred once and cached.
type rootfs struct {
	Name     string
	Packages []string
	// Prune lists paths (relative, globs allowed) removed before tarring.
	Prune []string
	// Post adjusts the tree before tarring (kind's Dockerfile RUN steps).
	Post func(dir string) error
	// PostID names Post's behaviour in the cache key; bump it when Post changes.
	PostID string
}

// always pruned: docker provides these at run time, and docs/caches are dead weight.
var commonPrune = []string{
	"dev/*", "proc/*", "sys/*", "run/*", "tmp/*",
	"var/cache/apt/archives/*.deb", "var/lib/apt/lists/*", "var/log/*",
	"usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*",
	"etc/hostname", "etc/resolv.conf", "etc/machine-id",
}

func (b *builder) rootfsSpecs(kindPackages []string) []rootfs {
	return []rootfs{
		{
			Name: "node",
			// kind's base image package list, plus Debian's runc (kind builds its own runc;
			// Debian's 1.1.x works as the node's runtime).
			Packages: append(append([]string{}, kindPackages...), "runc"),
			Post:     nodeRootfsPost,
			PostID:   "kind-base-v1",
		},
		{
			// userland for kube-proxy and the pod-network daemon: iptables/nft and ip.
			Name:     "net",
			Packages: []string{"iptables", "nftables", "iproute2", "conntrack", "kmod"},
		},
	}
}

// rootfsAll builds the root filesystems side by side; name -> tar path.
func (b *builder) rootfsAll(ctx context.Context) (map[string]string, error) {
	kindDir, _, err := b.kindModule(ctx)
	if err != nil {
		return nil, err
	}
	pkgs, err := kindBasePackages(filepath.Join(kindDir, "images", "base", "Dockerfile"))
	if err != nil {
		return nil, err
	}
	return b.rootfsEach(ctx, b.rootfsSpecs(pkgs))
}

// rootfsEach builds the given root filesystems side by side; name -> tar path.
func (b *builder) rootfsEach(ctx context.Context, specs []rootfs) (map[string]string, error) {
	type res struct {
		name, path string
		err        error
	}
	ch := make(chan res, len(specs))
	for _, s := range specs {
		go func(s rootfs) {
			p, err := b.rootfs(ctx, s)
			ch <- res{s.Name, p, err}
		}(s)
	}
	out := map[string]string{}
	var firstErr error
	for range specs {
		r := <-ch
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
		out[r.name] = r.path
	}
	return out, firstErr
}

func (b *builder) rootfs(ctx context.Context, s rootfs) (string, error) {
	pkgs := append([]string{}, s.Packages...)
	sort.Strings(pkgs)
	prune := append(append([]string{}, commonPrune...), s.Prune...)
	k := key("rootfs-v1", b.Versions.Suite, b.Versions.Arch, pkgs, prune, s.PostID, b.epoch)
	dst := filepath.Join(b.CacheDir, "rootfs", fmt.Sprintf("%s-%s-%s.tar", s.Name, b.Versions.Suite, k))
	if exists(dst) {
		return dst, nil
	}
	done := phase.Start(b.log, "debootstrap "+s.Name+" rootfs", "suite", b.Versions.Suite, "packages", len(pkgs))
	if _, err := lookPath("debootstrap"); err != nil {
		return "", done(fmt.Errorf("factory: debootstrap is not installed (apt-get install debootstrap): %w", err))
	}
	work := dst + ".d"
	os.RemoveAll(work)
	// A package cache per rootfs, since they are built side by side:
	// debootstrap does not lock its --cache-dir. Two runs that fetch the same
	// .deb at once write it in place and each deletes the other's copy while
	// its checksum is not yet right, and one fails with `cp: cannot stat
	// .../debs/<pkg>.deb`. On 2 cores, one cache each side by side beat one
	// shared cache one after another (docs/benchmarks.md); the base system is
	// downloaded twice, 36 MB.
	debs := filepath.Join(b.CacheDir, "debs", b.Versions.Suite, s.Name)
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", done(fmt.Errorf("factory: %w", err))
	}
	args := []string{"--variant=minbase", "--arch=" + b.Versions.Arch, "--cache-dir=" + debs,
		"--include=" + strings.Join(pkgs, ","), b.Versions.Suite, work, b.mirror()}
	// debootstrap writes its errors to the target's debootstrap.log, not to stderr
	err := b.runCmd(ctx, command{Name: "debootstrap", Args: args,
		SideLogs: []string{filepath.Join(work, "debootstrap", "debootstrap.log")}})
	if err != nil {
		os.RemoveAll(work)
		return "", done(fmt.Errorf("factory: debootstrap %s: %w", s.Name, err))
	}
	if s.Post != nil {
		if err := s.Post(work); err != nil {
			return "", done(fmt.Errorf("factory: prepare %s rootfs: %w", s.Name, err))
		}
	}
	for _, p := range prune {
		matches, _ := filepath.Glob(filepath.Join(work, p))
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return "", done(fmt.Errorf("factory: prune %s: %w", m, err))
			}
		}
	}
	// GNU tar: sorted, numeric root-relative ownership, fixed mtimes -> stable digests.
	tmp := dst + ".tmp"
	if err := b.run(ctx, "", nil, "tar", "--sort=name", "--numeric-owner", "--mtime=@"+fmt.Sprint(sourceDateEpoch().Unix()),
		"--xattrs", "--xattrs-include=security.capability", "-C", work, "-cf", tmp, "."); err != nil {
		return "", done(fmt.Errorf("factory: tar %s rootfs: %w", s.Name, err))
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", done(fmt.Errorf("factory: %w", err))
	}
	os.RemoveAll(work)
	return dst, done(nil)
}

// nodeRootfsPost does the file changes of kind's base Dockerfile that are not
// file additions: systemd units that must not start in a container, journald
// without kmsg, /sbin/init, and the kubelet manifest directory.
func nodeRootfsPost(dir string) error {
	for _, g := range []string{
		"lib/systemd/system/sysinit.target.wants/systemd-tmpfiles-setup.service",
		"lib/systemd/system/multi-user.target.wants/*",
		"etc/systemd/system/*.wants/*",
		"lib/systemd/system/local-fs.target.wants/*",
		"lib/systemd/system/sockets.target.wants/*udev*",
		"lib/systemd/system/sockets.target.wants/*initctl*",
		"lib/systemd/system/basic.target.wants/*",
	} {
		matches, _ := filepath.Glob(filepath.Join(dir, g))
		for _, m := range matches {
			if err := os.RemoveAll(m); err != nil {
				return err
			}
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "etc/systemd/journald.conf"), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString("ReadKMsg=no\n"); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	os.Remove(filepath.Join(dir, "sbin/init"))
	if err := os.Symlink("/usr/lib/systemd/systemd", filepath.Join(dir, "sbin/init")); err != nil {
		return err
	}
	return os.MkdirAll(filepath.Join(dir, "etc/kubernetes/manifests"), 0o755)
}

// kindBasePackages reads the Debian packages kind's base image installs from
// its Dockerfile in the kind module: the words after `clean-install` up to the
// next `&&`.
func kindBasePackages(dockerfile string) ([]string, error) {
	raw, err := os.ReadFile(dockerfile)
	if err != nil {
		return nil, fmt.Errorf("factory: kind base Dockerfile: %w", err)
	}
	return parseCleanInstall(string(raw))
}

var wordRe = regexp.MustCompile(`^[a-z0-9][a-z0-9.+-]*$`)

func parseCleanInstall(dockerfile string) ([]string, error) {
	// join continuation lines, then find the first `clean-install` of the base stage
	var joined strings.Builder
	sc := bufio.NewScanner(strings.NewReader(dockerfile))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		joined.WriteString(strings.TrimSuffix(line, "\\"))
		joined.WriteString(" ")
	}
	text := joined.String()
	i := strings.Index(text, "clean-install")
	if i < 0 {
		return nil, fmt.Errorf("factory: no clean-install in kind's base Dockerfile")
	}
	rest := text[i+len("clean-install"):]
	if j := strings.Index(rest, "&&"); j >= 0 {
		rest = rest[:j]
	}
	var pkgs []string
	for _, w := range strings.Fields(rest) {
		if wordRe.MatchString(w) {
			pkgs = append(pkgs, w)
		}
	}
	if len(pkgs) < 5 {
		return nil, fmt.Errorf("factory: kind's base Dockerfile lists only %v after clean-install", pkgs)
	}
	return pkgs, nil
}

// mirror is the Debian mirror: Options.Mirror, else the host's first apt
// source for Debian, else deb.debian.org.
func (b *builder) mirror() string {
	if b.Mirror != "" {
		return b.Mirror
	}
	if raw, err := os.ReadFile("/etc/apt/sources.list.d/debian.sources"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(line, "URIs:"); ok {
				if u := strings.Fields(v); len(u) > 0 && strings.HasSuffix(u[0], "/debian") {
					return u[0]
				}
			}
		}
	}
	if raw, err := os.ReadFile("/etc/apt/sources.list"); err == nil {
		for _, line := range strings.Split(string(raw), "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 && f[0] == "deb" && strings.HasSuffix(strings.TrimSuffix(f[1], "/"), "/debian") {
				return f[1]
			}
		}
	}
	return "http://deb.debian.org/debian"
}
