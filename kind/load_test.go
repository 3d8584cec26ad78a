package kind

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"

	"github.com/zerodrop/zerodrop/kind/imagetar"
)

// TestArchiveImageIDIsTheConfigDigest: the ID read from an archive is the
// one containerd gives the image (its config's digest), whichever way the
// archive's manifest names the config.
func TestArchiveImageIDIsTheConfigDigest(t *testing.T) {
	dir := t.TempDir()
	archive := filepath.Join(dir, "app.tar")
	if _, err := imagetar.Write(archive, imagetar.Image{Tags: []string{"docker.io/library/app:v1"}, Files: []imagetar.File{{Path: "/x", Data: []byte("x")}}}); err != nil {
		t.Fatal(err)
	}
	img, err := imagetar.Build(imagetar.Image{Tags: []string{"docker.io/library/app:v1"}, Files: []imagetar.File{{Path: "/x", Data: []byte("x")}}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ArchiveImageID(archive); err != nil || got != want.String() {
		t.Fatalf("ID %q, %v; want %s", got, err, want)
	}
	// docker save (25+) writes blobs/sha256/<hex>; older ones <hex>.json
	for _, config := range []string{"blobs/sha256/" + want.Hex, want.Hex + ".json"} {
		p := filepath.Join(dir, "docker.tar")
		writeTar(t, p, map[string]string{"manifest.json": `[{"Config":"` + config + `","RepoTags":["app:v1"]}]`})
		if got, err := ArchiveImageID(p); err != nil || got != want.String() {
			t.Errorf("config %s: ID %q, %v; want %s", config, got, err, want)
		}
	}
	writeTar(t, filepath.Join(dir, "none.tar"), map[string]string{"x": "y"})
	if _, err := ArchiveImageID(filepath.Join(dir, "none.tar")); err == nil {
		t.Error("a tar without manifest.json has an ID")
	}
}

func writeTar(t *testing.T, path string, files map[string]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
}
