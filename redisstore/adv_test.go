package redisstore_test

// Adversarial tests of the redisstore module (R70-R72).

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/internal/redistest"
	"github.com/tempestsdk/tempest/redisstore"
)

// report is one call of a Watch function.
type report struct {
	origin string
	open   bool
	d      time.Duration
}

type reports struct {
	mu  sync.Mutex
	all []report
}

func (r *reports) watch(o string, open bool, d time.Duration) {
	r.mu.Lock()
	r.all = append(r.all, report{o, open, d})
	r.mu.Unlock()
}

func (r *reports) get() []report {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]report(nil), r.all...)
}

func newBreakers(t testing.TB, s *redisstore.Store, opts ...redisstore.BreakerOption) *redisstore.Breakers {
	t.Helper()
	b, err := s.Breakers(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// R72: Opened publishes the break that remains, whatever it is: a huge one
// (a breaker with a break of centuries, an Isolate-like long open) must not
// wrap around to 1ms in the key's PX. Likewise a huge probe ttl.
func TestAdv_R72_HugeBreakSaturates(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv.Addr())
	ns := namespace(t)
	s := newStore(t, rdb, redisstore.WithNamespace(ns), redisstore.WithTimeout(time.Second))
	b := newBreakers(t, s)
	ctx := context.Background()
	for i, d := range []time.Duration{math.MaxInt64, math.MaxInt64 - 1, math.MaxInt64 - time.Millisecond + 2} {
		o := fmt.Sprintf("http://huge%d.test:80", i)
		b.Opened(o, d)
		var pttl time.Duration
		waitFor(3*time.Second, func() bool {
			pttl = rdb.PTTL(ctx, ns+":br:{"+o+"}").Val()
			return pttl > 0
		})
		if pttl < time.Hour {
			t.Errorf("Opened(%q, %v): the key's PTTL is %v; want the huge break (at least an hour), not a wrapped 1ms", o, d, pttl)
		}
	}
	o := "http://hugeprobe.test:80"
	if !b.Probe(ctx, o, math.MaxInt64) {
		t.Fatal("Probe of a free token said false")
	}
	if pttl := rdb.PTTL(ctx, ns+":br:{"+o+"}:probe").Val(); pttl < time.Hour {
		t.Errorf("Probe(ttl=MaxInt64): the token's PTTL is %v; want the huge ttl, not a wrapped 1ms (another replica may probe at once)", pttl)
	}
}

// R72: messages on the channel that this replica did not publish, malformed
// or hostile, never panic and never report a nonsense break.
func TestAdv_R72_HostileMessages(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv.Addr())
	ns := namespace(t)
	s := newStore(t, rdb, redisstore.WithNamespace(ns), redisstore.WithTimeout(time.Second))
	b := newBreakers(t, s)
	var got reports
	b.Watch(got.watch)
	ctx := context.Background()
	ch := ns + ":br"
	// Wait until subscribed: a sync message gets through.
	if !waitFor(5*time.Second, func() bool {
		rdb.Publish(ctx, ch, "closed other http://sync0.test:80")
		for _, r := range got.get() {
			if r.origin == "http://sync0.test:80" {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the subscriber never delivered a message")
	}
	msgs := []string{
		"", " ", "open", "open x", "open x 10", "open x 10 ", "open x -5 http://neg.test:80",
		"open x 0 http://zero.test:80", "open x 1e3 http://exp.test:80", "open x 0x10 http://hex.test:80",
		"open x 99999999999999999999999 http://range.test:80",
		"closed", "closed x", "closed x ", "CLOSED x http://case.test:80", "garbage x y z",
		"open x 10 http://sp ace.test:80\nnewline", "\x00\xff\xfe",
		"open x 1000 " + strings.Repeat("o", 1<<20),
		// Break counts whose d = n*time.Millisecond overflows int64:
		"open x 9223372036854775807 http://maxint.test:80",
		"open x 288230376151711745 http://wrap.test:80", // (2^58+1) ms wraps to +1ms
		"open x 9223372036855 http://justover.test:80",  // just past MaxInt64 ns
	}
	for _, m := range msgs {
		if err := rdb.Publish(ctx, ch, m).Err(); err != nil {
			t.Fatal(err)
		}
	}
	rdb.Publish(ctx, ch, "closed other http://sync1.test:80")
	if !waitFor(5*time.Second, func() bool {
		for _, r := range got.get() {
			if r.origin == "http://sync1.test:80" {
				return true
			}
		}
		return false
	}) {
		t.Fatal("the subscriber stopped delivering after the hostile messages")
	}
	for _, r := range got.get() {
		if r.open && r.d <= 0 {
			t.Errorf("reported %q open for a non-positive break %v", r.origin, r.d)
		}
		switch r.origin {
		case "http://maxint.test:80", "http://wrap.test:80", "http://justover.test:80":
			if r.open && r.d < 24*time.Hour {
				t.Errorf("a message saying %q is open for millions of years was reported as open for %v (int64 overflow of n*time.Millisecond)", r.origin, r.d)
			}
		case "http://neg.test:80", "http://zero.test:80":
			t.Errorf("reported %+v", r)
		}
	}
}

// R72: the poll reports every learned origin whose key is open, including
// those this replica opened itself; the client then re-trips its own open
// circuit (the key outlives the local break by the publication's latency
// and the rounding up to whole ms), which makes a new generation, a
// StateChange (Open -> Open, trip) and a Warn log line per poll, and can
// cut a local half-open probe short. A replica's own open must not echo back.
func TestAdv_R72_PollSkipsOwnOpen(t *testing.T) {
	srv := redistest.Start(t)
	up := newUpstream(t)
	r := newReplica(t, fleetConfig{addr: srv.Addr(), ns: namespace(t), base: up.URL, threshold: 1, recovery: 3 * time.Second,
		timeout: time.Second, breakers: []redisstore.BreakerOption{redisstore.WithPollInterval(10 * time.Millisecond)}})
	origin := strings.Replace(up.URL, "http://", "http://", 1)
	ctx := context.Background()
	if _, err := call(ctx, r.hc, up.URL); err != nil { // learn the origin
		t.Fatal(err)
	}
	up.fail.Store(true)
	_, _ = call(ctx, r.hc, up.URL)
	snaps := r.hc.Breakers()
	var own string
	for o, s := range snaps {
		if s.State == breaker.Open {
			own = o
		}
	}
	if own == "" {
		t.Fatalf("the circuit did not open: %+v (origin %s)", snaps, origin)
	}
	if _, ok := r.waitChange(own, breaker.Open, time.Now().Add(time.Second)); !ok {
		t.Fatal("no Open change")
	}
	// Over 50 polls, count the trips this replica's client applied to its
	// own open circuit.
	trips := 0
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if c, ok := r.waitChange(own, breaker.Open, deadline); ok && c.ch.Cause == breaker.CauseTrip {
			trips++
		}
	}
	if trips > 0 {
		t.Errorf("the replica's own open circuit was re-tripped %d times in 500ms by its own poll (new generation, StateChange and Warn log each time)", trips)
	}
}

// R70: the keys of one origin share a hash tag, whatever the origin: an
// origin starting with "}" makes the tag empty, so ns:br:{}x} and
// ns:br:{}x}:probe hash to different Cluster slots and the Closed script
// fails with CROSSSLOT; the Breakers then counts Redis as lost, for every
// origin.
func TestAdv_R70_BraceOriginStaysLocal(t *testing.T) {
	srv := redistest.Start(t, redistest.WithArgs("--cluster-enabled", "yes", "--cluster-config-file", "nodes-adv.conf"))
	ctx := context.Background()
	plain := client(t, srv.Addr())
	if err := plain.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
		t.Skipf("cannot make a one-node cluster: %v", err)
	}
	if !waitFor(5*time.Second, func() bool {
		info, _ := plain.ClusterInfo(ctx).Result()
		return strings.Contains(info, "cluster_state:ok")
	}) {
		t.Skip("the one-node cluster did not come up")
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}, ContextTimeoutEnabled: true})
	t.Cleanup(func() { cc.Close() })
	var tr transitions
	s := newStore(t, cc, redisstore.WithNamespace("adv"), redisstore.WithTimeout(time.Second))
	b := newBreakers(t, s, redisstore.WithBreakerOnTransition(tr.hook))
	// An origin with a brace would move its keys' hash tag: it is left
	// local-only, and nothing of it is written.
	for _, o := range []string{"}x", "a}b", "{", "}"} {
		b.Opened(o, time.Minute)
		b.Closed(o)
		if !b.Probe(ctx, o, time.Minute) {
			t.Errorf("Probe(%q) = false; an origin the keys cannot carry probes locally", o)
		}
	}
	b.Opened("http://ok.test:80", time.Minute) // a sane origin after it
	waitFor(2*time.Second, func() bool { return cc.Exists(ctx, "adv:br:{http://ok.test:80}").Val() == 1 || len(tr.seen()) > 0 })
	if seen := tr.seen(); len(seen) > 0 && !seen[0] {
		t.Errorf("one origin's keys (CROSSSLOT) made the Breakers count Redis as lost, for every origin: transitions %v", seen)
	}
	if cc.Exists(ctx, "adv:br:{http://ok.test:80}").Val() != 1 {
		t.Error("a sane origin's Opened was dropped after the bad one's")
	}
	if keys := cc.Keys(ctx, "adv:br:*").Val(); len(keys) != 1 {
		t.Errorf("keys %q: a brace origin was written", keys)
	}
}

