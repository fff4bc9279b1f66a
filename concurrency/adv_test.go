package concurrency

import (
	"context"
	"errors"
	"math"
	"os"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"weak"
)

// ---------------------------------------------------------------------------
// Probes that FAIL (defects).
// ---------------------------------------------------------------------------

// R73: waiters that leave the queue by cancel or timeout are unreachable
// once gone: a burst of abandoned waiters pins no memory.
func TestAdv_R73_AbandonedWaitersUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 64
		l := mustNew(t, Settings{Limit: 1, Queue: n, MaxWait: time.Second})
		p, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if _, err := l.Acquire(context.Background()); !errors.Is(err, ErrLimited) {
					t.Errorf("queued waiter: %v, want ErrLimited at MaxWait", err)
				}
			})
		}
		synctest.Wait()
		l.mu.Lock()
		ws := make([]weak.Pointer[waiter], 0, l.waiters.Len())
		for e := l.waiters.Front(); e != nil; e = e.Next() {
			ws = append(ws, weak.Make(e.Value.(*waiter)))
		}
		l.mu.Unlock()
		if len(ws) != n {
			t.Fatalf("queued %d, want %d", len(ws), n)
		}
		wg.Wait() // all time out at MaxWait and leave the queue
		if s := l.Snapshot(); s.Queued != 0 || s.InFlight != 1 {
			t.Fatalf("snapshot %+v", s)
		}
		runtime.GC()
		runtime.GC()
		alive := 0
		for _, w := range ws {
			if w.Value() != nil {
				alive++
			}
		}
		if alive != 0 {
			t.Errorf("%d of %d abandoned waiters are still reachable", alive, n)
		}
		p.Release()
	})
}

// R73: after a burst fills a huge queue and every waiter leaves by cancel,
// the queue holds nothing.
func TestAdv_R73_BurstLeavesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 4096
		l := mustNew(t, Settings{Limit: 1, Queue: n})
		p, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				if _, err := l.Acquire(ctx); !errors.Is(err, context.Canceled) {
					t.Errorf("queued waiter: %v, want context.Canceled", err)
				}
			})
		}
		synctest.Wait()
		if s := l.Snapshot(); s.Queued != n {
			t.Fatalf("queued %d, want %d", s.Queued, n)
		}
		cancel()
		wg.Wait()
		p.Release()
		l.mu.Lock()
		c := l.waiters.Len()
		l.mu.Unlock()
		if c != 0 {
			t.Errorf("the queue still holds %d waiters after the burst left (burst was %d)", c, n)
		}
	})
}

// time.Until(dl) - MinLeft overflows: a deadline far in the past saturates
// time.Until to math.MinInt64, and subtracting a positive MinLeft wraps to
// a huge positive bound, so a caller long past its bound is QUEUED (with an
// effectively infinite wait) instead of being refused at once.
func TestAdv_R73_PastDeadlineMinLeftOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 1, Queue: 1, MinLeft: time.Nanosecond})
		p, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx := pastDeadlineCtx{context.Background(), time.Time{}} // deadline long gone
		done := make(chan error, 1)
		go func() {
			q, err := l.Acquire(ctx)
			q.Release()
			done <- err
		}()
		synctest.Wait()
		select {
		case err := <-done:
			if !errors.Is(err, ErrLimited) {
				t.Errorf("past-deadline caller: %v, want an immediate *LimitedError", err)
			}
		default:
			t.Errorf("caller whose deadline passed long ago was queued (snapshot %+v), want refused at once", l.Snapshot())
			p.Release() // grant it so the goroutine ends
			<-done
			return
		}
		p.Release()
	})
}

// Same overflow with a huge (valid, non-negative) MinLeft and a deadline
// only just past (ctx not yet reporting Err, as happens in real time
// between the deadline and the context's timer firing).
func TestAdv_R73_HugeMinLeftOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 1, Queue: 1, MinLeft: math.MaxInt64})
		p, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx := pastDeadlineCtx{context.Background(), time.Now().Add(-time.Second)}
		done := make(chan error, 1)
		go func() {
			q, err := l.Acquire(ctx)
			q.Release()
			done <- err
		}()
		synctest.Wait()
		select {
		case err := <-done:
			if !errors.Is(err, ErrLimited) {
				t.Errorf("got %v, want an immediate *LimitedError", err)
			}
		default:
			t.Errorf("caller past its bound was queued (snapshot %+v)", l.Snapshot())
			p.Release()
			<-done
			return
		}
		p.Release()
	})
}

// pastDeadlineCtx reports a deadline but is not (yet) done.
type pastDeadlineCtx struct {
	context.Context
	dl time.Time
}

func (c pastDeadlineCtx) Deadline() (time.Time, bool) { return c.dl, true }

// ---------------------------------------------------------------------------
// Probes that HOLD (kept as regression tests).
// ---------------------------------------------------------------------------

