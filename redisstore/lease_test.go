package redisstore_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/internal/redistest"
	"github.com/tempestsdk/tempest/ratelimit"
	"github.com/tempestsdk/tempest/redisstore"
)

// scriptHook counts the script runs a go-redis client sends: its EVALSHA
// commands (one a run; an EVAL follows one only when Redis has not seen
// the script), not the commands of setting up a connection.
type scriptHook struct {
	runs atomic.Int64
}

func (h *scriptHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *scriptHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" {
			h.runs.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *scriptHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// tatAhead returns how far the key's TAT is ahead of Redis's now, 0 for a
// missing key (an idle bucket).
func tatAhead(t *testing.T, rdb *redis.Client, key string) time.Duration {
	t.Helper()
	ctx := context.Background()
	v, err := rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	tat, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	return max(time.Duration(tat-now.UnixMicro())*time.Microsecond, 0)
}

// R71: with WithLease(10), a Redis call takes up to ten events, and the
// Gate hands out the other nine itself: 100 Takes admitted at once, fail-fast
// or waiting, cost about ten script runs, where without a lease they cost
// a hundred.
func TestGate_R71_LeaseSavesRoundTrips(t *testing.T) {
	ctx := context.Background()
	limit := ratelimit.Limit{Rate: 100, Burst: 100} // a full burst: all 100 admitted at once
	run := func(t *testing.T, opts ...redisstore.GateOption) int64 {
		rdb := urlClient(t)
		var hook scriptHook
		rdb.AddHook(&hook)
		s := newStore(t, rdb, redisstore.WithNamespace(namespace(t)), redisstore.WithTimeout(time.Second))
		g := newGate(t, s, "lease", limit, opts...)
		for i := range 100 {
			maxWait := time.Duration(0)
			if i%2 == 1 {
				maxWait = time.Second // a waiting Take: from the lease, its wait is 0
			}
			if w, err := g.Take(ctx, time.Now(), maxWait); w != 0 || err != nil {
				t.Fatalf("Take %d: wait %v, err %v", i+1, w, err)
			}
		}
		return hook.runs.Load()
	}
	var with, without int64
	t.Run("lease=10", func(t *testing.T) {
		with = run(t, redisstore.WithLease(10))
		if with > 10 {
			t.Errorf("100 Takes with a lease of 10 made %d script runs, want 10", with)
		}
	})
	t.Run("lease=1", func(t *testing.T) {
		without = run(t, redisstore.WithLease(1))
		if without != 100 {
			t.Errorf("100 Takes without a lease made %d script runs, want 100", without)
		}
	})
	t.Logf("100 admitted Takes: %d script runs with WithLease(10), %d without: %d round trips saved", with, without, without-with)
}

// R71: a fleet with leases keeps to the limit within what leasing trades
// away. The fleet test of fleet_test.go with WithLease(5): three replicas,
// 32 goroutines each, taking fail-fast for 2s at 200/s with bursts of 20:
// Redis grants Burst + 2s*Rate = 420, and the replicas may hand out up to
// n-1 = 4 leased events each beyond it, so the fleet admits at most
// 420 + 3*4, and at least 98% of 420 (leased events left unused when the
// run stops are not admitted).
func TestGate_R71_FleetWithLease(t *testing.T) {
	rdb := urlClient(t)
	ns := namespace(t)
	const (
		replicas   = 3
		goroutines = 32
		lease      = 5
	)
	run := fleetRun()
	limit := ratelimit.Limit{Rate: 200, Burst: 20}
	var tr transitions
	var hook scriptHook
	gates := make([]*redisstore.Gate, replicas)
	for i := range gates {
		c := another(t, rdb)
		c.AddHook(&hook)
		s := newStore(t, c, redisstore.WithNamespace(ns), redisstore.WithTimeout(5*time.Second))
		gates[i] = newGate(t, s, "fleet", limit, redisstore.WithOnTransition(tr.hook), redisstore.WithLease(lease))
	}

	ctx := context.Background()
	var admitted, refused, calls atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	if _, err := gates[0].Take(ctx, start, 0); err != nil {
		t.Fatal(err)
	}
	admitted.Add(1)
	calls.Add(1)
	stop := start.Add(run)
	for _, g := range gates {
		for range goroutines {
			wg.Go(func() {
				for time.Now().Before(stop) {
					calls.Add(1)
					_, err := g.Take(ctx, time.Now(), 0)
					var le *ratelimit.LimitedError
					switch {
					case err == nil:
						admitted.Add(1)
					case errors.As(err, &le):
						refused.Add(1)
					default:
						t.Errorf("Take: %v", err)
						return
					}
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)

	want := float64(limit.Burst) + run.Seconds()*float64(limit.Rate)
	bound := want + replicas*(lease-1)
	got := admitted.Load()
	t.Logf("fleet of %d replicas x %d goroutines with WithLease(%d) over %v: %d admitted (GCRA %.0f, bound %.0f): leasing error %+d (%+.1f%%); %d refused, %d calls, %d script runs (%d calls without a round trip)",
		replicas, goroutines, lease, elapsed.Round(time.Millisecond), got, want, bound,
		got-int64(want), 100*(float64(got)-want)/want, refused.Load(), calls.Load(), hook.runs.Load(), calls.Load()-hook.runs.Load())
	if float64(got) > bound {
		t.Errorf("the fleet admitted %d, more than Burst + d*Rate + R*(n-1) = %.0f", got, bound)
	}
	if float64(got) < 0.98*want {
		t.Errorf("the fleet admitted %d, less than 98%% of %.0f", got, want)
	}
	if refused.Load() == 0 {
		t.Error("nothing was refused: the load did not exceed the limit")
	}
	if seen := tr.seen(); len(seen) != 0 {
		t.Errorf("transitions %v: a replica lost Redis during the run", seen)
	}
}

// R71: a lease past its TTL is not handed out, and is given back to Redis
// by the Gate's next call: by a Return (the key's TAT moves back by the
// unused events and the returned one), or by a Take (in its own script
// run, before it takes a new lease).
func TestGate_R71_StaleLeaseGivenBack(t *testing.T) {
	rdb := urlClient(t)
	var hook scriptHook
	rdb.AddHook(&hook)
	ctx := context.Background()
	const ttl = 100 * time.Millisecond
	s := newStore(t, rdb, redisstore.WithNamespace(namespace(t)), redisstore.WithTimeout(time.Second))
	// One event per 100ms, bursts of 10; a lease of 5 moves TAT 500ms.
	g := newGate(t, s, "stale", ratelimit.Limit{Rate: 10, Burst: 10}, redisstore.WithLease(5), redisstore.WithLeaseTTL(ttl))
	const slack = 50 * time.Millisecond

	lease := func() {
		t.Helper()
		if _, err := g.Take(ctx, time.Now(), 0); err != nil {
			t.Fatal(err)
		}
		if d := tatAhead(t, rdb, g.Key()); d < 500*time.Millisecond-slack || d > 500*time.Millisecond {
			t.Fatalf("after a lease of 5: TAT %v ahead of Redis's now, want 500ms", d)
		}
	}

	// By a Return: the 4 unused events and the returned one, 500ms, put
	// the key back to idle (TAT <= now: the key is deleted).
	lease()
	time.Sleep(ttl + 20*time.Millisecond)
	cmds := hook.runs.Load()
	g.Return(time.Now())
	if c := hook.runs.Load() - cmds; c != 1 {
		t.Errorf("a Return with a stale lease made %d script runs, want 1 (into a stale lease it may not go)", c)
	}
	if d := tatAhead(t, rdb, g.Key()); d != 0 {
		t.Errorf("after the stale lease was given back: TAT %v ahead of Redis's now, want 0 (idle)", d)
	}

	// By a Take: the stale lease's 4 events are given back, and 5 taken
	// anew, in one script run: TAT 500ms ahead, not 500ms + what the
	// stale lease would have left (about 300ms).
	lease()
	time.Sleep(ttl + 20*time.Millisecond)
	cmds = hook.runs.Load()
	if _, err := g.Take(ctx, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	if c := hook.runs.Load() - cmds; c != 1 {
		t.Errorf("a Take with a stale lease made %d script runs, want 1: a stale lease is not handed out", c)
	}
	if d := tatAhead(t, rdb, g.Key()); d > 500*time.Millisecond {
		t.Errorf("after a Take with a stale lease: TAT %v ahead of Redis's now, want at most 500ms (the stale events given back)", d)
	}
}

// R71: a Return puts its event into a fresh lease with room, with no round
// trip; into a full lease (n-1 events) it goes to Redis.
func TestGate_R71_ReturnIntoLease(t *testing.T) {
	rdb := urlClient(t)
	var hook scriptHook
	rdb.AddHook(&hook)
	ctx := context.Background()
	s := newStore(t, rdb, redisstore.WithNamespace(namespace(t)), redisstore.WithTimeout(time.Second))
	g := newGate(t, s, "ret", ratelimit.Limit{Rate: 10, Burst: 10}, redisstore.WithLease(5), redisstore.WithLeaseTTL(time.Minute))
	if _, err := g.Take(ctx, time.Now(), 0); err != nil { // 4 leased
		t.Fatal(err)
	}
	if _, err := g.Take(ctx, time.Now(), 0); err != nil { // 3 left
		t.Fatal(err)
	}
	cmds := hook.runs.Load()
	g.Return(time.Now()) // 4: into the lease
	if c := hook.runs.Load() - cmds; c != 0 {
		t.Errorf("a Return into a lease with room made %d script runs, want 0", c)
	}
	before := tatAhead(t, rdb, g.Key())
	cmds = hook.runs.Load()
	g.Return(time.Now()) // the lease holds n-1: to Redis
	if c := hook.runs.Load() - cmds; c != 1 {
		t.Errorf("a Return into a full lease made %d script runs, want 1", c)
	}
	if after := tatAhead(t, rdb, g.Key()); after > before-90*time.Millisecond {
		t.Errorf("TAT %v ahead after a Return to Redis, %v before: want 100ms less", after, before)
	}
	cmds = hook.runs.Load()
	for i := range 4 {
		if _, err := g.Take(ctx, time.Now(), 0); err != nil {
			t.Fatalf("Take %d from the lease: %v", i+1, err)
		}
	}
	if c := hook.runs.Load() - cmds; c != 0 {
		t.Errorf("4 Takes from a lease of 4 made %d script runs, want 0", c)
	}
}

// R71: Redis killed while the Gate holds a lease: the leased events are
// handed out, then the Gate falls back to its local share as without a
// lease, and no Take returns an error.
func TestGate_R71_LeaseRedisKilled(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv.Addr())
	var hook scriptHook
	rdb.AddHook(&hook)
	var tr transitions
	s := newStore(t, rdb, redisstore.WithTimeout(50*time.Millisecond), redisstore.WithLogger(nil))
	g := newGate(t, s, "outage", ratelimit.Limit{Rate: 30, Burst: 10},
		redisstore.WithLease(5), redisstore.WithLeaseTTL(time.Minute), redisstore.WithOnTransition(tr.hook))
	ctx := context.Background()
	if _, err := g.Take(ctx, time.Now(), 0); err != nil { // 4 leased
		t.Fatal(err)
	}
	srv.Kill()
	cmds := hook.runs.Load()
	for i := range 4 {
		if _, err := g.Take(ctx, time.Now(), 0); err != nil {
			t.Fatalf("Take %d from the lease with Redis gone: %v", i+1, err)
		}
	}
	if c := hook.runs.Load() - cmds; c != 0 {
		t.Errorf("Takes from the lease made %d script runs, want 0", c)
	}
	if len(tr.seen()) != 0 {
		t.Errorf("transitions %v before the lease was used up, want none", tr.seen())
	}
	t0 := time.Now()
	_, err := g.Take(ctx, t0, 0) // the lease is used up: Redis, lost, then the local share
	if !admitOrRefuse(t, err) {
		t.Error("the first local Take was refused: the local share's burst is 1")
	}
	for range 20 {
		_, err := g.Take(ctx, t0, 0)
		admitOrRefuse(t, err)
	}
	g.Return(t0) // while down, with an empty lease: to the local share, no error
	if seen := tr.seen(); !slices.Equal(seen, []bool{false}) {
		t.Errorf("transitions %v, want [false]", seen)
	}
}

// R71: WithLease's n is from 1 (no lease, the default) to the limit's
// Burst; more can never be granted at once. WithLeaseTTL must be positive.
func TestGate_R71_LeaseInvalid(t *testing.T) {
	s := newStore(t, urlClient(t), redisstore.WithLogger(nil))
	limit := ratelimit.Limit{Rate: 100, Burst: 20}
	for _, tc := range []struct {
		name string
		opt  redisstore.GateOption
		ok   bool
	}{
		{"n=1", redisstore.WithLease(1), true},
		{"n=Burst", redisstore.WithLease(20), true},
		{"ttl", redisstore.WithLeaseTTL(time.Second), true},
		{"n=0", redisstore.WithLease(0), false},
		{"n=-1", redisstore.WithLease(-1), false},
		{"n=Burst+1", redisstore.WithLease(21), false},
		{"n=MaxInt", redisstore.WithLease(math.MaxInt), false},
		{"ttl=0", redisstore.WithLeaseTTL(0), false},
		{"ttl<0", redisstore.WithLeaseTTL(-time.Second), false},
	} {
		g, err := s.RateGate("k", limit, tc.opt)
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case !tc.ok && !errors.Is(err, redisstore.ErrInvalidConfig):
			t.Errorf("%s: gate %v, err %v, want ErrInvalidConfig", tc.name, g, err)
		}
	}
	// The default burst is 1: no lease beyond it.
	if _, err := s.RateGate("k", ratelimit.Limit{Rate: 100}, redisstore.WithLease(2)); !errors.Is(err, redisstore.ErrInvalidConfig) {
		t.Errorf("WithLease(2) with a burst of 1: %v, want ErrInvalidConfig", err)
	}
}
