package itest

import (
	"context"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/zerodrop/zerodrop/internal/clusterlock"
)

func holder(t *testing.T, cs *fake.Clientset) string {
	t.Helper()
	l, err := cs.CoordinationV1().Leases(clusterlock.DefaultNamespace).Get(context.Background(), clusterlock.DefaultName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "" // released
	}
	if err != nil {
		t.Fatal(err)
	}
	return ptr.Deref(l.Spec.HolderIdentity, "")
}

// TestLockNestsAndOutlivesItsContext: a second hold of the same process does
// not wait for the first (it would wait for ever); the lease goes with the
// last release, not with the context the wait was bounded by.
func TestLockNestsAndOutlivesItsContext(t *testing.T) {
	cs := fake.NewClientset()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	first, err := Lock(ctx, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Lock(ctx, cs, nil)
	if err != nil {
		t.Fatalf("a nested hold: %v", err)
	}
	if h := holder(t, cs); !strings.HasPrefix(h, "go test itest.test (pid ") {
		t.Fatalf("holder %q does not name the test binary", h)
	}
	cancel()
	time.Sleep(100 * time.Millisecond) // what a release on ctx end would take
	if holder(t, cs) == "" {
		t.Fatal("the lock went with the context that bounded the wait")
	}
	if err := first(); err != nil {
		t.Fatal(err)
	}
	if holder(t, cs) == "" {
		t.Fatal("the lock went with the first of two holds")
	}
	if err := second(); err != nil {
		t.Fatal(err)
	}
	if h := holder(t, cs); h != "" {
		t.Fatalf("holder %q after the last release", h)
	}
}
