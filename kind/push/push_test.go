package push

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// writes counts the manifest uploads a registry received.
type writes struct {
	mu sync.Mutex
	n  map[string]int // repository path -> manifest PUTs
	h  http.Handler
}

func (w *writes) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") {
		w.mu.Lock()
		w.n[r.URL.Path]++
		w.mu.Unlock()
	}
	w.h.ServeHTTP(rw, r)
}

func (w *writes) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	t := 0
	for _, n := range w.n {
		t += n
	}
	return t
}

// archive writes a random image as a docker archive under tag, as the
// image factory caches them.
func archive(t *testing.T, tag string) (string, v1.Image) {
	t.Helper()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "image.tar")
	if err := tarball.WriteToFile(p, ref, img); err != nil {
		t.Fatal(err)
	}
	return p, img
}

func TestPublishPushesEachArchiveOnce(t *testing.T) {
	w := &writes{n: map[string]int{}, h: registry.New(registry.Logger(log.New(io.Discard, "", 0)))}
	srv := httptest.NewServer(w)
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://") // 127.0.0.1:port: plain HTTP, as for any loopback registry

	fixture, fixtureImg := archive(t, "zerodrop.local/zerodrop-fixture:abc123")
	loadgen, loadgenImg := archive(t, "zerodrop.local/zerodrop-loadgen:def456")
	r := Registry{Prefix: host + "/ci/zerodrop", Keychain: authn.NewMultiKeychain()}
	images := map[string]string{"zerodrop.local/zerodrop-fixture:abc123": fixture, "zerodrop.local/zerodrop-loadgen:def456": loadgen}
	refs, err := r.Publish(context.Background(), images)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]v1.Image{
		host + "/ci/zerodrop/zerodrop-fixture:abc123": fixtureImg,
		host + "/ci/zerodrop/zerodrop-loadgen:def456": loadgenImg,
	}
	if len(refs) != 2 {
		t.Fatalf("references: %v", refs)
	}
	for tag, ref := range refs {
		img, ok := want[ref]
		if !ok {
			t.Fatalf("%s was pushed to %s, want one of %v", tag, ref, want)
		}
		// what a node pulls is the image that was built
		got, err := remote.Image(mustRef(t, ref))
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		gd, _ := got.Digest()
		wd, _ := img.Digest()
		if gd != wd {
			t.Errorf("%s: pulled digest %s, built %s", ref, gd, wd)
		}
	}
	if n := w.total(); n != 2 {
		t.Fatalf("first publish wrote %d manifests, want 2", n)
	}
	// a second run finds them there and writes nothing
	if _, err := r.Publish(context.Background(), images); err != nil {
		t.Fatal(err)
	}
	if n := w.total(); n != 2 {
		t.Errorf("second publish wrote %d manifests in all, want still 2", n)
	}
	// an archive rebuilt under the same tag is a different image: pushed again
	rebuilt, rebuiltImg := archive(t, "zerodrop.local/zerodrop-fixture:abc123")
	if _, err := r.Publish(context.Background(), map[string]string{"zerodrop.local/zerodrop-fixture:abc123": rebuilt}); err != nil {
		t.Fatal(err)
	}
	if n := w.total(); n != 3 {
		t.Errorf("a rebuilt archive: %d manifests in all, want 3", n)
	}
	got, err := remote.Head(mustRef(t, host+"/ci/zerodrop/zerodrop-fixture:abc123"))
	if err != nil {
		t.Fatal(err)
	}
	if wd, _ := rebuiltImg.Digest(); got.Digest != wd {
		t.Errorf("after the rebuild the registry serves %s, want %s", got.Digest, wd)
	}
}

func TestPublishErrors(t *testing.T) {
	fixture, _ := archive(t, "zerodrop.local/zerodrop-fixture:abc123")
	dead := httptest.NewServer(http.NotFoundHandler())
	deadHost := strings.TrimPrefix(dead.URL, "http://")
	dead.Close() // nothing listens there any more

	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
	}))
	defer refusing.Close()

	for _, c := range []struct {
		name    string
		prefix  string
		archive string
		want    string
	}{
		{"nothing listens", deadHost, fixture, "push: registry " + deadHost + ":"},
		{"the registry refuses", strings.TrimPrefix(refusing.URL, "http://"), fixture, "push: registry 127.0.0.1"},
		{"no archive", "localhost:5000", filepath.Join(t.TempDir(), "missing.tar"), "push: read zerodrop.local/zerodrop-fixture:abc123 ("},
		{"not an archive", "localhost:5000", writeFile(t, "not a tar"), "push: read zerodrop.local/zerodrop-fixture:abc123 ("},
		{"no registry", "", fixture, "push: no registry"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := Registry{Prefix: c.prefix, Keychain: authn.NewMultiKeychain()}
			_, err := r.Publish(context.Background(), map[string]string{"zerodrop.local/zerodrop-fixture:abc123": c.archive})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bad.tar")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckPrefixAndReference(t *testing.T) {
	for _, c := range []struct {
		prefix, tag string
		want        string // the reference, or the error's text
		bad         bool
	}{
		{"localhost:5000", "zerodrop.local/zerodrop-fixture:abc", "localhost:5000/zerodrop-fixture:abc", false},
		{"ghcr.io/acme/zerodrop/", "zerodrop.local/zerodrop-loadgen:v1", "ghcr.io/acme/zerodrop/zerodrop-loadgen:v1", false},
		{"registry.example.com:5443/team", "docker.io/library/nginx:1.27", "registry.example.com:5443/team/library/nginx:1.27", false},
		{"", "app:v1", "no registry", true},
		{"https://ghcr.io/acme", "app:v1", "without a scheme", true},
		{"acme/zerodrop", "app:v1", "its first part must be a registry host", true},
		{"ghcr.io/acme:v1", "app:v1", "without a tag or digest", true},
		{"ghcr.io/Acme", "app:v1", "in lower case", true},
	} {
		got, err := Reference(c.prefix, c.tag)
		switch {
		case c.bad && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Reference(%q, %q): error %v, want one containing %q", c.prefix, c.tag, err, c.want)
		case !c.bad && err != nil:
			t.Errorf("Reference(%q, %q): %v", c.prefix, c.tag, err)
		case !c.bad && got != c.want:
			t.Errorf("Reference(%q, %q) = %s, want %s", c.prefix, c.tag, got, c.want)
		}
		if (CheckPrefix(c.prefix) != nil) != c.bad {
			t.Errorf("CheckPrefix(%q): %v", c.prefix, CheckPrefix(c.prefix))
		}
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
