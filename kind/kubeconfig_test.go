package kind

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKubeconfigIsWrittenOwnerOnly: a new file and its directory, and a file
// that was there with a wider mode, end up readable by the owner only.
func TestKubeconfigIsWrittenOwnerOnly(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "zerodrop.kubeconfig")
	if err := writeKubeconfig(path, []byte("first")); err != nil {
		t.Fatal(err)
	}
	assertMode(t, dir, 0o700)
	assertMode(t, path, 0o600)
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeKubeconfig(path, []byte("second")); err != nil {
		t.Fatal(err)
	}
	assertMode(t, path, 0o600)
	if b, _ := os.ReadFile(path); string(b) != "second" {
		t.Fatalf("content %q, want second", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Fatalf("%s: mode %04o, want %04o", path, got, want)
	}
}

// TestUserKubeconfigIsNeverWritten: ~/.kube/config, spelt as itself, as a
// path with dots, relative to it, or through a symlink, is refused by
// Validate and by the write, and is left as it was. (Down refuses it with
// the same check; it is not called here: it would ask Docker to delete a
// cluster.)
func TestUserKubeconfigIsNeverWritten(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	user := filepath.Join(home, ".kube", "config")
	if err := os.MkdirAll(filepath.Dir(user), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(user, []byte("the user's clusters"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.Symlink(user, link); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(home, ".kube"))
	for _, path := range []string{user, filepath.Join(home, ".kube", ".", "config"), filepath.Join(home, "x", "..", ".kube", "config"), "config", link} {
		err := Spec{KubeconfigPath: path}.Defaults().Validate()
		if err == nil || !strings.Contains(err.Error(), "cluster.kubeconfig") || !strings.Contains(err.Error(), "~/.kube/config") {
			t.Errorf("Validate(%q): %v, want cluster.kubeconfig refused", path, err)
		}
		if err := writeKubeconfig(path, []byte("zerodrop's cluster")); err == nil {
			t.Errorf("writeKubeconfig(%q) wrote the user's kubeconfig", path)
		}
	}
	if b, _ := os.ReadFile(user); string(b) != "the user's clusters" {
		t.Fatalf("~/.kube/config now holds %q", b)
	}
	// a kubeconfig of its own beside it is fine
	if err := (Spec{KubeconfigPath: filepath.Join(home, ".kube", "zerodrop.kubeconfig")}).Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
}
