// Package itest is how an integration test starts: the default cluster
// (attached or created), the fixture image on its nodes, a client, and a
// namespace of its own that goes away with the test. It imports testing, so
// only tests import it.
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

	"github.com/zerodrop/zerodrop/internal/testcluster"
	"github.com/zerodrop/zerodrop/kind"
)

// Cluster is the test's cluster.
type Cluster struct {
	Ctx     context.Context // ends after the timeout given to Start, or with the test
	Cluster *kind.Cluster
	Client  kubernetes.Interface
	Image   string // the fixture image, loaded into every node
}

// Start skips the test under -short, otherwise gets the default cluster and
// the fixture image, or fails the test.
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
	c, err := testcluster.Get(ctx, log)
	if err != nil {
		t.Fatal(err)
	}
	image, err := testcluster.FixtureImage(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(c.Client.RESTConfig())
	if err != nil {
		t.Fatal(err)
	}
	return Cluster{Ctx: ctx, Cluster: c, Client: cs, Image: image}
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
