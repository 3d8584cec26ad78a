package clusterlock

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
)

var leasesGVR = coordinationv1.SchemeGroupVersion.WithResource("leases")

// apiServer is a fake clientset whose leases keep the API server's optimistic
// concurrency, which client-go's object tracker does not: every write gets a
// new resourceVersion, an update that carries a stale one conflicts, and one
// that carries none is refused.
type apiServer struct {
	*fake.Clientset
	mu      sync.Mutex
	version int
	// beforeUpdate runs inside an update, before it is applied: a racing
	// writer (it must write through the tracker, not the clientset).
	beforeUpdate func()
}

func newAPIServer(objs ...runtime.Object) *apiServer {
	s := &apiServer{Clientset: fake.NewClientset(objs...)}
	tracker := s.Tracker()
	s.PrependReactor("create", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		l := a.(k8stesting.CreateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		l.ResourceVersion = s.next()
		if err := tracker.Create(leasesGVR, l, l.Namespace); err != nil {
			return true, nil, err
		}
		return true, l, nil
	})
	s.PrependReactor("update", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if f := s.beforeUpdate; f != nil {
			s.beforeUpdate = nil
			f()
		}
		l := a.(k8stesting.UpdateAction).GetObject().(*coordinationv1.Lease).DeepCopy()
		cur, err := tracker.Get(leasesGVR, l.Namespace, l.Name)
		if err != nil {
			return true, nil, err
		}
		// leases allow no unconditional update (AllowUnconditionalUpdate is false)
		if l.ResourceVersion == "" {
			return true, nil, apierrors.NewInvalid(coordinationv1.SchemeGroupVersion.WithKind("Lease").GroupKind(), l.Name,
				field.ErrorList{field.Invalid(field.NewPath("metadata", "resourceVersion"), "", "must be specified for an update")})
		}
		if l.ResourceVersion != cur.(*coordinationv1.Lease).ResourceVersion {
			return true, nil, apierrors.NewConflict(leasesGVR.GroupResource(), l.Name, errors.New("the object has been modified"))
		}
		l.ResourceVersion = s.next()
		if err := tracker.Update(leasesGVR, l, l.Namespace); err != nil {
			return true, nil, err
		}
		return true, l, nil
	})
	s.PrependReactor("delete", "leases", func(a k8stesting.Action) (bool, runtime.Object, error) {
		d := a.(k8stesting.DeleteAction)
		cur, err := tracker.Get(leasesGVR, d.GetNamespace(), d.GetName())
		if err != nil {
			return true, nil, err
		}
		// the precondition the API server checks before it deletes
		if p := d.GetDeleteOptions().Preconditions; p != nil && p.ResourceVersion != nil && *p.ResourceVersion != cur.(*coordinationv1.Lease).ResourceVersion {
			return true, nil, apierrors.NewConflict(leasesGVR.GroupResource(), d.GetName(), errors.New("Precondition failed: ResourceVersion in precondition does not match"))
		}
		return true, nil, tracker.Delete(leasesGVR, d.GetNamespace(), d.GetName())
	})
	return s
}

func (s *apiServer) next() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.version++
	return strconv.Itoa(s.version)
}

// write replaces the lease as another process would, through the tracker.
func (s *apiServer) write(t *testing.T, l *coordinationv1.Lease) {
	t.Helper()
	l = l.DeepCopy()
	l.ResourceVersion = s.next()
	if err := s.Tracker().Update(leasesGVR, l, l.Namespace); err != nil {
		t.Fatal(err)
	}
}

func (s *apiServer) lease(t *testing.T) *coordinationv1.Lease {
	t.Helper()
	l, err := s.CoordinationV1().Leases(DefaultNamespace).Get(context.Background(), DefaultName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// holder is the lease's holder; "" when it is free or absent (released).
func (s *apiServer) holder(t *testing.T) string {
	t.Helper()
	l, err := s.CoordinationV1().Leases(DefaultNamespace).Get(context.Background(), DefaultName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return ptr.Deref(l.Spec.HolderIdentity, "")
}

// TestReleaseLeavesNoLease: a release deletes the lease (nothing of
// zerodrop's stays in kube-system), even after this process's own lease
// was written by someone else in between (a label: the version changed);
// it never deletes a lease another process holds.
func TestReleaseLeavesNoLease(t *testing.T) {
	s := newAPIServer()
	release := mustAcquire(t, s, fast("process A"))
	l := s.lease(t)
	l.Labels = map[string]string{"team": "platform"}
	s.write(t, l)
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CoordinationV1().Leases(DefaultNamespace).Get(context.Background(), DefaultName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the lease after release: %v, want it deleted", err)
	}
	// and the next process creates it afresh
	mustAcquire(t, s, fast("process B"))
}

// heldLease is a lease of holder's, renewed at renewed, of duration d.
func heldLease(holder string, renewed time.Time, d time.Duration) *coordinationv1.Lease {
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: DefaultName, Namespace: DefaultNamespace, ResourceVersion: "1000"},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(holder), LeaseDurationSeconds: ptr.To(int32(d / time.Second)),
			AcquireTime: ptr.To(metav1.NewMicroTime(renewed.Add(-time.Hour))), RenewTime: ptr.To(metav1.NewMicroTime(renewed))},
	}
}

