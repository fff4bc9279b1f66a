package ratelimit

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// R68: Wait with no deadline passes maxWait MaxInt64: waiters queue, each
// slot one interval after the last. With a slow limit (1 per 1000h) the
// queue reaches the limiter's horizon after about 1281 waiters: from then
// on waiters are refused (never admitted at once by an overflow), and
// the waits never go backwards.
func TestAdv_R68_QueuedWaitsOverflowTAT(t *testing.T) {
	ctx := context.Background()
	l := mustNew(t, Limit{Rate: 1, Per: 1000 * time.Hour})
	t0 := time.Now()
	prev := time.Duration(-1)
	admitted := 0
	for range 3000 {
		w, err := l.Take(ctx, t0, math.MaxInt64)
		if err != nil {
			var le *LimitedError
			if !errors.As(err, &le) || le.RetryAfter < prev {
				t.Fatalf("after %d waiters: %v (the last wait was %v)", admitted, err, prev)
			}
			continue
		}
		if w < prev {
			t.Fatalf("waiter %d: wait %v after a waiter that got %v: TAT wrapped around", admitted, w, prev)
		}
		prev = w
		admitted++
	}
	if admitted < 1000 || admitted == 3000 {
		t.Errorf("%d of 3000 waiters queued; want the queue cut at the horizon", admitted)
	}
	if w, err := l.Take(ctx, t0, 0); err == nil {
		t.Fatalf("after the queue, a fail-fast Take at the same instant was admitted (wait %v)", w)
	}
}

// R68: a Per past MaxPer is refused by New; at MaxPer, one event per
// period, whatever the time passed in.
func TestAdv_R68_HugePerOverflow(t *testing.T) {
	ctx := context.Background()
	if _, err := New(Limit{Rate: 1, Per: math.MaxInt64}); !errors.Is(err, ErrInvalidLimit) {
		t.Fatalf("Per MaxInt64: %v, want ErrInvalidLimit", err)
	}
	l := mustNew(t, Limit{Rate: 1, Per: MaxPer})
	now := time.Now().Add(time.Second)
	n := 0
	for range 5 {
		if _, err := l.Take(ctx, now, 0); err == nil {
			n++
		}
	}
	if n != 1 {
		t.Errorf("Rate 1 per MaxPer: %d events admitted at one instant, want 1", n)
	}
}

// R68: the largest limits are exact: Rate = Burst = 2^50 per MaxPer
// (interval 32ns, tolerance near MaxPer) does not overflow.
func TestAdv_R68_HugeRateAndBurst(t *testing.T) {
	ctx := context.Background()
	l := mustNew(t, Limit{Rate: 1 << 50, Per: MaxPer, Burst: 1 << 50})
	t0 := time.Now()
	for _, at := range []time.Time{t0, t0.Add(-time.Hour), t0.Add(time.Hour)} {
		for range 1000 {
			if w, err := l.Take(ctx, at, 0); err != nil || w != 0 {
				t.Fatalf("huge burst refused: %v %v", w, err)
			}
		}
	}
}

// R68: a zero time.Time (an uninitialised now) saturates since() at
// MinInt64; start-tolerance-t then overflows, so a busy limiter admits it
// at once, as often as asked (while an idle one refuses it for 146 years).
func TestAdv_R68_ZeroTimeBypassesBusyLimiter(t *testing.T) {
	ctx := context.Background()
	l := mustNew(t, Limit{Rate: 10})
	t0 := time.Now()
	if _, err := l.Take(ctx, t0, 0); err != nil {
		t.Fatal(err)
	}
	n := 0
	for range 100 {
		if _, err := l.Take(ctx, time.Time{}, 0); err == nil {
			n++
		}
	}
	if n != 0 {
		t.Errorf("a busy limiter (burst 1, spent) admitted %d events at time.Time{}", n)
	}
}

