package app

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"

	"github.com/zerodrop/zerodrop/internal/clusterlock"
)

// TestAClusterInUseIsRefusedNamingTheHolderAndHowToWait: with --wait-lock 0
// a run refuses at once, says who holds the cluster, and how to wait.
func TestAClusterInUseIsRefusedNamingTheHolderAndHowToWait(t *testing.T) {
	now := metav1.NewMicroTime(time.Now())
	cs := fake.NewClientset(&coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: clusterlock.DefaultName, Namespace: clusterlock.DefaultNamespace},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("zerodrop matrix (pid 7 on laptop)"), LeaseDurationSeconds: ptr.To[int32](30),
			AcquireTime: &now, RenewTime: &now},
	})
	_, err := lockCluster(context.Background(), slog.New(slog.DiscardHandler), cs, execFlags{out: "out/x"}, "run")
	if err == nil {
		t.Fatal("a run took a cluster another process holds")
	}
	for _, want := range []string{"run: ", "held by zerodrop matrix (pid 7 on laptop) since", "--wait-lock " + clusterlock.DefaultWait.String()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q lacks %q", err, want)
		}
	}
}

// TestAFreeClusterIsLockedInTheRunsName: the lease names the command and
// where its outcomes go, and is deleted at the release.
func TestAFreeClusterIsLockedInTheRunsName(t *testing.T) {
	cs := fake.NewClientset()
	release, err := lockCluster(context.Background(), slog.New(slog.DiscardHandler), cs, execFlags{out: "out/x"}, "matrix")
	if err != nil {
		t.Fatal(err)
	}
	l, err := cs.CoordinationV1().Leases(clusterlock.DefaultNamespace).Get(context.Background(), clusterlock.DefaultName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := ptr.Deref(l.Spec.HolderIdentity, ""); !strings.HasPrefix(h, "zerodrop matrix (outcomes in out/x) (pid ") {
		t.Fatalf("holder %q does not name the run", h)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	// released is deleted: nothing of zerodrop's stays in kube-system
	if _, err := cs.CoordinationV1().Leases(clusterlock.DefaultNamespace).Get(context.Background(), clusterlock.DefaultName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the lease after release: %v, want it deleted", err)
	}
}