// fast are options that make a test take moments, not minutes.
func fast(id string) Options {
	return Options{Identity: id, Duration: time.Second, Renew: 50 * time.Millisecond, Poll: 20 * time.Millisecond}
}

func mustAcquire(t *testing.T, s *apiServer, o Options) func() error {
	t.Helper()
	release, err := Acquire(context.Background(), s, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = release() })
	return release
}

func TestASecondAcquirerWaitsAndGetsItAfterRelease(t *testing.T) {
	s := newAPIServer()
	// a long lease: B can get it only by A's release, never by its expiry
	a := fast("process A")
	a.Duration = 30 * time.Second
	releaseA := mustAcquire(t, s, a)
	if got := s.holder(t); got != "process A" {
		t.Fatalf("holder %q, want process A", got)
	}
	var logs syncBuffer
	o := fast("process B")
	o.Wait, o.Log = 10*time.Second, slog.New(slog.NewTextHandler(&logs, nil))
	type result struct {
		release func() error
		err     error
		at      time.Time
	}
	got := make(chan result, 1)
	go func() {
		r, err := Acquire(context.Background(), s, o)
		got <- result{r, err, time.Now()}
	}()
	// B says who holds the lock and since when, and keeps waiting
	deadline := time.Now().Add(10 * time.Second)
	for l := logs.String(); !strings.Contains(l, "cluster in use: waiting for its lock"); l = logs.String() {
		if time.Now().After(deadline) {
			t.Fatalf("the waiter logged no wait:\n%s", l)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if l := logs.String(); !strings.Contains(l, `holder="process A"`) || !strings.Contains(l, "since=") {
		t.Fatalf("the waiter does not say who holds the lock and since when:\n%s", l)
	}
	select {
	case r := <-got:
		t.Fatalf("B acquired while A held the lock (err %v)", r.err)
	case <-time.After(200 * time.Millisecond): // several of B's looks
	}
	released := time.Now()
	if err := releaseA(); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.release()
	if s.holder(t) != "process B" {
		t.Fatalf("holder %q after A released, want process B", s.holder(t))
	}
	// released, not expired: B gets it at its next look, long before the lease would expire
	if d := r.at.Sub(released); d > 10*time.Second {
		t.Fatalf("B got the lock %s after A released it: it waited for expiry, not for the release", d)
	}
}

func TestRefusalNamesTheHolder(t *testing.T) {
	s := newAPIServer(heldLease("zerodrop run (pid 42 on laptop)", time.Now(), 30*time.Second))
	_, err := Acquire(context.Background(), s, fast("process B"))
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("err %v, want a HeldError", err)
	}
	if !strings.Contains(err.Error(), "held by zerodrop run (pid 42 on laptop) since") || held.Holder != "zerodrop run (pid 42 on laptop)" || held.Since.IsZero() {
		t.Fatalf("refusal does not name the holder and since when: %v", err)
	}
	if s.holder(t) != "zerodrop run (pid 42 on laptop)" {
		t.Fatalf("a refused acquirer changed the lease: holder %q", s.holder(t))
	}
}

func TestABoundedWaitEndsWithTheHolder(t *testing.T) {
	s := newAPIServer(heldLease("process A", time.Now(), 30*time.Second))
	o := fast("process B")
	o.Wait = 200 * time.Millisecond
	begin := time.Now()
	_, err := Acquire(context.Background(), s, o)
	var held *HeldError
	if !errors.As(err, &held) || held.Waited != o.Wait || !strings.Contains(err.Error(), "still held after waiting 200ms") {
		t.Fatalf("err %v, want a HeldError after waiting 200ms", err)
	}
	if d := time.Since(begin); d < o.Wait || d > 10*time.Second {
		t.Fatalf("waited %s, want about %s", d, o.Wait)
	}
}

func TestAnExpiredLeaseIsTakenOver(t *testing.T) {
	s := newAPIServer(heldLease("crashed process", time.Now().Add(-time.Minute), 30*time.Second))
	mustAcquire(t, s, fast("process B"))
	l := s.lease(t)
	if ptr.Deref(l.Spec.HolderIdentity, "") != "process B" || ptr.Deref(l.Spec.LeaseTransitions, 0) != 1 {
		t.Fatalf("holder %q transitions %d, want process B and 1", ptr.Deref(l.Spec.HolderIdentity, ""), ptr.Deref(l.Spec.LeaseTransitions, 0))
	}
	if time.Since(l.Spec.AcquireTime.Time) > 5*time.Second {
		t.Fatalf("acquire time %s is the crashed holder's", l.Spec.AcquireTime)
	}
}

func TestRenewalKeepsTheLock(t *testing.T) {
	s := newAPIServer()
	a := fast("process A")
	a.Duration = 3 * time.Second // renewed every 50 ms
	mustAcquire(t, s, a)
	acquired := s.lease(t).Spec.AcquireTime.Time
	// held past its duration: only renewals keep it
	deadline := time.Now().Add(20 * time.Second)
	for l := s.lease(t); !l.Spec.RenewTime.After(acquired.Add(a.Duration + time.Second)); l = s.lease(t) {
		if time.Now().After(deadline) {
			t.Fatalf("renew time %s did not move past the lease's duration (acquired %s)", l.Spec.RenewTime, acquired)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := Acquire(context.Background(), s, fast("process B")); err == nil {
		t.Fatal("B took a lock A keeps renewing")
	}
	if s.holder(t) != "process A" {
		t.Fatalf("holder %q, want process A", s.holder(t))
	}
}

func TestContextEndReleases(t *testing.T) {
	s := newAPIServer()
	ctx, cancel := context.WithCancel(context.Background())
	release, err := Acquire(ctx, s, fast("process A"))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for s.holder(t) != "" {
		if time.Now().After(deadline) {
			t.Fatalf("holder %q after ctx ended, want none", s.holder(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	// free, not expired: the next process gets it at once
	mustAcquire(t, s, fast("process B"))
}

// TestARacingUpdateLeavesOneHolder: A reads a free lease, B takes it before
// A writes; A's write carries the version it read, conflicts, and A finds B
// holding it.
func TestARacingUpdateLeavesOneHolder(t *testing.T) {
	free := heldLease("", time.Time{}, 30*time.Second)
	free.Spec.HolderIdentity, free.Spec.RenewTime = nil, nil
	s := newAPIServer(free)
	s.beforeUpdate = func() { s.write(t, heldLease("process B", time.Now(), 30*time.Second)) }
	_, err := Acquire(context.Background(), s, fast("process A"))
	var held *HeldError
	if !errors.As(err, &held) || held.Holder != "process B" {
		t.Fatalf("A: err %v, want held by process B", err)
	}
	if s.holder(t) != "process B" {
		t.Fatalf("holder %q, want process B", s.holder(t))
	}
}

// TestManyRacersOneWinner: acquirers that all read the lease before any of
// them writes (none there: they race to create it; a free one: they race to
// update it) leave exactly one holder, the one the lease names.
func TestManyRacersOneWinner(t *testing.T) {
	free := heldLease("", time.Time{}, 30*time.Second)
	free.Spec.HolderIdentity, free.Spec.RenewTime = nil, nil
	for name, objs := range map[string][]runtime.Object{"create": nil, "update": {free}} {
		t.Run(name, func(t *testing.T) {
			const racers = 8
			s := newAPIServer(objs...)
			client := racing{Interface: s, b: newBarrier(racers)}
			var wg sync.WaitGroup
			var mu sync.Mutex
			var winners []string
			var releases []func() error
			for i := range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					o := fast("racer " + strconv.Itoa(i))
					o.Duration = 30 * time.Second // no winner's lease expires during the race
					if release, err := Acquire(context.Background(), client, o); err == nil {
						mu.Lock()
						winners, releases = append(winners, o.Identity), append(releases, release)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if len(winners) != 1 || s.holder(t) != winners[0] {
				t.Fatalf("winners %v, lease holder %q: want exactly one, the holder", winners, s.holder(t))
			}
			for _, release := range releases {
				if err := release(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// racing holds the first n reads of the lease until all n have read it, so
// that n acquirers decide on the same version before any of them writes.
type racing struct {
	kubernetes.Interface
	b *barrier
}

func (c racing) CoordinationV1() coordinationclient.CoordinationV1Interface {
	return racingCoordination{c.Interface.CoordinationV1(), c.b}
}

type racingCoordination struct {
	coordinationclient.CoordinationV1Interface
	b *barrier
}

func (c racingCoordination) Leases(ns string) coordinationclient.LeaseInterface {
	return racingLeases{c.CoordinationV1Interface.Leases(ns), c.b}
}

type racingLeases struct {
	coordinationclient.LeaseInterface
	b *barrier
}

func (l racingLeases) Get(ctx context.Context, name string, o metav1.GetOptions) (*coordinationv1.Lease, error) {
	lease, err := l.LeaseInterface.Get(ctx, name, o)
	l.b.wait()
	return lease, err
}

// barrier lets its first n arrivals on together; later ones pass.
type barrier struct {
	mu      sync.Mutex
	arrived int
	n       int
	all     chan struct{}
}

func newBarrier(n int) *barrier { return &barrier{n: n, all: make(chan struct{})} }

func (b *barrier) wait() {
	b.mu.Lock()
	if b.arrived < b.n {
		b.arrived++
		if b.arrived == b.n {
			close(b.all)
		}
	}
	b.mu.Unlock()
	<-b.all
}

func TestATakenLockIsReportedLost(t *testing.T) {
	s := newAPIServer()
	release := mustAcquire(t, s, fast("process A"))
	s.write(t, heldLease("process B", time.Now(), 30*time.Second))
	time.Sleep(200 * time.Millisecond) // a few renewals
	err := release()
	if !errors.Is(err, ErrLost) || !strings.Contains(err.Error(), "process B") {
		t.Fatalf("release: %v, want ErrLost naming process B", err)
	}
	if s.holder(t) != "process B" {
		t.Fatalf("A's release touched B's lease: holder %q", s.holder(t))
	}
}

func TestIdentityNamesTheProcess(t *testing.T) {
	id := Identity{Command: "zerodrop run", Host: "laptop", PID: 42, Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}.String()
	if id != "zerodrop run (pid 42 on laptop, started 2026-01-02T03:04:05Z)" {
		t.Fatalf("identity %q", id)
	}
	if _, err := Acquire(context.Background(), newAPIServer(), Options{}); err == nil {
		t.Fatal("acquired with no identity")
	}
}

// syncBuffer is a bytes.Buffer safe for a logger on another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestUntilReleaseTheWaitEndsWithCtxTheHoldDoesNot: a ctx that ends stops a
// wait at once (not after o.Wait), leaving the holder's lease alone; a ctx
// that ends after the lease was taken leaves it held until the release.
func TestUntilReleaseTheWaitEndsWithCtxTheHoldDoesNot(t *testing.T) {
	s := newAPIServer(heldLease("process A", time.Now(), 30*time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	o := fast("process B")
	o.Wait = time.Minute
	begin := time.Now()
	if _, err := AcquireUntilRelease(ctx, s, o); err == nil || !strings.Contains(err.Error(), "process A") {
		t.Fatalf("err %v, want the wait stopped, naming process A", err)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Fatalf("the wait went on %s after its ctx ended", d)
	}
	if s.holder(t) != "process A" {
		t.Fatalf("holder %q, want process A", s.holder(t))
	}

	s = newAPIServer()
	ctx, cancel = context.WithCancel(context.Background())
	release, err := AcquireUntilRelease(ctx, s, fast("process B"))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	time.Sleep(300 * time.Millisecond) // what a release on ctx end would take, and renewals
	if s.holder(t) != "process B" {
		t.Fatalf("holder %q after the wait's ctx ended, want process B still", s.holder(t))
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if h := s.holder(t); h != "" {
		t.Fatalf("holder %q after release", h)
	}
}

// TestAWaiterWaitsOutARestartingAPIServer: right after a restart the API
// server answers "forbidden" until its authorizer has loaded; a process
// that may wait keeps trying within its wait, one that may not (Wait 0)
// fails at once, naming the error.
func TestAWaiterWaitsOutARestartingAPIServer(t *testing.T) {
	s := newAPIServer()
	fails := 3
	s.PrependReactor("get", "leases", func(k8stesting.Action) (bool, runtime.Object, error) {
		if fails > 0 {
			fails--
			return true, nil, apierrors.NewForbidden(leasesGVR.GroupResource(), DefaultName, errors.New("RBAC: not loaded yet"))
		}
		return false, nil, nil
	})
	o := fast("process B")
	o.Wait = 5 * time.Second
	release := mustAcquire(t, s, o)
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if fails != 0 {
		t.Fatalf("%d forbidden answers left: the waiter did not ask again", fails)
	}

	fails = 1
	if _, err := Acquire(context.Background(), s, fast("process C")); err == nil || !apierrors.IsForbidden(errors.Unwrap(err)) {
		t.Fatalf("with no wait, a forbidden answer must fail at once: %v", err)
	}
}