// R68: Return storms never bank past the burst, busy or idle.
func TestAdv_R68_ReturnStorm(t *testing.T) {
	ctx := context.Background()
	l := mustNew(t, Limit{Rate: 100, Burst: 5})
	t0 := time.Now()
	for range 5 {
		if _, err := l.Take(ctx, t0, 0); err != nil {
			t.Fatal(err)
		}
	}
	for range 1_000_000 {
		l.Return(t0)
	}
	n := 0
	for range 100 {
		if _, err := l.Take(ctx, t0, 0); err == nil {
			n++
		}
	}
	if n != 5 {
		t.Errorf("after 1e6 Returns, %d admitted at once; want the burst, 5", n)
	}
}

// R68: concurrent Take/Return (run with -race): what is kept never exceeds
// the bound at one instant.
func TestAdv_R68_ConcurrentTakeReturn(t *testing.T) {
	ctx := context.Background()
	l := mustNew(t, Limit{Rate: 1000, Burst: 20})
	t0 := time.Now()
	var kept atomic.Int64
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				if _, err := l.Take(ctx, t0, 0); err == nil {
					if (g+i)%2 == 0 {
						l.Return(t0)
					} else {
						kept.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	if k := kept.Load(); k > 20 {
		t.Errorf("%d events kept at one instant, burst 20", k)
	}
}

// R68: a now without a monotonic reading (Round(0)) is measured by the
// wall clock; mixing both on one limiter must still count right when the
// wall clock does not jump.
func TestAdv_R68_WallClockNow(t *testing.T) {
	ctx := context.Background()
	l := mustNew(t, Limit{Rate: 10, Burst: 2})
	now := time.Now()
	for _, at := range []time.Time{now, now.Round(0)} {
		_, _ = l.Take(ctx, at, 0)
	}
	if _, err := l.Take(ctx, now.Round(0), 0); err == nil {
		t.Error("a third event at once, burst 2")
	}
}

type fixedGate struct {
	wait    time.Duration
	returns atomic.Int64
}

func (g *fixedGate) Take(context.Context, time.Time, time.Duration) (time.Duration, error) {
	return g.wait, nil
}
func (g *fixedGate) Return(time.Time) { g.returns.Add(1) }

// R68: WaitGate waits at most maxWait "for any Gate", but trusts the
// Gate's wait: a Gate answering an hour to maxWait 1s makes it sleep an
// hour. (httpclient's safeTake clamps; WaitGate does not.)
func TestAdv_R68_WaitGateTrustsGateWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &fixedGate{wait: time.Hour}
		start := time.Now()
		err := WaitGate(context.Background(), g, time.Second)
		if d := time.Since(start); d > time.Second {
			t.Errorf("WaitGate(maxWait 1s) slept %v (err %v)", d, err)
		}
	})
}

// R68: with a deadline, a Gate answering past it makes WaitGate sleep to
// the deadline and fail there, instead of refusing at once.
func TestAdv_R68_WaitGateGatePastDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &fixedGate{wait: time.Hour}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		err := WaitGate(ctx, g, -1)
		if d := time.Since(start); d != 0 {
			t.Errorf("WaitGate slept %v and returned %v; want a refusal at once", d, err)
		}
	})
}

// R68: negative waits from a Gate, cancelled and expired contexts.
func TestAdv_R68_WaitGateOddInputs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &fixedGate{wait: -time.Hour}
		if err := WaitGate(context.Background(), g, time.Second); err != nil {
			t.Errorf("negative wait: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := WaitGate(ctx, mustNew(t, Limit{Rate: 1}), -1); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v", err)
		}
		dctx, dcancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer dcancel()
		if err := WaitGate(dctx, mustNew(t, Limit{Rate: 1}), -1); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("past deadline: %v", err)
		}
	})
}

// R68: "an event whose wait would end after the deadline is refused at
// once". A wait ending exactly at the deadline is admitted, then the timer
// and ctx.Done race: the caller sleeps the whole wait and gets
// DeadlineExceeded (or nil with no time left to use the event).
func TestAdv_R68_WaitEndingAtDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bad := 0
		for range 50 {
			l := mustNew(t, Limit{Rate: 10})
			if err := l.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			start := time.Now()
			err := l.Wait(ctx)
			if err != nil && time.Since(start) != 0 {
				bad++
			}
			cancel()
		}
		if bad > 0 {
			t.Errorf("%d of 50 waits ending exactly at the deadline slept 100ms and then failed", bad)
		}
	})
}
