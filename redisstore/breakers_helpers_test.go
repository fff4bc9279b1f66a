package redisstore_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/redisstore"
)

// upstream is an HTTP server that can be switched to fail (503), and
// counts its hits, with the times of the failed ones.
type upstream struct {
	*httptest.Server
	fail atomic.Bool
	hits atomic.Int64

	mu     sync.Mutex
	failed []time.Time
}

func newUpstream(t testing.TB) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits.Add(1)
		if u.fail.Load() {
			u.mu.Lock()
			u.failed = append(u.failed, time.Now())
			u.mu.Unlock()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(u.Close)
	return u
}

// failedSince returns the times of the failed hits at or after t0.
func (u *upstream) failedSince(t0 time.Time) []time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []time.Time
	for _, at := range u.failed {
		if !at.Before(t0) {
			out = append(out, at)
		}
	}
	return out
}

// change is one StateChange a replica's client reported.
type change struct {
	origin string
	ch     breaker.Change
	at     time.Time
}

// replica is one process of a fleet: its own go-redis client, Store,
// Breakers and httpclient.Client.
type replica struct {
	hc      *httpclient.Client
	br      *redisstore.Breakers
	rdb     *redis.Client
	changes chan change
	tr      transitions
	log     logBuffer
}

type fleetConfig struct {
	addr      string
	ns        string
	base      string
	threshold int
	recovery  time.Duration
	timeout   time.Duration // the Store's; default 50ms
	breakers  []redisstore.BreakerOption
	client    []httpclient.Option
}

// newReplica makes one replica; everything is closed when the test ends,
// the client first, then the Breakers, then the go-redis client.
func newReplica(t testing.TB, fc fleetConfig) *replica {
	t.Helper()
	r := &replica{changes: make(chan change, 1<<14)}
	r.rdb = client(t, fc.addr)
	timeout := fc.timeout
	if timeout == 0 {
		timeout = 50 * time.Millisecond
	}
	s := newStore(t, r.rdb, redisstore.WithNamespace(fc.ns), redisstore.WithTimeout(timeout), redisstore.WithLogger(r.log.logger()))
	br, err := s.Breakers(append([]redisstore.BreakerOption{redisstore.WithBreakerOnTransition(r.tr.hook)}, fc.breakers...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := br.Close(); err != nil {
			t.Error(err)
		}
	})
	r.br = br
	opts := []httpclient.Option{
		httpclient.WithCircuitBreaker(fc.threshold, fc.recovery),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}),
		httpclient.WithSharedBreakers(br),
		httpclient.WithHooks(httpclient.Hooks{StateChange: func(origin string, ch breaker.Change) {
			select {
			case r.changes <- change{origin, ch, time.Now()}:
			default:
				t.Error("the StateChange channel is full")
			}
		}}),
	}
	hc, err := httpclient.New(fc.base, append(opts, fc.client...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hc.Close() })
	r.hc = hc
	return r
}

func newFleet(t testing.TB, n int, fc fleetConfig) []*replica {
	t.Helper()
	out := make([]*replica, n)
	for i := range out {
		out[i] = newReplica(t, fc)
	}
	return out
}

// call makes one GET of url and returns its status, the body read and
// closed.
func call(ctx context.Context, hc *httpclient.Client, url string) (int, error) {
	resp, err := hc.Get(ctx, url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// waitChange waits, until deadline, for a change of origin to state to;
// it drops the others.
func (r *replica) waitChange(origin string, to breaker.State, deadline time.Time) (change, bool) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		select {
		case c := <-r.changes:
			if c.origin == origin && c.ch.To == to {
				return c, true
			}
		case <-timer.C:
			return change{}, false
		}
	}
}

// drain drops the changes reported so far.
func (r *replica) drain() {
	for {
		select {
		case <-r.changes:
		default:
			return
		}
	}
}

func (r *replica) state(t testing.TB, origin string) breaker.State {
	t.Helper()
	s, err := r.hc.Breaker(origin)
	if err != nil {
		t.Fatal(err)
	}
	return s.State
}

// waitState polls, until deadline, for every replica's breaker of origin
// to be in state want.
func waitState(t testing.TB, rs []*replica, origin string, want breaker.State, within time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		all := true
		for _, r := range rs {
			if r.state(t, origin) != want {
				all = false
			}
		}
		if all {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond) // a poll, bounded by the deadline
	}
}

// waitFor polls cond until it holds or within has passed.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond) // a poll, bounded by the deadline
	}
	return true
}

// percentile returns the p-th percentile (0 < p <= 100) of ds, by the
// nearest-rank method.
func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(p/100*float64(len(s)) + 0.999999)
	return s[max(0, min(rank, len(s))-1)]
}

// hungRedis is a listener that accepts connections and never answers, as
// a Redis that hangs.
func hungRedis(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
