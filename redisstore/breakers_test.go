package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/internal/redistest"
	"github.com/tempestsdk/tempest/redisstore"
	"go.uber.org/goleak"
)

// R72: a trip on one replica reaches the others through pub/sub (the poll
// is an hour away, so it cannot). Over 100 trips, each by a failing call
// on replica i%3, the others' breakers open within 50ms of the tripping
// call's return at the 99th percentile.
func TestBreakers_R72_TripReachesTheFleet(t *testing.T) {
	srv := redistest.Start(t)
	up := newUpstream(t)
	origin := up.URL
	rs := newFleet(t, 3, fleetConfig{addr: srv.Addr(), ns: namespace(t), base: up.URL, threshold: 1,
		recovery: 5 * time.Second, breakers: []redisstore.BreakerOption{redisstore.WithPollInterval(time.Hour)}})
	ctx := context.Background()
	for _, r := range rs { // every replica knows the origin
		if code, err := call(ctx, r.hc, "/"); err != nil || code != 200 {
			t.Fatalf("warm-up: %d %v", code, err)
		}
	}
	// The subscribers are subscribed once a trip gets through: wait for
	// the first, outside the measure.
	if !waitFor(5*time.Second, func() bool {
		up.fail.Store(true)
		call(ctx, rs[0].hc, "/")
		ok := waitState(t, rs, origin, breaker.Open, 200*time.Millisecond)
		up.fail.Store(false)
		for _, r := range rs {
			r.hc.ResetBreaker(origin)
		}
		return ok
	}) {
		t.Fatal("no trip reached the fleet within 5s")
	}
	if !waitState(t, rs, origin, breaker.Closed, time.Second) {
		t.Fatal("the fleet did not reset")
	}

	const rounds = 100
	var lat []time.Duration
	for round := range rounds {
		for _, r := range rs {
			r.drain()
		}
		i := round % 3
		up.fail.Store(true)
		code, err := call(ctx, rs[i].hc, "/")
		tripped := time.Now()
		up.fail.Store(false)
		if err != nil || code != 503 {
			t.Fatalf("round %d: the tripping call: %d %v", round, code, err)
		}
		if s := rs[i].state(t, origin); s != breaker.Open {
			t.Fatalf("round %d: replica %d is %v after its failure", round, i, s)
		}
		deadline := tripped.Add(2 * time.Second)
		for j, r := range rs {
			if j == i {
				continue
			}
			c, ok := r.waitChange(origin, breaker.Open, deadline)
			if !ok {
				t.Fatalf("round %d: replica %d did not open within 2s of replica %d's trip", round, j, i)
			}
			if c.ch.Cause != breaker.CauseTrip {
				t.Errorf("round %d: replica %d opened by %v, want a trip", round, j, c.ch.Cause)
			}
			if d := c.ch.Until.Sub(c.at); d < 4*time.Second || d > 5*time.Second {
				t.Errorf("round %d: replica %d opened for %v, want the 5s break that remains", round, j, d)
			}
			lat = append(lat, max(0, c.at.Sub(tripped)))
		}
		for _, r := range rs {
			if err := r.hc.ResetBreaker(origin); err != nil {
				t.Fatal(err)
			}
		}
		if !waitState(t, rs, origin, breaker.Closed, time.Second) {
			t.Fatalf("round %d: the fleet did not reset", round)
		}
	}
	p50, p99, worst := percentile(lat, 50), percentile(lat, 99), slices.Max(lat)
	t.Logf("trip latency over %d trips (%d replicas reached): p50 %v, p99 %v, max %v", rounds, len(lat), p50, p99, worst)
	if p99 > 50*time.Millisecond {
		t.Errorf("p99 trip latency %v, want at most 50ms", p99)
	}
	for i, r := range rs {
		if seen := r.tr.seen(); len(seen) != 0 {
			t.Errorf("replica %d: transitions %v with Redis up", i, seen)
		}
		if n := r.br.Dropped(); n != 0 {
			t.Errorf("replica %d dropped %d calls", i, n)
		}
	}
}

