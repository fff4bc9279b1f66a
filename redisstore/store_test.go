package redisstore_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/internal/redistest"
	"github.com/tempestsdk/tempest/ratelimit"
	"github.com/tempestsdk/tempest/redisstore"
)

// R70: a rate limit's state is one key, NAMESPACE:rl:{KEY}, the braces
// making KEY its Redis Cluster hash tag; it holds TAT as an integer and
// expires when the bucket is full again; nothing else is written.
func TestStore_R70_Keys(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv.Addr())
	ctx := context.Background()

	acme := newStore(t, rdb, redisstore.WithNamespace("acme"))
	g := newGate(t, acme, "partner-api", ratelimit.Limit{Rate: 10, Burst: 3})
	if g.Key() != "acme:rl:{partner-api}" {
		t.Fatalf("Key() = %q, want acme:rl:{partner-api}", g.Key())
	}
	def := newGate(t, newStore(t, rdb), "k", ratelimit.Limit{Rate: 10})
	if def.Key() != "tempest:rl:{k}" {
		t.Fatalf("Key() with the default namespace = %q, want tempest:rl:{k}", def.Key())
	}

	start := time.Now()
	for range 3 {
		if _, err := g.Take(ctx, time.Now(), 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := def.Take(ctx, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	// The time to refill: three intervals of 100ms after the burst, less
	// what has passed since.
	pttl, err := rdb.PTTL(ctx, g.Key()).Result()
	if err != nil {
		t.Fatal(err)
	}
	if pttl <= 0 || pttl > 300*time.Millisecond || pttl < 300*time.Millisecond-time.Since(start)-time.Millisecond {
		t.Errorf("PTTL %v after a burst of 3 at 10/s (%v ago), want the time to refill, 300ms less that", pttl, time.Since(start))
	}
	v, err := rdb.Get(ctx, g.Key()).Result()
	if err != nil {
		t.Fatal(err)
	}
	tat, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("the key holds %q, want TAT as an integer: %v", v, err)
	}
	now, err := rdb.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ahead := time.Duration(tat-now.UnixMicro()) * time.Microsecond; ahead <= 0 || ahead > 300*time.Millisecond {
		t.Errorf("TAT is %v ahead of Redis's TIME, want (0, 300ms]", ahead)
	}

	// Nothing else in the keyspace.
	var keys []string
	iter := rdb.Scan(ctx, 0, "*", 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || !(keys[0] == g.Key() && keys[1] == def.Key() || keys[1] == g.Key() && keys[0] == def.Key()) {
		t.Errorf("keyspace %q, want only %q and %q", keys, g.Key(), def.Key())
	}
}

// R70: keys expire, so that nothing grows without bound: a key is gone
// once its bucket is full again, and a Return that fills it deletes it.
func TestStore_R70_Expiry(t *testing.T) {
	rdb := urlClient(t)
	ctx := context.Background()
	s := newStore(t, rdb, redisstore.WithNamespace(namespace(t)))

	g := newGate(t, s, "fast", ratelimit.Limit{Rate: 100}) // full again 10ms after a take
	if _, err := g.Take(ctx, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	if pttl := rdb.PTTL(ctx, g.Key()).Val(); pttl <= 0 || pttl > 10*time.Millisecond {
		t.Errorf("PTTL %v, want (0, 10ms]", pttl)
	}
	deadline := time.Now().Add(5 * time.Second)
	for rdb.Exists(ctx, g.Key()).Val() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the key outlived its bucket's refill by 5s (PTTL %v)", rdb.PTTL(ctx, g.Key()).Val())
		}
		time.Sleep(5 * time.Millisecond) // polling for Redis's expiry, bounded above
	}

	r := newGate(t, s, "returned", ratelimit.Limit{Rate: 1, Per: time.Hour})
	if _, err := r.Take(ctx, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	if pttl := rdb.PTTL(ctx, r.Key()).Val(); pttl < 59*time.Minute || pttl > time.Hour {
		t.Errorf("PTTL %v at 1 per hour, want about an hour", pttl)
	}
	r.Return(time.Now())
	if n := rdb.Exists(ctx, r.Key()).Val(); n != 0 {
		t.Errorf("the key of a bucket a Return filled is still there (PTTL %v)", rdb.PTTL(ctx, r.Key()).Val())
	}
}

// R70: bad arguments are errors from New and RateGate, never panics; a
// bad limit wraps ratelimit.ErrInvalidLimit.
func TestStore_R70_Invalid(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })

	if _, err := redisstore.New(nil); !errors.Is(err, redisstore.ErrInvalidConfig) {
		t.Errorf("New(nil) = %v", err)
	}
	for name, o := range map[string]redisstore.Option{
		"empty namespace": redisstore.WithNamespace(""),
		"brace":           redisstore.WithNamespace("a{b"),
		"zero timeout":    redisstore.WithTimeout(0),
		"negative":        redisstore.WithTimeout(-time.Second),
	} {
		if _, err := redisstore.New(rdb, o); !errors.Is(err, redisstore.ErrInvalidConfig) {
			t.Errorf("%s: New = %v, want ErrInvalidConfig", name, err)
		}
	}
	s, err := redisstore.New(rdb, nil, redisstore.WithLogger(nil)) // nil options are ignored
	if err != nil {
		t.Fatal(err)
	}
	ok := ratelimit.Limit{Rate: 10}
	for _, key := range []string{"", "a}b", "{a}"} {
		if _, err := s.RateGate(key, ok); !errors.Is(err, redisstore.ErrInvalidConfig) {
			t.Errorf("RateGate(%q) = %v, want ErrInvalidConfig", key, err)
		}
	}
	for _, l := range []ratelimit.Limit{{}, {Rate: -1}, {Rate: 2, Burst: 3}, {Rate: 2_000_000}, {Rate: 10, Per: time.Microsecond}} {
		if _, err := s.RateGate("k", l); !errors.Is(err, ratelimit.ErrInvalidLimit) {
			t.Errorf("RateGate with %+v = %v, want ratelimit.ErrInvalidLimit", l, err)
		}
	}
	for name, o := range map[string]redisstore.GateOption{
		"share 0":       redisstore.WithLocalShare(0),
		"share > 1":     redisstore.WithLocalShare(1.5),
		"share NaN":     redisstore.WithLocalShare(math.NaN()),
		"backoff 0":     redisstore.WithBackoff(0, time.Second),
		"max below min": redisstore.WithBackoff(time.Second, time.Millisecond),
	} {
		if _, err := s.RateGate("k", ok, o); !errors.Is(err, redisstore.ErrInvalidConfig) {
			t.Errorf("%s: RateGate = %v, want ErrInvalidConfig", name, err)
		}
	}
	g, err := s.RateGate("k", ratelimit.Limit{Rate: 5}, nil, redisstore.WithLocalShare(1), redisstore.WithOnTransition(nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Limit(); got != (ratelimit.Limit{Rate: 5, Per: time.Second, Burst: 1}) {
		t.Errorf("Limit() = %+v", got)
	}
}

// R70: New warns about a client that ignores context deadlines, for which
// the Store's timeout would not bound a Redis that hangs.
func TestStore_R70_WarnsOfClientIgnoringDeadlines(t *testing.T) {
	var log logBuffer
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { rdb.Close() })
	newStore(t, rdb, redisstore.WithLogger(log.logger()))
	if n := len(log.lines("ContextTimeoutEnabled")); n != 1 {
		t.Errorf("%d warnings for a client without ContextTimeoutEnabled, want 1; log:\n%s", n, log.String())
	}
	var quiet logBuffer
	newStore(t, client(t, "127.0.0.1:1"), redisstore.WithLogger(quiet.logger()))
	if quiet.String() != "" {
		t.Errorf("a warning for a client with ContextTimeoutEnabled:\n%s", quiet.String())
	}
}
