// Package itest is how an integration test starts: the inputs resolved once
// (mode, cache and state directories, source tree), the default cluster
// provisioned (reused when it is healthy and matches), the cluster lock held
// for the test, the fixture image on its nodes, a client, and a namespace of
// its own that goes away with the test. It imports testing, so only tests
// import it.
package itest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/zerodrop/zerodrop/cmd/zerodrop/inputs"
	"github.com/zerodrop/zerodrop/internal/clusterlock"
	"github.com/zerodrop/zerodrop/kind"
	"github.com/zerodrop/zerodrop/kind/factory"
)

// Cluster is the test's cluster.
type Cluster struct {
	Ctx     context.Context // ends after the timeout given to Start, or with the test
	Cluster *kind.Cluster
	Inputs  inputs.Inputs
	Client  kubernetes.Interface
	Image   string // the fixture image, loaded into every node
}

// Provision resolves the inputs the way the CLI does and brings up (or
// reuses) the default cluster: the entry point of the gating suite and of
// every integration test.
func Provision(ctx context.Context, log *slog.Logger) (*kind.Cluster, inputs.Inputs, error) {
	in, err := inputs.Resolve(ctx, kind.Auto, "", "").WithSource("")
	if err != nil {
		return nil, in, err
	}
	name := inputs.ClusterName()
	c, err := kind.Provision(ctx, kind.Options{Spec: kind.Spec{Name: name, KubeconfigPath: in.Kubeconfig(name)}, Mode: in.Mode, CacheDir: in.CacheDir, Log: log})
	return c, in, err
}

// Start skips the test under -short, otherwise provisions the default
// cluster, holds the cluster lock until the test ends (waiting, within the
// timeout, while another process uses the cluster), and loads the fixture
// image, or fails the test.
func Start(t *testing.T, timeout time.Duration, log *slog.Logger) Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("needs a cluster")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	c, in, err := Provision(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(c.Client.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	release, err := Lock(ctx, cs, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := release(); err != nil {
			t.Error(err)
		}
	})
	tc := Cluster{Ctx: ctx, Cluster: c, Inputs: in, Client: cs}
	tc.Image = tc.OwnImage(t, "zerodrop-fixture", "")
	return tc
}

// held is this process's hold on the cluster lock, shared by its tests: a
// second lease of the same process would wait for the first, and a second
// hold would be cleared by the first one's release.
var held struct {
	sync.Mutex
	holds   int
	release func() error
}

// Lock holds the cluster lock (clusterlock) for this test process until the
// release func is called: waiting up to clusterlock.DefaultWait while another
// process uses the cluster, or until ctx ends. ctx bounds only the wait; the
// hold lasts until the release. Holds nest: the lease is released with the
// last of them. The release func's error says the lock was lost while held.
func Lock(ctx context.Context, cs kubernetes.Interface, log *slog.Logger) (release func() error, err error) {
	held.Lock()
	defer held.Unlock()
	if held.holds == 0 {
		// the hold outlives ctx (a Ginkgo node's, one test's); an ended ctx
		// still ends the wait
		release, err := clusterlock.AcquireUntilRelease(ctx, cs, clusterlock.Options{
			Identity: inputs.LockIdentity("go test " + filepath.Base(os.Args[0])).String(),
			Wait:     clusterlock.DefaultWait, Log: log})
		if err != nil {
			return nil, err
		}
		held.release = release
	}
	held.holds++
	var once sync.Once
	return func() (err error) {
		once.Do(func() {
			held.Lock()
			defer held.Unlock()
			if held.holds--; held.holds == 0 {
				err = held.release()
			}
		})
		return err
	}, nil
}

// OwnImage builds cmd/<name> of the source tree into an image (a variant:
// another image ID for the same program) and loads it into every node.
func (c Cluster) OwnImage(t *testing.T, name, variant string) string {
	t.Helper()
	img, err := factory.BuildImageVariant(c.Ctx, c.Inputs.SourceDir, c.Inputs.CacheDir, name, variant)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Cluster.LoadImages(c.Ctx, map[string]string{img.Tag: img.Archive}); err != nil {
		t.Fatal(err)
	}
	return img.Tag
}

// Namespace creates a namespace named prefix-<random>, deleted when the test ends.
func (c Cluster) Namespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := prefix + "-" + rand.String(5)
	if _, err := c.Client.CoreV1().Namespaces().Create(c.Ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Client.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	return ns
}
