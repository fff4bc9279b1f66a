package redisstore_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/internal/redistest"
	"github.com/tempestsdk/tempest/ratelimit"
	"github.com/tempestsdk/tempest/redisstore"
)

// admitOrRefuse fails the test unless err is nil or a refusal, the only
// answers a Gate gives, and reports an admission.
func admitOrRefuse(t *testing.T, err error) bool {
	t.Helper()
	var le *ratelimit.LimitedError
	if err != nil && !errors.As(err, &le) {
		t.Fatalf("Take returned %v, want nil or a *ratelimit.LimitedError", err)
	}
	return err == nil
}

// R71: Redis killed is not an outage. Take keeps answering, with no error,
// by the local share of the limit; the loss costs at most one call's
// timeout, is logged once and reported once; while the Gate backs off it
// sends Redis nothing; once Redis is back and the backoff has passed, the
// Gate shares the limit again, logged and reported once.
func TestGate_R71_RedisKilledAndRestarted(t *testing.T) {
	srv := redistest.Start(t)
	rdb := client(t, srv.Addr())
	var hook countHook
	rdb.AddHook(&hook)
	var log logBuffer
	var tr transitions
	const timeout = 50 * time.Millisecond
	s := newStore(t, rdb, redisstore.WithTimeout(timeout), redisstore.WithLogger(log.logger()))
	// 30/s with bursts of 3; the local third is 10/s with bursts of 1.
	g := newGate(t, s, "outage", ratelimit.Limit{Rate: 30, Burst: 3},
		redisstore.WithOnTransition(tr.hook), redisstore.WithBackoff(20*time.Millisecond, 80*time.Millisecond))
	ctx := context.Background()

	if _, err := g.Take(ctx, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	if hook.cmds.Load() == 0 {
		t.Fatal("the Gate did not ask Redis")
	}

	srv.Kill()
	t0 := time.Now()
	_, err := g.Take(ctx, t0, 0)
	took := time.Since(t0)
	if !admitOrRefuse(t, err) {
		t.Error("the first local Take was refused: the local share's burst is 1")
	}
	if took > timeout+200*time.Millisecond {
		t.Errorf("the Take that lost Redis took %v, want at most the timeout %v (and some scheduling)", took, timeout)
	}
	if seen := tr.seen(); !slices.Equal(seen, []bool{false}) {
		t.Fatalf("transitions %v after the loss, want [false]", seen)
	}

	// Backing off: at t0 (the backoff has not passed, whatever the
	// jitter drew) the Gate answers locally, at its share, and sends
	// Redis no command. (go-redis's pool redials on its own after dial
	// errors; that is not the Gate's doing.)
	cmds := hook.cmds.Load()
	admitted := 0
	for range 100 {
		_, err := g.Take(ctx, t0, 0)
		if admitOrRefuse(t, err) {
			admitted++
		}
	}
	if admitted != 0 {
		t.Errorf("%d more admitted at one instant, want 0: the local share's burst of 1 was taken", admitted)
	}
	// The local third of 30/s: the next event 100ms on (Redis's 30/s
	// would say 33ms).
	if _, err := g.Take(ctx, t0, 0); retryAfter(t, err) != 100*time.Millisecond {
		t.Errorf("RetryAfter %v from the local share, want 100ms", err)
	}
	g.Return(t0) // to the local share: Redis is not asked
	if _, err := g.Take(ctx, t0, 0); !admitOrRefuse(t, err) {
		t.Error("a Return while backing off did not go to the local share")
	}
	if c := hook.cmds.Load() - cmds; c != 0 {
		t.Errorf("%d commands while backing off, want none", c)
	}

	// Past the backoff, one Take asks Redis (still down) and backs off
	// again; no second loss is logged or reported.
	probeAt := t0.Add(100 * time.Millisecond) // past the first backoff, at most 20ms
	if _, err := g.Take(ctx, probeAt, 0); err != nil {
		admitOrRefuse(t, err)
	}
	if c := hook.cmds.Load() - cmds; c != 1 {
		t.Errorf("%d commands from the Take past the backoff, want 1", c)
	}
	for range 10 {
		if _, err := g.Take(ctx, probeAt, 0); err != nil {
			admitOrRefuse(t, err)
		}
	}
	if c := hook.cmds.Load() - cmds; c != 1 {
		t.Errorf("%d commands after the failed probe, want still 1", c)
	}

	// Redis is back: poll Take in real time until the Gate says so.
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(tr.seen(), true) {
		if time.Now().After(deadline) {
			t.Fatalf("the Gate did not find Redis again within 10s; transitions %v", tr.seen())
		}
		if _, err := g.Take(ctx, time.Now(), 0); err != nil {
			admitOrRefuse(t, err)
		}
		time.Sleep(time.Millisecond) // a poll, bounded by the deadline
	}
	if seen := tr.seen(); !slices.Equal(seen, []bool{false, true}) {
		t.Errorf("transitions %v, want [false true]", seen)
	}
	// Redis holds the state again: a Take writes the key.
	if _, err := g.Take(ctx, time.Now(), 0); err != nil {
		admitOrRefuse(t, err)
	}
	if rdb.Exists(ctx, g.Key()).Val() != 1 {
		t.Error("after the recovery, Take did not use Redis")
	}
	if n := len(log.lines("level=WARN")); n != 1 {
		t.Errorf("%d warnings, want one for the loss; log:\n%s", n, log.String())
	}
	if n := len(log.lines("level=INFO")); n != 1 {
		t.Errorf("%d info lines, want one for the recovery; log:\n%s", n, log.String())
	}
}

// R71: a Redis that accepts connections and never answers costs one call
// its timeout (the client honours context deadlines), and later calls
// nothing while the Gate backs off.
func TestGate_R71_HungRedisCostsOneTimeout(t *testing.T) {
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
			conns = append(conns, c) // held open, never answered
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

	rdb := client(t, ln.Addr().String())
	var tr transitions
	const timeout = 50 * time.Millisecond
	s := newStore(t, rdb, redisstore.WithTimeout(timeout), redisstore.WithLogger(nil))
	g := newGate(t, s, "hung", ratelimit.Limit{Rate: 30, Burst: 3}, redisstore.WithOnTransition(tr.hook))
	ctx := context.Background()
	t0 := time.Now()
	_, err = g.Take(ctx, t0, 0)
	took := time.Since(t0)
	admitOrRefuse(t, err)
	if took < timeout || took > timeout+200*time.Millisecond {
		t.Errorf("the Take that found Redis hung took %v, want about the timeout %v", took, timeout)
	}
	t1 := time.Now()
	for range 50 {
		if _, err := g.Take(ctx, t0, 0); err != nil {
			admitOrRefuse(t, err)
		}
	}
	if d := time.Since(t1); d > 50*time.Millisecond {
		t.Errorf("50 Takes while backing off took %v: they asked Redis", d)
	}
	if seen := tr.seen(); !slices.Equal(seen, []bool{false}) {
		t.Errorf("transitions %v, want [false]", seen)
	}
}

// R71: a Redis that answers with an error (here the key holds a list) is
// a loss too: the Gate answers locally, and a panicking hook is recovered
// and logged.
func TestGate_R71_RedisErrorFallsBack(t *testing.T) {
	rdb := urlClient(t)
	ctx := context.Background()
	var log logBuffer
	s := newStore(t, rdb, redisstore.WithNamespace(namespace(t)), redisstore.WithTimeout(time.Second), redisstore.WithLogger(log.logger()))
	g := newGate(t, s, "wrongtype", ratelimit.Limit{Rate: 30, Burst: 3},
		redisstore.WithOnTransition(func(bool) { panic("a broken hook") }))
	if err := rdb.RPush(ctx, g.Key(), "x").Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rdb.Del(context.Background(), g.Key()) })
	if _, err := g.Take(ctx, time.Now(), 0); !admitOrRefuse(t, err) {
		t.Error("the first local Take was refused")
	}
	if n := len(log.lines("level=WARN")); n != 1 {
		t.Errorf("%d warnings, want 1; log:\n%s", n, log.String())
	}
	if n := len(log.lines("panicked")); n != 1 {
		t.Errorf("the hook's panic was not logged once; log:\n%s", log.String())
	}
}

