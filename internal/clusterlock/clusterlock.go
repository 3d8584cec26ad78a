// Package clusterlock keeps two zerodrop processes off one cluster at once.
// They would corrupt each other's verdicts: they share the node ports, the
// nodes a drain cordons and the machine's few cores. The lock is a
// coordination.k8s.io/v1 Lease in the cluster itself, so it is seen by every
// process that talks to the cluster (a file lock would miss a second state
// directory or a second checkout), and it needs no cleanup when a holder
// crashes: a lease its holder stops renewing expires on its own.
//
// One job: acquire, renew, release. A hand-written Lease with optimistic
// concurrency (every write carries the resourceVersion it read) rather than
// client-go's leaderelection: that package runs a callback for as long as a
// process leads and re-campaigns when it loses, while zerodrop wants a
// bounded wait, a refusal that names the holder, and a release func.
package clusterlock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/kubernetes"
	coordinationclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/utils/ptr"
)

// Where the lease lives by default: kube-system exists on every cluster
// before zerodrop creates anything, so the lock can be taken first.
const (
	DefaultNamespace = "kube-system"
	DefaultName      = "zerodrop-run"
)

// DefaultWait is how long zerodrop's entry points wait for a cluster in use
// by default: long enough for a short run to end, short enough that a
// forgotten one is noticed.
const DefaultWait = 15 * time.Minute

// Identity names a process in the lease, for the person who finds the
// cluster in use: which command, where, and since when it runs.
type Identity struct {
	Command string // what runs, e.g. "zerodrop run (outcomes in out/20260101-120000)"
	Host    string
	PID     int
	Started time.Time
}

func (id Identity) String() string {
	return fmt.Sprintf("%s (pid %d on %s, started %s)", id.Command, id.PID, id.Host, id.Started.UTC().Format(time.RFC3339))
}

// Options say which lease, who takes it and how long to wait for it.
type Options struct {
	Namespace string // default DefaultNamespace
	Name      string // default DefaultName
	// Identity is written into the lease as its holder; it must be unique to
	// the process (Identity.String is).
	Identity string
	// Wait bounds how long Acquire waits while another process holds the
	// lease; 0 refuses at once.
	Wait time.Duration
	// Duration is how long the lease outlives its last renewal: a crashed
	// holder's lease is free after it (default 30s; whole seconds).
	Duration time.Duration
	// Renew is how often the holder renews (default Duration/6).
	Renew time.Duration
	// Poll is how often a waiter looks again (default 2s).
	Poll time.Duration
	Log  *slog.Logger
}

