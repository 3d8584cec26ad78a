// Package itest is how an integration test starts: the inputs resolved once
// (mode, cache and state directories, source tree), the default cluster
// provisioned (reused when it is healthy and matches), the fixture image on
// its nodes, a client, and a namespace of its own that goes away with the
// test. It imports testing, so only tests import it.
package itest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"

	"github.com/zerodrop/zerodrop/cmd/zerodrop/inputs"
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
// cluster and the fixture image, or fails the test.
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
	tc := Cluster{Ctx: ctx, Cluster: c, Inputs: in}
	tc.Image = tc.OwnImage(t, "zerodrop-fixture", "")
	cs, err := kubernetes.NewForConfig(c.Client.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	tc.Client = cs
	return tc
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