// A waiter granted at the very instant its MaxWait timer fires: whichever
// select case wins, the slot must end up held by exactly one caller (or be
// handed to the next waiter), never leaked or double-counted.
func TestAdv_R73_GrantRacesTimeout(t *testing.T) {
	for i := range 300 {
		synctest.Test(t, func(t *testing.T) {
			const wait = time.Second
			l := mustNew(t, Settings{Limit: 1, Queue: 2, MaxWait: wait})
			p, err := l.Acquire(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			type res struct {
				p   Permit
				err error
			}
			a, b := make(chan res, 1), make(chan res, 1)
			go func() { q, err := l.Acquire(context.Background()); a <- res{q, err} }()
			synctest.Wait()
			time.Sleep(wait / 2)
			go func() { q, err := l.Acquire(context.Background()); b <- res{q, err} }()
			synctest.Wait()
			time.Sleep(wait / 2) // exactly when A's timer fires
			p.Release()
			ra := <-a
			synctest.Wait()
			held := 0
			if ra.err == nil {
				held++
			}
			var rb res
			select {
			case rb = <-b:
			default:
				// B still queued: only possible if A kept the slot.
				if ra.err != nil {
					t.Fatalf("iter %d: A refused (%v) yet B not granted: slot leaked, %+v", i, ra.err, l.Snapshot())
				}
				ra.p.Release()
				rb = <-b
				held = 0
			}
			if rb.err == nil {
				held++
			}
			if s := l.Snapshot(); s.InFlight != held || s.Queued != 0 {
				t.Fatalf("iter %d: snapshot %+v, %d permits held (A %v, B %v)", i, s, held, ra.err, rb.err)
			}
			ra.p.Release()
			rb.p.Release()
			if s := l.Snapshot(); s.InFlight != 0 {
				t.Fatalf("iter %d: after all releases %+v", i, s)
			}
		})
	}
}

// A grant racing ctx cancellation: slot handed on, never leaked.
func TestAdv_R73_GrantRacesCancel(t *testing.T) {
	for i := range 300 {
		synctest.Test(t, func(t *testing.T) {
			l := mustNew(t, Settings{Limit: 1, Queue: 2})
			p, _ := l.Acquire(context.Background())
			ctx, cancel := context.WithCancel(context.Background())
			a := make(chan error, 1)
			var pa Permit
			go func() { var err error; pa, err = l.Acquire(ctx); a <- err }()
			synctest.Wait()
			b := make(chan Permit, 1)
			go func() {
				q, err := l.Acquire(context.Background())
				if err != nil {
					t.Error(err)
				}
				b <- q
			}()
			synctest.Wait()
			var wg sync.WaitGroup
			wg.Go(cancel)
			wg.Go(p.Release)
			wg.Wait()
			errA := <-a
			if errA == nil {
				pa.Release()
			}
			pb := <-b
			if s := l.Snapshot(); s.InFlight != 1 || s.Queued != 0 {
				t.Fatalf("iter %d: %+v (A %v)", i, s, errA)
			}
			pb.Release()
			if s := l.Snapshot(); s.InFlight != 0 {
				t.Fatalf("iter %d: %+v", i, s)
			}
		})
	}
}

// Copies of one Permit released concurrently free one slot; Release
// concurrent with SetLimit going down and up keeps the books straight.
func TestAdv_R73_ConcurrentReleaseCopiesAndSetLimit(t *testing.T) {
	l := mustNew(t, Settings{Limit: 8, Queue: 64})
	var ps []Permit
	for range 8 {
		p, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	var wg sync.WaitGroup
	for _, p := range ps {
		c1, c2, c3 := p, p, p
		wg.Go(c1.Release)
		wg.Go(c2.Release)
		wg.Go(c3.Release)
	}
	for n := range 20 {
		wg.Go(func() { l.SetLimit(n % 5) })
	}
	wg.Wait()
	l.SetLimit(8)
	if s := l.Snapshot(); s.InFlight != 0 || s.Limit != 8 {
		t.Fatalf("%+v", s)
	}
}

// Lowering below in flight admits nobody until under it; raising admits
// queued callers at once, in order.
func TestAdv_R73_LowerThenRaise(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 3, Queue: 3})
		var held []Permit
		for range 3 {
			p, _ := l.Acquire(context.Background())
			held = append(held, p)
		}
		l.SetLimit(1)
		got := make(chan int, 3)
		for i := range 3 {
			go func() {
				p, err := l.Acquire(context.Background())
				if err != nil {
					t.Error(err)
				}
				got <- i
				_ = p
			}()
			synctest.Wait()
		}
		held[0].Release()
		held[1].Release()
		synctest.Wait()
		if s := l.Snapshot(); s.InFlight != 1 || s.Queued != 3 {
			t.Fatalf("after lowering to 1 and two releases: %+v", s)
		}
		l.SetLimit(3)
		synctest.Wait()
		if s := l.Snapshot(); s.InFlight != 3 || s.Queued != 1 {
			t.Fatalf("after raising to 3: %+v", s)
		}
		// Waiters 0 and 1 were admitted together; their sends may race.
		if a, b := <-got, <-got; a+b != 1 || a*b != 0 {
			t.Errorf("admitted %d,%d, want 0 and 1", a, b)
		}
		held[2].Release()
		if w := <-got; w != 2 {
			t.Errorf("last admitted %d, want 2", w)
		}
	})
}