func (o Options) defaults() Options {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.Duration <= 0 {
		o.Duration = 30 * time.Second
	}
	// the lease stores whole seconds: round up, never shorten a hold
	o.Duration = ((o.Duration + time.Second - 1) / time.Second) * time.Second
	if o.Renew <= 0 {
		o.Renew = o.Duration / 6
	}
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

func (o Options) lease() string { return o.Namespace + "/" + o.Name }

// HeldError is Acquire's error when another process holds the lease.
type HeldError struct {
	Lease   string // namespace/name
	Holder  string
	Since   time.Time // when the holder acquired it
	Renewed time.Time // its last renewal
	Waited  time.Duration
}

func (e *HeldError) Error() string {
	s := "clusterlock: the cluster is in use: " + e.detail()
	if e.Waited > 0 {
		s += fmt.Sprintf("; still held after waiting %s", e.Waited)
	}
	return s
}

func (e *HeldError) detail() string {
	return fmt.Sprintf("lease %s is held by %s since %s (renewed %s ago)",
		e.Lease, e.Holder, e.Since.Local().Format("15:04:05"), time.Since(e.Renewed).Round(time.Second))
}

// ErrLost is the release func's error when the lock was lost while held (not
// renewed within its duration, or taken by another process): the cluster was
// not this process's alone for the whole hold.
var ErrLost = errors.New("clusterlock: lost the cluster lock")

// Acquire takes the lease, waiting up to o.Wait while another process holds
// it (saying through the logger who holds it and since when), and renews it
// until the release func is called or ctx ends; either releases it. ctx
// bounds the wait and the hold alike, so it must live as long as the hold
// is needed. The release func waits for the release and returns ErrLost
// (wrapped) when the lease was lost while held.
func Acquire(ctx context.Context, client kubernetes.Interface, o Options) (release func() error, err error) {
	o = o.defaults()
	if o.Identity == "" {
		return nil, errors.New("clusterlock: no identity: name the process that takes the lock")
	}
	leases := client.CoordinationV1().Leases(o.Namespace)
	begin := time.Now()
	var told string
	var toldAt time.Time
	for {
		l, held, err := take(ctx, leases, o)
		if err != nil && o.Wait > 0 && transient(err) && time.Since(begin)+o.Poll < o.Wait {
			// an API server that restarts answers "forbidden" until its
			// authorizer has loaded, then serves again: a waiter waits on
			o.Log.Info("cluster lock: the API server failed, trying again", "lease", o.lease(), "err", err)
			t := time.NewTimer(o.Poll)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("clusterlock: stopped waiting for %s after %w", o.lease(), err)
			case <-t.C:
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		if held == nil {
			o.Log.Info("cluster lock acquired", "lease", o.lease(), "holder", o.Identity)
			return hold(ctx, leases, o, l), nil
		}
		waited := time.Since(begin)
		if o.Wait == 0 {
			return nil, held
		}
		if waited >= o.Wait {
			held.Waited = o.Wait
			return nil, held
		}
		// say who is waited for when it changes, and again every minute so a
		// long wait does not look like a hang
		if held.Holder != told || time.Since(toldAt) >= time.Minute {
			o.Log.Info("cluster in use: waiting for its lock", "lease", held.Lease, "holder", held.Holder,
				"since", held.Since.Local().Format("15:04:05"), "waited", waited.Round(time.Second), "wait", o.Wait)
			told, toldAt = held.Holder, time.Now()
		}
		t := time.NewTimer(min(o.Poll, o.Wait-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("clusterlock: stopped waiting for %s, held by %s: %w", held.Lease, held.Holder, ctx.Err())
		case <-t.C:
		}
	}
}

// transient says whether an API error may pass while the API server
// restarts or is overloaded: timeouts, throttling, 5xx, refused
// connections, and the forbidden/unauthorized it answers before its
// authorizer and authenticators have loaded.
func transient(err error) bool {
	return apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsServerTimeout(err) ||
		apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) || apierrors.IsServiceUnavailable(err) ||
		apierrors.IsInternalError(err) || utilnet.IsConnectionRefused(err) || utilnet.IsConnectionReset(err)
}

// AcquireUntilRelease is Acquire for a hold that must outlive ctx: ctx
// bounds only the wait (a Ctrl-C stops it at once), and the hold ends with
// the release func alone. An interrupted run keeps the cluster while it
// cleans up (deletes its namespace, uncordons its node), and a test's hold
// outlives the context of the test or Ginkgo node that took it.
func AcquireUntilRelease(ctx context.Context, client kubernetes.Interface, o Options) (func() error, error) {
	hold, end := context.WithCancel(context.WithoutCancel(ctx))
	unwatch := context.AfterFunc(ctx, end)
	release, err := Acquire(hold, client, o)
	if !unwatch() && err == nil {
		// ctx ended as the lease was taken: give it back, as after a wait cut short
		if err = release(); err == nil {
			err = fmt.Errorf("clusterlock: stopped waiting for %s: %w", o.defaults().lease(), ctx.Err())
		}
	}
	if err != nil {
		end()
		return nil, err
	}
	return func() error { defer end(); return release() }, nil
}

// take makes one attempt: it creates the lease, or takes it over when it is
// free or expired. Every write carries the resourceVersion read, so of two
// processes racing for it one write wins and the other conflicts, reads
// again and finds it held.
func take(ctx context.Context, leases coordinationclient.LeaseInterface, o Options) (*coordinationv1.Lease, *HeldError, error) {
	for range 5 {
		now := time.Now()
		cur, err := leases.Get(ctx, o.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace}}
			claim(l, o, now)
			created, err := leases.Create(ctx, l, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("clusterlock: create lease %s: %w", o.lease(), err)
			}
			return created, nil, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("clusterlock: read lease %s: %w", o.lease(), err)
		}
		holder := ptr.Deref(cur.Spec.HolderIdentity, "")
		if holder != "" {
			if !expired(cur, o, now) {
				return nil, heldError(cur, o), nil
			}
			o.Log.Info("taking over an expired cluster lock", "lease", o.lease(), "holder", holder, "renewed", timeOf(cur.Spec.RenewTime).Local().Format("15:04:05"))
		}
		next := cur.DeepCopy()
		claim(next, o, now)
		next.Spec.LeaseTransitions = ptr.To(ptr.Deref(cur.Spec.LeaseTransitions, 0) + 1)
		updated, err := leases.Update(ctx, next, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("clusterlock: take lease %s: %w", o.lease(), err)
		}
		return updated, nil, nil
	}
	return nil, nil, fmt.Errorf("clusterlock: lease %s changed under every attempt to take it", o.lease())
}

// claim writes o's identity into l as a fresh hold.
func claim(l *coordinationv1.Lease, o Options, now time.Time) {
	l.Spec.HolderIdentity = ptr.To(o.Identity)
	l.Spec.LeaseDurationSeconds = ptr.To(int32(o.Duration / time.Second))
	l.Spec.AcquireTime = ptr.To(metav1.NewMicroTime(now))
	l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(now))
}

