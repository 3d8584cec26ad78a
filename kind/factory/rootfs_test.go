package factory

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRootfsConcurrentEmptyCache builds two root filesystems the way
// rootfsAll does, from an empty cache, as on a fresh machine. Both bootstrap
// the same base system; built side by side with a shared --cache-dir, one of
// them failed (`cp: cannot stat .../debs/<pkg>.deb`). It needs root,
// debootstrap and the Debian mirror, and takes minutes:
//
//	go test -count=1 -run TestRootfsConcurrentEmptyCache ./kind/factory/
func TestRootfsConcurrentEmptyCache(t *testing.T) {
	if testing.Short() || os.Getenv("ZERODROP_COLD") != "1" {
		t.Skip("slow: debootstraps two root filesystems from the Debian mirror; ZERODROP_COLD=1 (make test-cold) runs it")
	}
	if os.Geteuid() != 0 {
		t.Skip("debootstrap needs root")
	}
	if _, err := lookPath("debootstrap"); err != nil {
		t.Skip("debootstrap is not installed")
	}
	b := testBuilder(t) // an empty cache
	b.Versions = Default
	// small package lists: the base system, where the two runs collide, is the same for any list
	specs := []rootfs{
		{Name: "first", Packages: []string{"kmod"}},
		{Name: "second", Packages: []string{"iproute2"}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	tars, err := b.rootfsEach(ctx, specs)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs {
		status, err := tarFile(tars[s.Name], "./var/lib/dpkg/status")
		if err != nil {
			t.Fatalf("%s rootfs %s: %v", s.Name, tars[s.Name], err)
		}
		for _, p := range s.Packages {
			if !strings.Contains(status, "Package: "+p+"\nStatus: install ok installed\n") {
				t.Errorf("%s rootfs: %s is not installed", s.Name, p)
			}
		}
	}
}

// tarFile returns the content of one file in a tar archive.
func tarFile(archive, name string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return "", errors.New("no " + name)
		}
		if err != nil {
			return "", err
		}
		if h.Name == name {
			raw, err := io.ReadAll(tr)
			return string(raw), err
		}
	}
}
