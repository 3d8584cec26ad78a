package imagetar

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func testImage(t *testing.T, bin string) Image {
	t.Helper()
	return Image{
		Tags:       []string{"registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10.1"},
		Files:      []File{{Path: "/pause", Source: bin}, {Path: "/etc/passwd", Data: []byte("root:x:0:0::/:/pause\n")}, {Path: "/tmp", Dir: true, Mode: 0o1777}},
		Entrypoint: []string{"/pause"},
		User:       "65535:65535",
	}
}

func TestWriteIsContentAddressed(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.WriteFile(bin, []byte("#!binary"), 0o755); err != nil {
		t.Fatal(err)
	}
	d1, err := Write(filepath.Join(dir, "a.tar"), testImage(t, bin))
	if err != nil {
		t.Fatal(err)
	}
	d2, err := Write(filepath.Join(dir, "b.tar"), testImage(t, bin))
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Fatalf("same inputs gave digests %s and %s", d1, d2)
	}
	if err := os.WriteFile(bin, []byte("#!binary2"), 0o755); err != nil {
		t.Fatal(err)
	}
	d3, err := Write(filepath.Join(dir, "c.tar"), testImage(t, bin))
	if err != nil {
		t.Fatal(err)
	}
	if d3 == d1 {
		t.Fatalf("changed binary kept digest %s", d1)
	}
}

func TestArchiveHasTagsPlatformAndFiles(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	os.WriteFile(bin, []byte("x"), 0o755)
	p := filepath.Join(dir, "img.tar")
	if _, err := Write(p, testImage(t, bin)); err != nil {
		t.Fatal(err)
	}
	for _, tg := range []string{"registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10.1"} {
		tag, _ := name.NewTag(tg)
		img, err := tarball.ImageFromPath(p, &tag)
		if err != nil {
			t.Fatalf("%s: %v", tg, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS != "linux" || cf.Architecture != "amd64" {
			t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
		}
		if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/pause" || cf.Config.User != "65535:65535" {
			t.Errorf("config %+v", cf.Config)
		}
		layers, _ := img.Layers()
		if len(layers) != 1 {
			t.Fatalf("%d layers", len(layers))
		}
		rc, _ := layers[0].Uncompressed()
		tr := tar.NewReader(rc)
		got := map[string]*tar.Header{}
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got[h.Name] = h
		}
		for _, n := range []string{"pause", "etc/", "etc/passwd", "tmp/"} {
			if got[n] == nil {
				t.Errorf("layer lacks %s (has %v)", n, got)
			}
		}
		if got["tmp/"] != nil && got["tmp/"].Mode != 0o1777 {
			t.Errorf("tmp mode %o", got["tmp/"].Mode)
		}
	}
}

func TestLayerTarRejectsAmbiguousFile(t *testing.T) {
	if _, err := LayerTar([]File{{Path: "/x", Data: []byte("a"), Link: "/y"}}, Epoch()); err == nil {
		t.Fatal("want error for a file with both Data and Link")
	}
	if _, err := LayerTar([]File{{Path: "/"}}, Epoch()); err == nil {
		t.Fatal("want error for an empty path")
	}
	b, err := LayerTar([]File{{Path: "/a/b", Data: []byte("1")}}, Epoch())
	if err != nil || !bytes.Contains(b, []byte("a/b")) {
		t.Fatalf("%v", err)
	}
}