// expired compares the last renewal with this process's clock. That is sound
// here: zerodrop's API server listens on 127.0.0.1, so every holder runs on
// this machine and reads the same clock.
func expired(l *coordinationv1.Lease, o Options, now time.Time) bool {
	if l.Spec.RenewTime == nil {
		return true
	}
	d := o.Duration
	if l.Spec.LeaseDurationSeconds != nil {
		d = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	return now.After(l.Spec.RenewTime.Add(d))
}

func heldError(l *coordinationv1.Lease, o Options) *HeldError {
	return &HeldError{Lease: o.lease(), Holder: ptr.Deref(l.Spec.HolderIdentity, ""), Since: timeOf(l.Spec.AcquireTime), Renewed: timeOf(l.Spec.RenewTime)}
}

func timeOf(t *metav1.MicroTime) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

// holder renews a lease it took until stopped, then releases it.
type holder struct {
	leases  coordinationclient.LeaseInterface
	o       Options
	lease   *coordinationv1.Lease // the last version written by this process
	renewed time.Time
	lost    error
	done    chan struct{}
}

func hold(ctx context.Context, leases coordinationclient.LeaseInterface, o Options, l *coordinationv1.Lease) func() error {
	ctx, stop := context.WithCancel(ctx)
	h := &holder{leases: leases, o: o, lease: l, renewed: time.Now(), done: make(chan struct{})}
	go h.run(ctx)
	var once sync.Once
	return func() error {
		once.Do(func() { stop(); <-h.done })
		return h.lost
	}
}

func (h *holder) run(ctx context.Context) {
	defer close(h.done)
	// a release after ctx ended still needs a context of its own
	defer h.release()
	t := time.NewTicker(h.o.Renew)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// a hung call must not hide that the lease runs out
		rctx, cancel := context.WithTimeout(ctx, h.o.Duration/3)
		err := h.renew(rctx)
		cancel()
		if err == nil || ctx.Err() != nil {
			continue
		}
		if errors.Is(err, ErrLost) {
			h.lost = err
			h.o.Log.Error("lost the cluster lock: another process may use the cluster", "lease", h.o.lease(), "err", err)
			return
		}
		if since := time.Since(h.renewed); since > h.o.Duration {
			h.lost = fmt.Errorf("%w: %s not renewed for %s: %w", ErrLost, h.o.lease(), since.Round(time.Second), err)
			h.o.Log.Error("lost the cluster lock: another process may use the cluster", "lease", h.o.lease(), "err", h.lost)
			return
		}
		h.o.Log.Warn("cluster lock not renewed; retrying", "lease", h.o.lease(), "err", err)
	}
}

// renew moves the renewal time forward. A conflict means someone wrote the
// lease since: still this process's (a label, an annotation), it renews over
// what it read; another holder's, the lock is lost. Its errors other than
// ErrLost carry no component prefix: they are logged under one, or wrapped
// in ErrLost.
func (h *holder) renew(ctx context.Context) error {
	for range 2 {
		next := h.lease.DeepCopy()
		next.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
		updated, err := h.leases.Update(ctx, next, metav1.UpdateOptions{})
		if err == nil {
			h.lease, h.renewed = updated, time.Now()
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			return fmt.Errorf("renew %s: %w", h.o.lease(), err)
		}
		if err := h.reread(ctx); err != nil {
			return err
		}
	}
	return fmt.Errorf("renew %s: it keeps changing", h.o.lease())
}

// reread takes the lease's current version as this process's own, or says
// the lock is lost when another holder has it.
func (h *holder) reread(ctx context.Context) error {
	cur, err := h.leases.Get(ctx, h.o.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: lease %s was deleted", ErrLost, h.o.lease())
	}
	if err != nil {
		return fmt.Errorf("read lease %s: %w", h.o.lease(), err)
	}
	if ptr.Deref(cur.Spec.HolderIdentity, "") != h.o.Identity {
		return fmt.Errorf("%w: %s", ErrLost, heldError(cur, h.o).detail())
	}
	h.lease = cur
	return nil
}

// release deletes the lease, so a waiter gets the lock at its next look
// rather than after it expires, and nothing of zerodrop's stays in
// kube-system (on a user's cluster too). It deletes only the version it
// holds (a precondition on its resourceVersion): a lease another process
// took since is left alone.
func (h *holder) release() {
	if h.lost != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := errors.New("it keeps changing")
	for range 2 {
		rv := h.lease.ResourceVersion
		err = h.leases.Delete(ctx, h.o.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{ResourceVersion: &rv}})
		if err == nil {
			h.o.Log.Info("cluster lock released", "lease", h.o.lease())
			return
		}
		if !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			break
		}
		// written since (still this process's: renew over it) or gone (lost)
		if err = h.reread(ctx); err != nil {
			break
		}
	}
	if errors.Is(err, ErrLost) {
		h.lost = err
		h.o.Log.Error("lost the cluster lock: another process may use the cluster", "lease", h.o.lease(), "err", err)
		return
	}
	h.o.Log.Warn("cluster lock not released; it expires on its own", "lease", h.o.lease(), "after", h.o.Duration, "err", err)
}
