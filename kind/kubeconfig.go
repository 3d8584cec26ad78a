package kind

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// notUserKubeconfig refuses the user's own ~/.kube/config, however it is
// spelt: a relative path, a symlink or a hard link to it. zerodrop writes a
// cluster's kubeconfig, merges kind's entries into it and deletes it with the
// cluster, none of which may happen to the file that reaches the user's
// other clusters.
func notUserKubeconfig(path string) error {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil // no home: no ~/.kube/config to protect
	}
	user := filepath.Join(home, ".kube", "config")
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("kubeconfig %q: %w", path, err)
	}
	same := abs == user
	if !same {
		a, aerr := os.Stat(abs)
		u, uerr := os.Stat(user)
		same = aerr == nil && uerr == nil && os.SameFile(a, u)
	}
	if same {
		return fmt.Errorf("kubeconfig %q is your ~/.kube/config, which zerodrop never writes; choose another path", path)
	}
	return nil
}

// writeKubeconfig writes a cluster's kubeconfig readable by its owner only
// (it holds the cluster-admin key): written to a new 0600 file and renamed
// over path, so a file that was there with a wider mode does not keep it,
// and a reader never sees half a kubeconfig.
func writeKubeconfig(path string, raw []byte) error {
	if err := notUserKubeconfig(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // created 0600
	if err != nil {
		return err
	}
	_, werr := f.Write(raw)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return nil
}