// R72: while the upstream is down, the fleet sends it at most one probe
// per recovery period: three replicas with eight goroutines each hammer
// it for 2s, with a 300ms recovery. When it recovers, one good probe
// closes every replica.
func TestBreakers_R72_OneProbeForTheFleet(t *testing.T) {
	srv := redistest.Start(t)
	up := newUpstream(t)
	origin := up.URL
	const recovery = 300 * time.Millisecond
	const outage = 2 * time.Second
	rs := newFleet(t, 3, fleetConfig{addr: srv.Addr(), ns: namespace(t), base: up.URL, threshold: 1,
		recovery: recovery, timeout: 250 * time.Millisecond, breakers: []redisstore.BreakerOption{redisstore.WithPollInterval(time.Hour)},
		client: []httpclient.Option{httpclient.WithTimeout(2 * time.Second)}})
	ctx := context.Background()
	for _, r := range rs {
		if code, err := call(ctx, r.hc, "/"); err != nil || code != 200 {
			t.Fatalf("warm-up: %d %v", code, err)
		}
	}
	// The fleet opens at the first failure, before the hammering: the
	// failures that trip it, one per replica at most, are not probes.
	t0 := time.Now()
	up.fail.Store(true)
	if !waitFor(5*time.Second, func() bool {
		call(ctx, rs[0].hc, "/")
		return waitState(t, rs, origin, breaker.Open, 200*time.Millisecond)
	}) {
		t.Fatal("the trip did not reach the fleet")
	}
	tripHits := len(up.failedSince(t0))
	start := time.Now()
	stop := start.Add(outage)
	var wg sync.WaitGroup
	var calls, fast, other atomic.Int64
	var halt atomic.Bool
	hammer := func(until time.Time) {
		for _, r := range rs {
			for range 8 {
				wg.Go(func() {
					for time.Now().Before(until) && !halt.Load() {
						calls.Add(1)
						code, err := call(ctx, r.hc, "/")
						// Pacing, not synchronisation: 24 goroutines failing fast
						// in a loop starve the probe and Redis of CPU under -race.
						time.Sleep(100 * time.Microsecond)
						switch {
						case errors.Is(err, httpclient.ErrCircuitOpen):
							fast.Add(1)
						case err == nil && (code == 503 || code == 200):
						default:
							other.Add(1)
							t.Errorf("call: %d %v", code, err)
							return
						}
					}
				})
			}
		}
	}
	hammer(stop)
	wg.Wait()
	probes := up.failedSince(start)
	up.fail.Store(false)

	limit := int(math.Ceil(float64(outage)/float64(recovery))) + 1
	var gaps []string
	for i := 1; i < len(probes); i++ {
		gap := probes[i].Sub(probes[i-1])
		gaps = append(gaps, gap.Round(time.Millisecond).String())
		if gap < recovery-20*time.Millisecond {
			t.Errorf("probes %d and %d %v apart, within one %v recovery period", i, i+1, gap, recovery)
		}
	}
	t.Logf("%d calls in the %v outage, %d failed fast; %d hits to trip the fleet, then %d probes (at most %d), %v apart",
		calls.Load(), outage, fast.Load(), tripHits, len(probes), limit, gaps)
	if len(probes) > limit {
		t.Errorf("%d probes reached the upstream during the %v outage; want at most %d, one per %v", len(probes), outage, limit, recovery)
	}
	if len(probes) < 2 {
		t.Errorf("%d probes during the outage: nobody probed", len(probes))
	}
	for i, r := range rs {
		if seen := r.tr.seen(); len(seen) != 0 {
			t.Errorf("replica %d lost Redis (transitions %v): its breaker ran local-only", i, seen)
		}
	}

	// The upstream is back: the fleet's next probe closes every replica.
	hammerStop := time.Now().Add(3 * time.Second)
	closed := make(chan bool, 1)
	go func() { closed <- waitState(t, rs, origin, breaker.Closed, 2*time.Second) }()
	hammer(hammerStop)
	ok := <-closed
	halt.Store(true)
	wg.Wait()
	if !ok {
		for i, r := range rs {
			t.Errorf("replica %d: %v", i, r.state(t, origin))
		}
		t.Fatal("a good probe did not close every replica within 2s")
	}
}