// R72: a hung Redis and a flood of Learns for distinct origins: every call
// returns at once, the queue and the origins remembered stay bounded, and
// the drops are counted.
func TestAdv_R72_LearnFloodHungRedis(t *testing.T) {
	addr := hungRedis(t)
	rdb := client(t, addr)
	s := newStore(t, rdb, redisstore.WithTimeout(20*time.Millisecond))
	b := newBreakers(t, s, redisstore.WithQueueSize(64), redisstore.WithMaxOrigins(100))
	start := time.Now()
	const n = 100_000
	for i := range n {
		b.Learn(fmt.Sprintf("http://o%d.test:80", i))
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("%d Learns took %v with Redis hung", n, el)
	}
	if d := b.Dropped(); d == 0 {
		t.Errorf("Dropped = %d after %d Learns into a queue of 64 with Redis hung", d, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if !b.Probe(ctx, "http://o1.test:80", time.Second) {
		t.Error("Probe with Redis hung said false")
	}
	if el := time.Since(t0); el > 400*time.Millisecond {
		t.Errorf("Probe with Redis hung took %v (timeout 20ms)", el)
	}
	t1 := time.Now()
	b.Close()
	if el := time.Since(t1); el > 1500*time.Millisecond {
		t.Errorf("Close with Redis hung took %v (bound 1s)", el)
	}
}

// R72: Close is idempotent, may come before Watch, and every method after
// it returns at once without panicking; Close while Redis is killed and the
// subscriber reconnects returns.
func TestAdv_R72_CloseEdges(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv.Addr())
	s := newStore(t, rdb, redisstore.WithTimeout(50*time.Millisecond))
	b, err := s.Breakers(redisstore.WithPollInterval(5*time.Millisecond), redisstore.WithBreakerBackoff(time.Millisecond, 2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		b.Learn(fmt.Sprintf("http://c%d.test:80", i))
	}
	srv.Kill()
	time.Sleep(20 * time.Millisecond) // let the subscriber see the loss and reconnect
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Close()
		b.Close()
		b.Watch(func(string, bool, time.Duration) { panic("after close") })
		b.Opened("http://x.test:80", time.Second)
		b.Closed("http://x.test:80")
		b.Learn("http://x.test:80")
		if !b.Probe(context.Background(), "http://x.test:80", time.Second) {
			t.Error("Probe after Close said false")
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close (or a call after it) did not return with Redis killed")
	}
	srv.Restart()
	b2, err := s.Breakers()
	if err != nil {
		t.Fatal(err)
	}
	b2.Close() // before any Watch
	var n atomic.Int64
	b2.Watch(func(string, bool, time.Duration) { n.Add(1) })
	if n.Load() != 0 {
		t.Error("Watch after Close was called")
	}
}

// R72: a WRONGTYPE on one origin's probe key (an operator's mistake, a
// namespace clash) is an answer of Redis, not a loss of it: it should not
// turn the sharing of every other origin off.
func TestAdv_R72_WrongTypeProbeKeyIsNotALoss(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv.Addr())
	ns := namespace(t)
	ctx := context.Background()
	var tr transitions
	s := newStore(t, rdb, redisstore.WithNamespace(ns), redisstore.WithTimeout(time.Second))
	b := newBreakers(t, s, redisstore.WithBreakerOnTransition(tr.hook))
	rdb.LPush(ctx, ns+":br:{http://bad.test:80}:probe", "x")
	if !b.Probe(ctx, "http://bad.test:80", time.Second) {
		t.Error("Probe on a WRONGTYPE key said false")
	}
	b.Opened("http://good.test:80", time.Minute)
	waitFor(2*time.Second, func() bool { return rdb.Exists(ctx, ns+":br:{http://good.test:80}").Val() == 1 })
	if rdb.Exists(ctx, ns+":br:{http://good.test:80}").Val() != 1 {
		t.Errorf("after one origin's WRONGTYPE, another origin's open was not published (transitions %v)", tr.seen())
	}
}

// R70/R72: every Redis call is bounded by the Store's timeout, and Close
// stops the goroutines. The subscriber's (re)connection runs under the
// PubSub's lock with the Breakers' context, which has no deadline: on a
// Redis that accepts connections and never answers, the dial's handshake
// waits for the client's ReadTimeout, and Close (ps.Close takes the same
// lock) waits with it. A client with ReadTimeout -1 (no timeout; deadlines
// come from contexts, as ContextTimeoutEnabled promises) makes Close hang.
func TestAdv_R72_CloseHungRedisBounded(t *testing.T) {
	done := make(chan struct{})
	// Runs last, after the hung Redis's connections are closed (which is
	// what finally unblocks Close), so that nothing leaks.
	t.Cleanup(func() {
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Close did not return even after the hung Redis closed its connections")
		}
	})
	addr := hungRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, ReadTimeout: -1})
	t.Cleanup(func() { rdb.Close() })
	s := newStore(t, rdb, redisstore.WithTimeout(20*time.Millisecond))
	b, err := s.Breakers()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the subscriber is dialling the hung Redis
	t0 := time.Now()
	go func() { b.Close(); close(done) }()
	select {
	case <-done:
		// Close waits at most max(2*timeout, 1s) for the subscriber.
		if el := time.Since(t0); el > 1500*time.Millisecond {
			t.Errorf("Close with Redis hung took %v (Store timeout 20ms; bound 1s)", el)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("Close with Redis hung (client ReadTimeout -1) did not return in 5s: the subscriber's reconnection holds the PubSub's lock with a context without deadline")
	}
}
