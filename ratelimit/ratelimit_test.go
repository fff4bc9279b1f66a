package ratelimit

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func mustNew(t testing.TB, l Limit) *Limiter {
	t.Helper()
	lim, err := New(l)
	if err != nil {
		t.Fatal(err)
	}
	return lim
}

func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	var le *LimitedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLimited) {
		t.Fatalf("err %v, want a *LimitedError", err)
	}
	return le.RetryAfter
}

// R68: an idle limiter admits Burst events at once, then one every
// Per/Rate; a wait longer than maxWait is refused with when to retry, and
// takes nothing.
func TestLimiter_R68_BurstThenSpaced(t *testing.T) {
	ctx := context.Background()
	l := mustNew(t, Limit{Rate: 10, Burst: 3})
	t0 := time.Now()
	for i := range 3 {
		if w, err := l.Take(ctx, t0, 0); w != 0 || err != nil {
			t.Fatalf("event %d of the burst: wait %v, err %v", i+1, w, err)
		}
	}
	for range 2 { // refusals take nothing
		if ra := retryAfter(t, func() error { _, err := l.Take(ctx, t0, 0); return err }()); ra != 100*time.Millisecond {
			t.Errorf("RetryAfter %v, want 100ms", ra)
		}
	}
	for i, want := range []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond} {
		if w, err := l.Take(ctx, t0, time.Second); w != want || err != nil {
			t.Errorf("waiting event %d: wait %v, err %v; want %v", i+1, w, err, want)
		}
	}
	if _, err := l.Take(ctx, t0, 399*time.Millisecond); retryAfter(t, err) != 400*time.Millisecond {
		t.Errorf("a wait over maxWait: %v", err)
	}
	// 1s later the queue has drained and a full burst is back.
	t1 := t0.Add(300*time.Millisecond + time.Second)
	for i := range 3 {
		if w, err := l.Take(ctx, t1, 0); w != 0 || err != nil {
			t.Fatalf("event %d after the idle spell: wait %v, err %v", i+1, w, err)
		}
	}
}

// R68: over any interval of length d, at most Burst + d/T events are
// admitted, whatever the arrivals; and a steady overload gets the rate.
func TestLimiter_R68_BoundOverAnyInterval(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	l := mustNew(t, Limit{Rate: 100, Burst: 5})
	t0 := time.Now()
	var admitted []time.Duration
	at := time.Duration(0)
	for at < 10*time.Second {
		at += time.Duration(rng.ExpFloat64() * float64(2*time.Millisecond)) // ~500/s offered
		if _, err := l.Take(ctx, t0.Add(at), 0); err == nil {
			admitted = append(admitted, at)
		}
	}
	if n := len(admitted); n < 1000 || n > 1005 {
		t.Errorf("%d admitted over 10s at 100/s with burst 5", n)
	}
	for _, d := range []time.Duration{10 * time.Millisecond, 100 * time.Millisecond, time.Second} {
		lo := 0
		for hi := range admitted {
			for admitted[hi]-admitted[lo] >= d {
				lo++
			}
			if n, most := hi-lo+1, 5+int(d/(10*time.Millisecond)); n > most {
				t.Fatalf("%d events within %v ending at %v, at most %d allowed", n, d, admitted[hi], most)
			}
		}
	}
}

// R68: Return gives an event back: the next one comes an interval sooner,
// but an idle limiter never banks more than its burst.
func TestLimiter_R68_Return(t *testing.T) {
	ctx := context.Background()
	l := mustNew(t, Limit{Rate: 10})
	t0 := time.Now()
	if _, err := l.Take(ctx, t0, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Take(ctx, t0, 0); err == nil {
		t.Fatal("a second event at once with burst 1")
	}
	l.Return(t0)
	if _, err := l.Take(ctx, t0, 0); err != nil {
		t.Fatalf("after Return: %v", err)
	}
	// Returns on an idle limiter bank nothing.
	t1 := t0.Add(time.Hour)
	for range 5 {
		l.Return(t1)
	}
	if _, err := l.Take(ctx, t1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Take(ctx, t1, 0); err == nil {
		t.Error("Returns on an idle limiter banked events past the burst")
	}
}

// R68: concurrent takers at one instant: exactly Burst are admitted at
// once, and waiting takers get distinct slots one interval apart.
func TestLimiter_R68_Concurrent(t *testing.T) {
	ctx := context.Background()
	l := mustNew(t, Limit{Rate: 1000, Burst: 50})
	t0 := time.Now()
	var ok atomic.Int64
	var mu sync.Mutex
	waits := map[time.Duration]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				w, err := l.Take(ctx, t0, time.Second)
				if err != nil {
					t.Error(err)
					return
				}
				if w == 0 {
					ok.Add(1)
				}
				mu.Lock()
				waits[w]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if ok.Load() != 50 {
		t.Errorf("%d admitted at once, want the burst, 50", ok.Load())
	}
	for w, n := range waits {
		if w > 0 && n != 1 {
			t.Errorf("%d takers were given the same slot %v", n, w)
		}
	}
	if len(waits) != 800-50+1 {
		t.Errorf("%d distinct waits, want %d", len(waits), 800-50+1)
	}
}

// R68: Wait sleeps the wait, exactly, and refuses at once a wait that
// would end past ctx's deadline, taking nothing; a wait cut short by ctx
// returns its event.
func TestWait_R68_Deadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Limit{Rate: 10}) // one per 100ms
		ctx := context.Background()
		start := time.Now()
		for range 3 {
			if err := l.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if took := time.Since(start); took != 200*time.Millisecond {
			t.Errorf("three events took %v, want 200ms", took)
		}

		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		at := time.Now()
		err := l.Wait(short)
		if retryAfter(t, err) != 100*time.Millisecond || time.Since(at) != 0 {
			t.Errorf("a wait past the deadline: %v after %v; want a refusal at once", err, time.Since(at))
		}
		// Nothing was taken: the next event is still 100ms away.
		if _, err := l.Take(ctx, time.Now(), 0); retryAfter(t, err) != 100*time.Millisecond {
			t.Errorf("the refusal took an event: %v", err)
		}

		cctx, ccancel := context.WithCancel(ctx)
		go func() {
			time.Sleep(30 * time.Millisecond)
			ccancel()
		}()
		if err := l.Wait(cctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled wait: %v", err)
		}
		// The cancelled waiter's event was returned: the next one is due
		// 70ms later, not 170ms.
		if _, err := l.Take(ctx, time.Now(), 0); retryAfter(t, err) != 70*time.Millisecond {
			t.Errorf("after a cancelled wait: %v", err)
		}
	})
}

// R68: a bad Limit is an error from New, never a panic.
func TestNew_R68_Invalid(t *testing.T) {
	for _, l := range []Limit{
		{}, {Rate: -1}, {Rate: 1, Per: -time.Second}, {Rate: 2, Burst: 3}, {Rate: 1, Burst: -1},
		{Rate: 10, Per: time.Nanosecond},
	} {
		if _, err := New(l); !errors.Is(err, ErrInvalidLimit) {
			t.Errorf("New(%+v) = %v, want ErrInvalidLimit", l, err)
		}
	}
	l := mustNew(t, Limit{Rate: 5})
	if got := l.Limit(); got != (Limit{Rate: 5, Per: time.Second, Burst: 1}) {
		t.Errorf("Limit() = %+v", got)
	}
}