// R72: a replica that starts late learns the fleet's state on the first
// use of the origin, and that first call does not wait for Redis.
func TestBreakers_R72_LateReplicaLearns(t *testing.T) {
	srv := redistest.Start(t)
	up := newUpstream(t)
	origin := up.URL
	fc := fleetConfig{addr: srv.Addr(), ns: namespace(t), base: up.URL, threshold: 1, recovery: 5 * time.Second,
		breakers: []redisstore.BreakerOption{redisstore.WithPollInterval(time.Hour)}}
	first := newReplica(t, fc)
	ctx := context.Background()
	up.fail.Store(true)
	if code, err := call(ctx, first.hc, "/"); err != nil || code != 503 {
		t.Fatalf("the tripping call: %d %v", code, err)
	}
	// The key is written by the worker, after the call.
	if !waitFor(2*time.Second, func() bool { return first.rdb.PTTL(ctx, "test-"+t.Name()+":br:{"+origin+"}").Val() > 0 }) {
		t.Fatal("the trip was not written to Redis")
	}

	late := newReplica(t, fc)
	code, err := call(ctx, late.hc, "/")
	if err != nil && !errors.Is(err, httpclient.ErrCircuitOpen) {
		t.Fatalf("the late replica's first call: %d %v", code, err)
	}
	c, ok := late.waitChange(origin, breaker.Open, time.Now().Add(2*time.Second))
	if !ok {
		t.Fatal("the late replica did not learn that the circuit is open")
	}
	if d := c.ch.Until.Sub(c.at); d < 4*time.Second || d > 5*time.Second {
		t.Errorf("the late replica opened for %v, want the break that remains of 5s", d)
	}
	hits := up.hits.Load()
	if _, err := call(ctx, late.hc, "/"); !errors.Is(err, httpclient.ErrCircuitOpen) {
		t.Errorf("the late replica's second call: %v; want a fast failure", err)
	}
	if up.hits.Load() != hits {
		t.Error("the late replica called an origin the fleet knows is down")
	}
}

// R72: Learn never waits for Redis: with a Redis that accepts and never
// answers, and a Store timeout of 500ms, the first call of a late replica
// returns in a few milliseconds, and a flood of Learns fills the bounded
// queue and is dropped, counted, and logged once.
func TestBreakers_R72_LearnDoesNotWait(t *testing.T) {
	addr := hungRedis(t)
	up := newUpstream(t)
	r := newReplica(t, fleetConfig{addr: addr, ns: namespace(t), base: up.URL, threshold: 1, recovery: time.Second,
		timeout:  500 * time.Millisecond,
		breakers: []redisstore.BreakerOption{redisstore.WithPollInterval(time.Hour), redisstore.WithQueueSize(4)}})
	ctx := context.Background()
	t0 := time.Now()
	code, err := call(ctx, r.hc, "/")
	took := time.Since(t0)
	if err != nil || code != 200 {
		t.Fatalf("first call: %d %v", code, err)
	}
	if took > 100*time.Millisecond {
		t.Errorf("the first call took %v with a hung Redis (timeout 500ms): it waited for Redis", took)
	}
	t.Logf("the first call with a hung Redis took %v", took)

	t1 := time.Now()
	for i := range 1000 {
		r.br.Learn(fmt.Sprintf("http://h%d.test:80", i))
	}
	if d := time.Since(t1); d > 50*time.Millisecond {
		t.Errorf("1000 Learns took %v with a hung Redis", d)
	}
	if n := r.br.Dropped(); n < 1000-4-2 { // the queue, and the jobs the worker took
		t.Errorf("%d Learns dropped of 1000 with a queue of 4", n)
	}
	if n := len(r.log.lines("queue is full")); n != 1 {
		t.Errorf("%d warnings of the full queue, want 1; log:\n%s", n, r.log.String())
	}
}

