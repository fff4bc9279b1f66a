package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/ratelimit"
	"github.com/tempestsdk/tempest/redisstore"
)

// R71: the script is ratelimit.Limiter.Take in Redis: an idle key admits
// Burst events at once, then one every Per/Rate; a wait longer than
// maxWait is refused with when to retry, and takes nothing; a wait within
// it is granted and queued. Redis's clock runs meanwhile, so the figures
// are checked to within the time the calls took.
func TestGate_R71_BurstThenSpaced(t *testing.T) {
	rdb := urlClient(t)
	ctx := context.Background()
	s := newStore(t, rdb, redisstore.WithNamespace(namespace(t)), redisstore.WithTimeout(time.Second))
	g := newGate(t, s, "burst", ratelimit.Limit{Rate: 10, Burst: 3})

	start := time.Now()
	for i := range 3 {
		if w, err := g.Take(ctx, time.Now(), 0); w != 0 || err != nil {
			t.Fatalf("event %d of the burst: wait %v, err %v", i+1, w, err)
		}
	}
	slack := func() time.Duration { return time.Since(start) + time.Millisecond }
	for range 2 { // refusals take nothing
		_, err := g.Take(ctx, time.Now(), 0)
		near(t, "RetryAfter of the 4th", retryAfter(t, err), 100*time.Millisecond, slack())
	}
	w, err := g.Take(ctx, time.Now(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "the wait of a waiting event", w, 100*time.Millisecond, slack())
	_, err = g.Take(ctx, time.Now(), 150*time.Millisecond) // would wait ~200ms
	near(t, "RetryAfter of a wait over maxWait", retryAfter(t, err), 200*time.Millisecond, slack())
	w, err = g.Take(ctx, time.Now(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "the wait of the next", w, 200*time.Millisecond, slack())

	// Return gives one back: the next waits 200ms again, not 300ms.
	g.Return(time.Now())
	w, err = g.Take(ctx, time.Now(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "the wait after a Return", w, 200*time.Millisecond, slack())
}

// R71: Returns on an idle key bank nothing past the burst.
func TestGate_R71_ReturnBanksNothing(t *testing.T) {
	rdb := urlClient(t)
	ctx := context.Background()
	s := newStore(t, rdb, redisstore.WithNamespace(namespace(t)), redisstore.WithTimeout(time.Second))
	g := newGate(t, s, "k", ratelimit.Limit{Rate: 1, Per: time.Hour})
	if _, err := g.Take(ctx, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Take(ctx, time.Now(), 0); retryAfter(t, err) < 59*time.Minute {
		t.Errorf("a second event at 1 per hour: %v", err)
	}
	g.Return(time.Now())
	for range 3 {
		g.Return(time.Now())
	}
	if _, err := g.Take(ctx, time.Now(), 0); err != nil {
		t.Fatalf("after Return: %v", err)
	}
	if _, err := g.Take(ctx, time.Now(), 0); err == nil {
		t.Error("Returns on an idle key banked an event past the burst")
	}
}

// R71: Gates of one key share it, whatever Store they come from; a Gate of
// another key, or of another namespace, does not.
func TestGate_R71_SharedByKey(t *testing.T) {
	rdb := urlClient(t)
	ctx := context.Background()
	ns := namespace(t)
	l := ratelimit.Limit{Rate: 1, Per: time.Hour}
	a := newGate(t, newStore(t, rdb, redisstore.WithNamespace(ns)), "k", l)
	b := newGate(t, newStore(t, another(t, rdb), redisstore.WithNamespace(ns)), "k", l)
	other := newGate(t, newStore(t, rdb, redisstore.WithNamespace(ns)), "other", l)
	elsewhere := newGate(t, newStore(t, rdb, redisstore.WithNamespace(ns+"-2")), "k", l)
	if _, err := a.Take(ctx, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Take(ctx, time.Now(), 0); err == nil {
		t.Error("a second Store's Gate of the same key admitted past the limit")
	}
	for _, g := range []*redisstore.Gate{other, elsewhere} {
		if _, err := g.Take(ctx, time.Now(), 0); err != nil {
			t.Errorf("%s: %v", g.Key(), err)
		}
	}
}

// R71: Take's now may be in the future, for an event that is to happen
// then (ratelimit.Gate): the event is placed that far after Redis's now,
// and its wait is counted from it, as a Limiter counts from its now.
func TestGate_R71_EventInTheFuture(t *testing.T) {
	rdb := urlClient(t)
	ctx := context.Background()
	s := newStore(t, rdb, redisstore.WithNamespace(namespace(t)), redisstore.WithTimeout(time.Second))
	g := newGate(t, s, "future", ratelimit.Limit{Rate: 10}) // one per 100ms

	start := time.Now()
	slack := func() time.Duration { return time.Since(start) + time.Millisecond }
	if w, err := g.Take(ctx, start.Add(500*time.Millisecond), 0); w != 0 || err != nil {
		t.Fatalf("an event 500ms ahead on an idle key: wait %v, err %v", w, err)
	}
	// The slot after it is at 600ms; from now, that is the wait.
	w, err := g.Take(ctx, time.Now(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "the wait for the slot after an event 500ms ahead", w, 600*time.Millisecond, slack())
	// 800ms ahead, the bucket (next slot at 700ms) admits at once, then
	// refuses with the 100ms that the slot after that is from then. Each
	// call places its event by the lead it computed before the round
	// trip, so the figures move by the round trips' differences: a few
	// milliseconds are allowed either way.
	const jitter = 5 * time.Millisecond
	at := start.Add(800 * time.Millisecond)
	if w, err := g.Take(ctx, at, jitter); w > jitter || err != nil {
		t.Fatalf("an event 800ms ahead: wait %v, err %v", w, err)
	}
	_, err = g.Take(ctx, at, 0)
	if ra := retryAfter(t, err); ra < 100*time.Millisecond-jitter || ra > 100*time.Millisecond+jitter {
		t.Errorf("RetryAfter from 800ms ahead = %v, want 100ms ± %v", ra, jitter)
	}
	// Return from there gives that slot back.
	g.Return(at)
	if w, err := g.Take(ctx, at, jitter); w > jitter || err != nil {
		t.Fatalf("after a Return at 800ms ahead: wait %v, err %v", w, err)
	}
}