// R71: a Take whose context is done is answered locally, and is not a
// loss of Redis.
func TestGate_R71_CanceledCallIsNotALoss(t *testing.T) {
	rdb := urlClient(t)
	var tr transitions
	s := newStore(t, rdb, redisstore.WithNamespace(namespace(t)), redisstore.WithLogger(nil))
	g := newGate(t, s, "k", ratelimit.Limit{Rate: 30, Burst: 3}, redisstore.WithOnTransition(tr.hook))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := g.Take(ctx, time.Now(), 0)
	admitOrRefuse(t, err)
	if _, err := g.Take(context.Background(), time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	if seen := tr.seen(); len(seen) != 0 {
		t.Errorf("transitions %v for a cancelled call, want none", seen)
	}
}

// panicky is a Redis client whose every command panics, as a typed nil
// *redis.Client or a broken wrapper would.
type panicky struct{ redis.UniversalClient }

func (panicky) EvalSha(context.Context, string, []string, ...any) *redis.Cmd { panic("broken client") }
func (panicky) Eval(context.Context, string, []string, ...any) *redis.Cmd    { panic("broken client") }

// R71: nothing panics: a Redis client that panics is a failure of Redis,
// answered locally.
func TestGate_R71_PanickingClient(t *testing.T) {
	var tr transitions
	s := newStore(t, panicky{}, redisstore.WithLogger(nil))
	g := newGate(t, s, "k", ratelimit.Limit{Rate: 30, Burst: 3}, redisstore.WithOnTransition(tr.hook))
	g.Return(time.Now())
	if _, err := g.Take(context.Background(), time.Now(), 0); !admitOrRefuse(t, err) {
		t.Error("the first local Take was refused")
	}
	if seen := tr.seen(); !slices.Equal(seen, []bool{false}) {
		t.Errorf("transitions %v, want [false]", seen)
	}
}