// Cancelled ctx, deadline past, deadline within MinLeft: all refused at
// once; MaxWait with no deadline bounds the wait; a deadline bounds it to
// deadline-MinLeft exactly.
func TestAdv_R73_Bounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 1, Queue: 4, MaxWait: time.Minute, MinLeft: time.Second})
		p, _ := l.Acquire(context.Background())
		c, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := l.Acquire(c); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled: %v", err)
		}
		d, cancel2 := context.WithTimeout(context.Background(), time.Second)
		defer cancel2()
		if _, err := l.Acquire(d); !errors.Is(err, ErrLimited) {
			t.Errorf("within MinLeft: %v", err)
		}
		start := time.Now()
		if _, err := l.Acquire(context.Background()); !errors.Is(err, ErrLimited) || time.Since(start) != time.Minute {
			t.Errorf("MaxWait, no deadline: %v after %v", err, time.Since(start))
		}
		e, cancel3 := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel3()
		start = time.Now()
		if _, err := l.Acquire(e); !errors.Is(err, ErrLimited) || time.Since(start) != 9*time.Second {
			t.Errorf("deadline-MinLeft: %v after %v", err, time.Since(start))
		}
		p.Release()
		if s := l.Snapshot(); s.InFlight != 0 || s.Queued != 0 || s.Rejected != 3 {
			t.Errorf("%+v", s)
		}
	})
}

// A newcomer never jumps waiters, even at the instant a slot is freed.
func TestAdv_R73_NoQueueJumping(t *testing.T) {
	for range 100 {
		synctest.Test(t, func(t *testing.T) {
			l := mustNew(t, Settings{Limit: 1, Queue: 4})
			p, _ := l.Acquire(context.Background())
			first := make(chan Permit, 1)
			go func() { q, _ := l.Acquire(context.Background()); first <- q }()
			synctest.Wait()
			newcomer := make(chan error, 1)
			var wg sync.WaitGroup
			wg.Go(p.Release)
			var np Permit
			wg.Go(func() { var err error; np, err = l.Acquire(context.Background()); newcomer <- err })
			synctest.Wait()
			select {
			case err := <-newcomer:
				if err == nil {
					t.Fatal("newcomer got a slot ahead of a waiter")
				}
			default:
			}
			q := <-first
			q.Release()
			wg.Wait()
			np.Release()
			if s := l.Snapshot(); s.InFlight != 0 || s.Queued != 0 {
				t.Fatalf("%+v", s)
			}
		})
	}
}

// Steady churn through a queue must not grow the backing array.
func TestAdv_R73_SteadyChurnBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 1, Queue: 2})
		p, _ := l.Acquire(context.Background())
		maxCap := 0
		for range 10000 {
			ch := make(chan Permit, 1)
			go func() { q, _ := l.Acquire(context.Background()); ch <- q }()
			synctest.Wait()
			p.Release()
			p = <-ch
			l.mu.Lock()
			maxCap = max(maxCap, l.waiters.Len())
			l.mu.Unlock()
		}
		p.Release()
		if maxCap > 1 {
			t.Errorf("the queue held %d under churn with one waiter at a time", maxCap)
		}
	})
}

// R73: leaving the queue is O(1) under l.mu: when a huge queue's waiters
// all leave at once (a cancelled parent ctx, a shared deadline), eight
// times the waiters cost about eight times as long, not ~64 times.
// Timing-based, so it runs only with CONCURRENCY_TIMING set (a shared
// machine's noise must not fail make test).
func TestAdv_R73_MassAbandonIsLinear(t *testing.T) {
	if testing.Short() || os.Getenv("CONCURRENCY_TIMING") == "" {
		t.Skip("timing probe")
	}
	drain := func(n int) time.Duration {
		l := mustNew(t, Settings{Limit: 1, Queue: n})
		p, _ := l.Acquire(context.Background())
		defer p.Release()
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { l.Acquire(ctx) })
		}
		for l.Snapshot().Queued != n {
			runtime.Gosched()
		}
		start := time.Now()
		cancel()
		wg.Wait()
		return time.Since(start)
	}
	small, big := drain(4000), drain(32000)
	if ratio := float64(big) / float64(small); ratio > 24 {
		t.Errorf("8x the waiters took %.0fx as long to leave (%v vs %v): quadratic removal", ratio, big, small)
	}
}
