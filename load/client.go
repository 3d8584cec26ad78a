package load

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// attempt is one try of a request on one connection, as httptrace saw it:
// Go's transport may try a request twice (a GET that failed on a reused
// connection before its first response byte, or any request when nothing
// was written) and says nothing about it; every try is recorded here.
type attempt struct {
	reused bool // the connection was reused
	wrote  bool // the whole request was written
}

// attempts records every try of every request of one target, by vegeta's
// sequence number (vegeta has no per-request hook, but it sets X-Vegeta-Seq
// on every request).
type attempts struct{ m sync.Map } // seq -> *[]attempt

func (a *attempts) trace(seq string) *httptrace.ClientTrace {
	var mu sync.Mutex
	var tries []attempt
	a.m.Store(seq, func() []attempt { mu.Lock(); defer mu.Unlock(); return append([]attempt(nil), tries...) })
	return &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) {
			mu.Lock()
			tries = append(tries, attempt{reused: i.Reused})
			mu.Unlock()
		},
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			mu.Lock()
			if n := len(tries); n > 0 && i.Err == nil {
				tries[n-1].wrote = true
			}
			mu.Unlock()
		},
	}
}

// take returns and forgets the tries of a request.
func (a *attempts) take(seq string) []attempt {
	v, ok := a.m.LoadAndDelete(seq)
	if !ok {
		return nil
	}
	return v.(func() []attempt)()
}

// tracer is the RoundTripper vegeta uses: it attaches the attempt trace
// to each request and sends it through the target's transport.
type tracer struct {
	base  http.RoundTripper
	tries *attempts
}

func (c tracer) RoundTrip(req *http.Request) (*http.Response, error) {
	trace := c.tries.trace(req.Header.Get("X-Vegeta-Seq"))
	return c.base.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
}

// newTransport is one HTTP/1.1 transport: no proxy, the plan's timeouts,
// keep-alive or a new connection for every request.
func newTransport(p Plan, keepAlive bool) *http.Transport {
	dialer := &net.Dialer{Timeout: p.Timeout, KeepAlive: 30 * time.Second}
	if !keepAlive {
		dialer.KeepAlive = -1
	}
	return &http.Transport{
		Proxy:               nil, // traffic goes only where the target says
		DialContext:         dialer.DialContext,
		DisableKeepAlives:   !keepAlive,
		MaxIdleConnsPerHost: 10000,
		MaxConnsPerHost:     p.MaxConnections,
		IdleConnTimeout:     90 * time.Second,
	}
}

// pool is a keep-alive client of several connections, as real clients keep
// (browsers, service meshes, ingress controllers' upstream pools): requests
// go round-robin over members, each a transport holding its own idle
// connection, so the pool's connections stay open across a disruption and
// each was spread by kube-proxy to a pod when it was dialled.
//
// With a lifetime, each member closes its idle connections every lifetime
// (just before a request, which then dials a new one): the pool moves on,
// as clients with a connection time-to-live do. A connection busy at that
// moment goes at the next time.
type pool struct {
	podHeader string
	members   []*http.Transport
	next      atomic.Uint64
	mu        sync.Mutex
	pods      []string // the pod each member's connection answered from last
	lifetime  time.Duration
	renewed   []atomic.Int64 // unix nanos each member last closed its connections (its first request, at first)
}

func newPool(p Plan, size int) *pool {
	pl := &pool{podHeader: p.PodHeader, pods: make([]string, size), lifetime: p.ConnLifetime, renewed: make([]atomic.Int64, size)}
	for range size {
		t := newTransport(p, true)
		// one idle connection per member: a member asked while busy dials a
		// second, and keeping it would leave the pool with connections used
		// only in bursts, idle through a pod's whole drain (never told
		// Connection: close) and closed under a request by its shutdown — a
		// hidden retry seen in the gate. The client closes the surplus as it
		// goes idle, with no race.
		t.MaxIdleConnsPerHost = 1
		pl.members = append(pl.members, t)
	}
	return pl
}

func (pl *pool) RoundTrip(req *http.Request) (*http.Response, error) {
	i := int(pl.next.Add(1)-1) % len(pl.members)
	if pl.lifetime > 0 {
		now := time.Now().UnixNano()
		switch r := pl.renewed[i].Load(); {
		case r == 0:
			pl.renewed[i].CompareAndSwap(0, now)
		case now-r >= int64(pl.lifetime) && pl.renewed[i].CompareAndSwap(r, now):
			// idle: no request is on them; this one dials anew
			pl.members[i].CloseIdleConnections()
		}
	}
	resp, err := pl.members[i].RoundTrip(req)
	if err == nil {
		if pod := resp.Header.Get(pl.podHeader); pod != "" {
			pl.mu.Lock()
			pl.pods[i] = pod
			pl.mu.Unlock()
		}
	}
	return resp, err
}

// spread re-dials pool members until their connections reach every pod of
// want, or ctx ends: kube-proxy picks a pod when a connection is made, so a
// member whose pod another member also holds is asked to close its idle
// connection and dial again. It returns the pods still not held.
func (pl *pool) spread(ctx context.Context, want []string) []string {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		pl.mu.Lock()
		held := map[string][]int{}
		for i, p := range pl.pods {
			if p != "" {
				held[p] = append(held[p], i)
			}
		}
		var missing []string
		for _, w := range want {
			if len(held[w]) == 0 {
				missing = append(missing, w)
			}
		}
		// a member to re-dial: one holding a pod another member holds too,
		// or holding a pod that is not wanted (gone)
		redial := -1
		for p, ms := range held {
			if !contains(want, p) || len(ms) > 1 {
				redial = ms[len(ms)-1]
				break
			}
		}
		if redial >= 0 && len(missing) > 0 {
			pl.pods[redial] = ""
		}
		pl.mu.Unlock()
		if len(missing) == 0 {
			return nil
		}
		if redial >= 0 {
			pl.members[redial].CloseIdleConnections()
		}
		select {
		case <-ctx.Done():
			sort.Strings(missing)
			return missing
		case <-t.C:
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// clientFor is the client of one target, and its pool when it keeps
// connections alive in one.
func clientFor(p Plan, t Target, tries *attempts) (*http.Client, *pool) {
	var base http.RoundTripper
	var pl *pool
	switch {
	case t.KeepAlive || p.KeepAlive:
		pl = newPool(p, max(t.Pool, 1))
		base = pl
	default:
		base = newTransport(p, false)
	}
	return &http.Client{Transport: tracer{base: base, tries: tries}, Timeout: p.Timeout}, pl
}

// Spread makes the keep-alive pool of a path hold a connection to every pod
// of want (see pool.spread) and returns the pods it could not reach before
// ctx ended. A path without a pool has nothing to spread.
func (l *Load) Spread(ctx context.Context, path string, want []string) ([]string, error) {
	l.mu.Lock()
	pl, ok := l.pools[path]
	l.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("load: path %q keeps no connections alive", path)
	}
	return pl.spread(ctx, want), nil
}

// retryClass is the class of a request Go's transport tried more than once.
func retryClass(tries []attempt) (string, bool) {
	if len(tries) < 2 {
		return "", false
	}
	first := tries[0]
	switch {
	case first.wrote:
		return "written", true
	default:
		return "unwritten", true
	}
}

// connKind is "new" or "reused" for the first try ("" if none got a connection).
func connKind(tries []attempt) string {
	if len(tries) == 0 {
		return ""
	}
	if tries[0].reused {
		return "reused"
	}
	return "new"
}