// R72: Redis killed in the middle and restarted: no call fails because of
// it, trips stay local while it is down, sharing resumes once it is back,
// and each replica logs and reports the loss and the recovery once.
func TestBreakers_R72_RedisKilledAndRestarted(t *testing.T) {
	srv := redistest.Start(t)
	healthy := newUpstream(t)
	flaky := newUpstream(t)
	origin := flaky.URL
	rs := newFleet(t, 3, fleetConfig{addr: srv.Addr(), ns: namespace(t), base: healthy.URL, threshold: 1,
		recovery: 5 * time.Second, breakers: []redisstore.BreakerOption{
			redisstore.WithPollInterval(time.Hour), redisstore.WithBreakerBackoff(20*time.Millisecond, 100*time.Millisecond)}})
	ctx := context.Background()
	for _, r := range rs {
		for _, u := range []string{"/", flaky.URL + "/"} {
			if code, err := call(ctx, r.hc, u); err != nil || code != 200 {
				t.Fatalf("warm-up: %d %v", code, err)
			}
		}
	}
	// Calls to the healthy upstream, from every replica, all along.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var good atomic.Int64
	for i, r := range rs {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				code, err := call(ctx, r.hc, "/")
				if err != nil || code != 200 {
					t.Errorf("replica %d: a call to the healthy upstream: %d %v", i, code, err)
					return
				}
				good.Add(1)
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

	// tripShared trips the flaky origin on rs[i] and reports whether the
	// others opened within d; it resets every replica after.
	tripShared := func(i int, d time.Duration) bool {
		flaky.fail.Store(true)
		code, err := call(ctx, rs[i].hc, flaky.URL+"/")
		flaky.fail.Store(false)
		if err != nil || code != 503 {
			t.Fatalf("tripping call: %d %v", code, err)
		}
		ok := waitState(t, rs, origin, breaker.Open, d)
		for _, r := range rs {
			r.hc.ResetBreaker(origin)
		}
		return ok
	}
	if !waitFor(5*time.Second, func() bool { return tripShared(0, 200*time.Millisecond) }) {
		t.Fatal("sharing did not work before the outage")
	}

	srv.Kill()
	for i, r := range rs {
		if !waitFor(5*time.Second, func() bool { return slices.Equal(r.tr.seen(), []bool{false}) }) {
			t.Fatalf("replica %d did not report the loss: %v", i, r.tr.seen())
		}
	}
	// A trip while Redis is down stays local, and costs its call nothing.
	flaky.fail.Store(true)
	t0 := time.Now()
	code, err := call(ctx, rs[1].hc, flaky.URL+"/")
	took := time.Since(t0)
	flaky.fail.Store(false)
	if err != nil || code != 503 {
		t.Fatalf("tripping call with Redis down: %d %v", code, err)
	}
	if took > 100*time.Millisecond {
		t.Errorf("the tripping call with Redis down took %v", took)
	}
	if rs[1].state(t, origin) != breaker.Open {
		t.Error("the trip with Redis down did not open the circuit locally")
	}
	time.Sleep(200 * time.Millisecond) // time for a trip to spread, were it to: none must
	for _, i := range []int{0, 2} {
		if s := rs[i].state(t, origin); s != breaker.Closed {
			t.Errorf("replica %d is %v: a trip with Redis down spread", i, s)
		}
	}
	rs[1].hc.ResetBreaker(origin)

	srv.Restart()
	for i, r := range rs {
		if !waitFor(5*time.Second, func() bool { return slices.Equal(r.tr.seen(), []bool{false, true}) }) {
			t.Fatalf("replica %d did not report the recovery: %v", i, r.tr.seen())
		}
	}
	if !waitFor(5*time.Second, func() bool { return tripShared(2, 200*time.Millisecond) }) {
		t.Fatal("sharing did not resume after the restart")
	}

	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	if good.Load() == 0 {
		t.Error("no call to the healthy upstream was made")
	}
	t.Logf("%d calls to the healthy upstream, all good", good.Load())
	for i, r := range rs {
		if seen := r.tr.seen(); !slices.Equal(seen, []bool{false, true}) {
			t.Errorf("replica %d: transitions %v, want [false true]", i, seen)
		}
		if n := len(r.log.lines("level=WARN")); n != 1 {
			t.Errorf("replica %d: %d warnings, want one for the loss; log:\n%s", i, n, r.log.String())
		}
		if n := len(r.log.lines("level=INFO")); n != 1 {
			t.Errorf("replica %d: %d info lines, want one for the recovery; log:\n%s", i, n, r.log.String())
		}
	}
}

// R72: the store's side of the protocol, seen from Redis: the keys, their
// expiry, the messages, the probe token.
func TestBreakers_R72_Protocol(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv.Addr())
	ctx := context.Background()
	ns := namespace(t)
	s := newStore(t, rdb, redisstore.WithNamespace(ns), redisstore.WithTimeout(time.Second), redisstore.WithLogger(nil))
	a, err := s.Breakers(redisstore.WithPollInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := newStore(t, another(t, rdb), redisstore.WithNamespace(ns), redisstore.WithLogger(nil)).Breakers(redisstore.WithPollInterval(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	type event struct {
		origin string
		open   bool
		d      time.Duration
	}
	seenA, seenB := make(chan event, 16), make(chan event, 16)
	a.Watch(func(o string, open bool, d time.Duration) { seenA <- event{o, open, d} })
	b.Watch(func(o string, open bool, d time.Duration) { seenB <- event{o, open, d} })
	sub := rdb.Subscribe(ctx, ns+":br")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the subscription
		t.Fatal(err)
	}
	next := func(ch chan event) event {
		select {
		case e := <-ch:
			return e
		case <-time.After(2 * time.Second):
			t.Fatal("no report within 2s")
			return event{}
		}
	}
	const origin = "https://api.test:443"
	key := ns + ":br:{" + origin + "}"

	// Wait until b is subscribed: a's messages reach it.
	if !waitFor(5*time.Second, func() bool {
		a.Opened(origin, time.Second)
		select {
		case <-seenB:
			return true
		case <-time.After(50 * time.Millisecond):
			return false
		}
	}) {
		t.Fatal("b never heard a")
	}
	for len(seenB) > 0 {
		<-seenB
	}

	a.Opened(origin, 1500*time.Millisecond)
	if e := next(seenB); e != (event{origin, true, 1500 * time.Millisecond}) {
		t.Errorf("b saw %+v", e)
	}
	recvUntil(t, sub, func(p string) bool { return strings.HasSuffix(p, " 1500 "+origin) }, func(p string) {
		if f := strings.Fields(p); len(f) != 4 || f[0] != "open" || f[2] != "1500" {
			t.Errorf("message %q, want open <id> 1500 <origin>", p)
		}
	})
	if v := rdb.Get(ctx, key).Val(); v == "" || strings.Contains(v, " ") {
		t.Errorf("%s = %q, want the opening replica's id", key, v)
	}
	if d := rdb.PTTL(ctx, key).Val(); d <= time.Second || d > 1500*time.Millisecond {
		t.Errorf("PTTL %s = %v, want the break of 1.5s", key, d)
	}
	if len(seenA) != 0 {
		t.Errorf("a heard its own message: %+v", <-seenA)
	}

	// The probe token: one replica at a time; its holder again; any
	// replica after Closed.
	if !a.Probe(ctx, origin, time.Second) {
		t.Error("a did not get the free token")
	}
	if b.Probe(ctx, origin, time.Second) {
		t.Error("b got the token a holds")
	}
	if !a.Probe(ctx, origin, 2*time.Second) {
		t.Error("a did not get the token it holds")
	}
	if d := rdb.PTTL(ctx, key+":probe").Val(); d <= time.Second || d > 2*time.Second {
		t.Errorf("the token's PTTL %v, want the ttl of a's last Probe, 2s", d)
	}
	b.Closed(origin)
	if e := next(seenA); e != (event{origin, false, 0}) {
		t.Errorf("a saw %+v", e)
	}
	recvUntil(t, sub, func(p string) bool { return strings.HasPrefix(p, "closed ") }, func(p string) {
		if f := strings.Fields(p); len(f) != 3 || f[2] != origin {
			t.Errorf("message %q, want closed <id> <origin>", p)
		}
	})
	if n := rdb.Exists(ctx, key, key+":probe").Val(); n != 0 {
		t.Errorf("%d keys left after Closed", n)
	}
	if !b.Probe(ctx, origin, 50*time.Millisecond) {
		t.Error("b did not get the token after Closed")
	}
	if !waitFor(2*time.Second, func() bool { return a.Probe(ctx, origin, time.Second) }) {
		t.Error("the token did not expire")
	}

	// Learn reports an open circuit with what remains of its break.
	rdb.Set(ctx, ns+":br:{http://late.test:80}", "open", 3*time.Second)
	a.Learn("http://late.test:80")
	if e := next(seenA); e.origin != "http://late.test:80" || !e.open || e.d <= 2*time.Second || e.d > 3*time.Second {
		t.Errorf("Learn reported %+v", e)
	}
	a.Learn("http://closed.test:80")
	select {
	case e := <-seenA:
		t.Errorf("Learn of a closed origin reported %+v", e)
	case <-time.After(100 * time.Millisecond):
	}
}

// recvUntil reads sub's messages until one satisfies match, and checks it.
func recvUntil(t *testing.T, sub *redis.PubSub, match func(string) bool, check func(string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for {
		m, err := sub.ReceiveMessage(ctx)
		if err != nil {
			t.Fatalf("no matching message: %v", err)
		}
		if match(m.Payload) {
			check(m.Payload)
			return
		}
	}
}

// R72: the poll reports the learned origins that are open, forgetting the
// oldest past the bound, and no close; a panicking Watch function is
// recovered and logged.
func TestBreakers_R72_Poll(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv.Addr())
	ctx := context.Background()
	ns := namespace(t)
	var log logBuffer
	s := newStore(t, rdb, redisstore.WithNamespace(ns), redisstore.WithTimeout(time.Second), redisstore.WithLogger(log.logger()))
	br, err := s.Breakers(redisstore.WithPollInterval(20*time.Millisecond), redisstore.WithMaxOrigins(2))
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	var mu sync.Mutex
	seen := map[string]int{}
	var closes atomic.Int64
	br.Watch(func(o string, open bool, d time.Duration) {
		if o == "http://panic.test:80" {
			panic("a broken watcher")
		}
		if !open {
			closes.Add(1)
			return
		}
		mu.Lock()
		seen[o]++
		mu.Unlock()
	})
	count := func(o string) int {
		mu.Lock()
		defer mu.Unlock()
		return seen[o]
	}
	for _, o := range []string{"http://old.test:80", "http://a.test:80", "http://panic.test:80"} {
		rdb.Set(ctx, ns+":br:{"+o+"}", "open", time.Minute)
	}
	for _, o := range []string{"http://old.test:80", "http://a.test:80", "http://panic.test:80"} {
		br.Learn(o) // the bound is 2: old is forgotten
	}
	// Once panic.test is learned (its Learn's report panics, and is
	// logged), old.test is forgotten: the polls no longer report it.
	if !waitFor(2*time.Second, func() bool { return len(log.lines("panicked")) > 0 }) {
		t.Fatalf("the Watch function's panic was not logged; log:\n%s", log.String())
	}
	nOld, nA := count("http://old.test:80"), count("http://a.test:80")
	if !waitFor(2*time.Second, func() bool { return count("http://a.test:80") >= nA+3 }) {
		t.Fatal("the poll did not report the open origin")
	}
	if n := count("http://old.test:80"); n != nOld || n == 0 {
		t.Errorf("the forgotten origin was reported %d times, then %d; want at least once (its Learn), then no more", nOld, n)
	}
	rdb.Del(ctx, ns+":br:{http://a.test:80}")
	n := count("http://a.test:80")
	time.Sleep(100 * time.Millisecond) // five polls, were they to report a close: none must
	if closes.Load() != 0 || count("http://a.test:80") != n {
		t.Errorf("the poll reported a close, or an origin no longer open")
	}
}

// R72: Probe says true whenever Redis cannot say false: Redis down, the
// caller's context done, Breakers closed; and it leaves Redis alone while
// backing off.
func TestBreakers_R72_ProbeLocalOnly(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv.Addr())
	var hook countHook
	rdb.AddHook(&hook)
	var tr transitions
	s := newStore(t, rdb, redisstore.WithTimeout(50*time.Millisecond), redisstore.WithLogger(nil))
	br, err := s.Breakers(redisstore.WithPollInterval(time.Hour), redisstore.WithBreakerOnTransition(tr.hook),
		redisstore.WithBreakerBackoff(time.Hour, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if !br.Probe(cancelled, "http://x.test:80", time.Second) {
		t.Error("Probe with a cancelled context said false")
	}
	if slices.Contains(tr.seen(), false) {
		t.Error("a cancelled Probe counted as a loss of Redis")
	}
	srv.Kill()
	t0 := time.Now()
	if !br.Probe(ctx, "http://x.test:80", time.Second) {
		t.Error("Probe with Redis down said false")
	}
	if d := time.Since(t0); d > 300*time.Millisecond {
		t.Errorf("Probe with Redis down took %v", d)
	}
	if !waitFor(2*time.Second, func() bool { return slices.Equal(tr.seen(), []bool{false}) }) {
		t.Errorf("transitions %v, want [false]", tr.seen())
	}
	cmds := hook.cmds.Load()
	for range 100 {
		if !br.Probe(ctx, "http://x.test:80", time.Second) {
			t.Fatal("Probe while backing off said false")
		}
		br.Opened("http://x.test:80", time.Second)
	}
	br.Close() // the worker has run or dropped what was queued
	br.Close()
	if n := hook.cmds.Load() - cmds; n != 0 {
		t.Errorf("%d commands while backing off, want none", n)
	}
	if !br.Probe(ctx, "http://x.test:80", time.Second) {
		t.Error("Probe after Close said false")
	}
	br.Opened("http://x.test:80", time.Second) // nothing, and no panic
}

// R72: Close stops every goroutine of Breakers, whatever Redis does: up,
// down, hung.
func TestBreakers_R72_CloseStopsGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) }) // the last cleanup: after the servers'
	srv := redistest.Start(t)
	for _, addr := range []string{srv.Addr(), "127.0.0.1:1", hungRedis(t)} {
		rdb := client(t, addr)
		s := newStore(t, rdb, redisstore.WithTimeout(50*time.Millisecond), redisstore.WithLogger(nil))
		br, err := s.Breakers(redisstore.WithPollInterval(10 * time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		br.Watch(func(string, bool, time.Duration) {})
		br.Learn("http://x.test:80")
		br.Opened("http://x.test:80", time.Second)
		br.Probe(context.Background(), "http://x.test:80", time.Second)
		t0 := time.Now()
		br.Close()
		if d := time.Since(t0); d > time.Second {
			t.Errorf("Close with Redis at %s took %v", addr, d)
		}
		rdb.Close()
	}
}

// Breakers' options are checked.
func TestBreakers_Options(t *testing.T) {
	s := newStore(t, client(t, "127.0.0.1:1"), redisstore.WithLogger(nil))
	for _, o := range []redisstore.BreakerOption{
		redisstore.WithPollInterval(0), redisstore.WithMaxOrigins(0), redisstore.WithQueueSize(-1),
		redisstore.WithBreakerBackoff(0, time.Second), redisstore.WithBreakerBackoff(2*time.Second, time.Second),
	} {
		if _, err := s.Breakers(o); !errors.Is(err, redisstore.ErrInvalidConfig) {
			t.Errorf("err %v, want ErrInvalidConfig", err)
		}
	}
}
