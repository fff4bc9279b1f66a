package concurrency

// Adversarial review of the adaptive limit (R74) and the limiter's permits
// (R73). The tests under "Defects" caught defects the review found, fixed
// since; all are regression tests now.

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// advBounds fails unless l's limit is within [lo, hi] and its counts sane.
func advBounds(t *testing.T, l *Limiter, lo, hi int, what string) Snapshot {
	t.Helper()
	s := l.Snapshot()
	if s.Limit < lo || s.Limit > hi || s.Limit < 1 || s.InFlight < 0 || s.Queued < 0 || s.Queued > l.s.Queue {
		t.Fatalf("%s: %+v, want a limit within [%d, %d]", what, s, lo, hi)
	}
	return s
}

// ---------------------------------------------------------------------------
// Defects (found by the review, fixed since)
// ---------------------------------------------------------------------------

// R73: ReleaseAfter on a permit already released bounds nothing: 20,000
// such calls leave the list of bounds empty and no reaper armed.
func TestAdvLimiter_R73_ReleaseAfterAfterReleaseArmsNoTimer(t *testing.T) {
	l := mustNew(t, Settings{Limit: 1})
	for range 20000 {
		q, _ := l.TryAcquire()
		q.Release()
		q.ReleaseAfter(time.Hour)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.expHead != nil || l.expTail != nil || !l.reaperAt.IsZero() {
		t.Errorf("released permits left bounds: head %p, tail %p, reaper at %v", l.expHead, l.expTail, l.reaperAt)
	}
}

// R73: bounds out of order are each kept: the list stays sorted, each
// permit is released at its own deadline, and a Release takes its bound
// out of the list.
func TestAdvLimiter_R73_BoundsOutOfOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 10})
		at := []time.Duration{50, 10, 30, 20, 40} // ms
		ps := make([]Permit, len(at))
		for i, d := range at {
			ps[i], _ = l.TryAcquire()
			ps[i].ReleaseAfter(d * time.Millisecond)
		}
		ps[3].Release() // the 20ms one, by hand
		start := time.Now()
		for _, want := range []int{3, 3, 2, 1, 0} { // at 10, 20, 30, 40 and 50ms
			time.Sleep(10 * time.Millisecond)
			synctest.Wait()
			if got := l.Snapshot().InFlight; got != want {
				t.Fatalf("at %v: %d in flight, want %d", time.Since(start), got, want)
			}
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.expHead != nil || !l.reaperAt.IsZero() {
			t.Error("bounds left after every permit went")
		}
	})
}

// R74: "A sample counts once per permit and only under the limit its
// permit was granted under." A queued caller's permit takes its epoch
// (and its peak) when its goroutine wakes, not when Release granted it
// the slot: when another permit's Record changes the limit between the
// grant and the wake, the permit granted under the old limit (2) counts
// under the new one (1) and moves it back at once: the change answered by
// a sample of the state it answered. GOMAXPROCS(1) makes the order
// deterministic: the woken waiter runs only once this goroutine blocks.
func TestAdvAdaptive_R74_QueuedPermitEpochIsTheGrantsNotTheWake(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for range 50 {
		l := mustNew(t, Settings{Limit: 2, Queue: 1, Adaptive: &Adaptive{Min: 1, Max: 2, Window: 1}})
		p, _ := l.TryAcquire()
		p.Record(time.Millisecond) // the baseline; the limit holds at 2
		p.Release()
		a, _ := l.TryAcquire()
		b, _ := l.TryAcquire()
		got := make(chan Permit)
		go func() {
			w, err := l.Acquire(context.Background())
			if err != nil {
				t.Error(err)
			}
			got <- w
		}()
		for l.Snapshot().Queued != 1 {
			runtime.Gosched()
		}
		a.Release()         // grants the waiter its slot under limit 2
		b.Record(time.Hour) // a window at 3.6e6x the baseline: limit 2 -> 1
		if s := l.Snapshot(); s.Limit != 1 {
			t.Fatalf("after the slow window: %+v, want limit 1", s)
		}
		w := <-got
		b.Release()
		w.Record(time.Millisecond) // granted under limit 2: must not count under 1
		if s := l.Snapshot(); s.Limit != 1 {
			t.Fatalf("a permit granted under limit 2 counted under limit 1 and moved it to %d", s.Limit)
		}
		w.Release()
	}
}

// ---------------------------------------------------------------------------
// Regression tests
// ---------------------------------------------------------------------------

// R74: hostile latencies (0, negative, MaxInt64, all identical, bimodal,
// nanosecond jitter), drop storms, and SetLimit with absurd values keep the
// limit within [Min, Max], never 0; OnLimit reports only real changes,
// within bounds.
func TestAdvAdaptive_R74_HostileLatenciesStayInBounds(t *testing.T) {
	for _, cfg := range []Adaptive{
		{Min: 1, Max: 1},
		{Min: 1, Max: 3, Window: 1},
		{Min: 4, Max: 1000},
		{Min: 2, Max: math.MaxInt, Window: 256, Low: 1.0000001, High: 100},
		{Min: 1, Max: 50, Window: 1, Low: 1.01, High: 1.02},
	} {
		var bad atomic.Int32
		a := cfg
		a.OnLimit = func(from, to int) {
			if from == to || to < cfg.Min || to > cfg.Max || from < 1 {
				bad.Add(1)
			}
		}
		l := mustNew(t, Settings{Limit: 0, Queue: 4, Adaptive: &a})
		rng := rand.New(rand.NewPCG(1, 2))
		lat := func(i int) time.Duration {
			switch i % 7 {
			case 0:
				return 0
			case 1:
				return -time.Duration(rng.Int64())
			case 2:
				return math.MaxInt64
			case 3:
				return 20 * time.Millisecond
			case 4:
				if rng.IntN(2) == 0 {
					return time.Millisecond
				}
				return time.Minute
			case 5:
				return time.Duration(rng.IntN(3))
			}
			return time.Duration(rng.Int64N(int64(time.Hour)))
		}
		for round := range 400 {
			n := 1 + rng.IntN(70)
			ps := make([]Permit, 0, n)
			for range n {
				if p, ok := l.TryAcquire(); ok {
					ps = append(ps, p)
				}
			}
			for i, p := range ps {
				switch {
				case round%5 == 0: // a drop storm
					p.Dropped(lat(i))
				case i%3 == 0:
					p.Release() // Record after Release counts as well
					p.Record(lat(round + i))
				default:
					p.Record(lat(round + i))
					p.Record(lat(i)) // twice: ignored
				}
				p.Release()
			}
			advBounds(t, l, cfg.Min, cfg.Max, "after a round")
			if round%37 == 0 {
				l.SetLimit([]int{math.MinInt, 0, -1, math.MaxInt, 1 << 62, 7}[round%6])
				advBounds(t, l, cfg.Min, cfg.Max, "after SetLimit")
			}
		}
		if s := advBounds(t, l, cfg.Min, cfg.Max, "at the end"); s.InFlight != 0 || s.Queued != 0 {
			t.Errorf("%+v: %+v at the end", cfg, s)
		}
		if bad.Load() != 0 {
			t.Errorf("%+v: OnLimit reported %d changes out of bounds or of nothing", cfg, bad.Load())
		}
		if len(l.ad.samples) > maxWindow || cap(l.ad.samples) > 2*maxWindow {
			t.Errorf("%+v: the window holds %d samples (cap %d)", cfg, len(l.ad.samples), cap(l.ad.samples))
		}
	}
}

// R74: each permit's first Record or Dropped counts, before or after its
// Release, on any copy; later ones and those of the zero Permit do not.
func TestAdvAdaptive_R74_RecordCountsOncePerPermit(t *testing.T) {
	l := mustNew(t, Settings{Limit: 8, Adaptive: &Adaptive{Window: 100}})
	p, _ := l.TryAcquire()
	cp := p
	p.Release()
	p.Record(time.Millisecond) // after Release: counts
	cp.Record(time.Millisecond)
	cp.Dropped(time.Millisecond)
	q, _ := l.TryAcquire()
	q.Dropped(-time.Second) // negative: never counts, and spends the permit's sample
	q.Record(time.Millisecond)
	q.Release()
	Permit{}.Record(time.Second)
	Permit{}.Dropped(time.Second)
	if n, d := len(l.ad.samples), l.ad.drops; n != 1 || d != 0 {
		t.Errorf("%d samples, %d drops; want 1 sample, 0 drops", n, d)
	}
}

// R74: OnLimit runs outside the lock on the goroutine of the Record that
// moved the limit: it may read, set, acquire and release; a panic in it
// reaches that Record's caller and leaves the limiter usable and unlocked.
func TestAdvAdaptive_R74_OnLimitReentrantAndPanicking(t *testing.T) {
	var l *Limiter
	var calls atomic.Int32
	l = mustNew(t, Settings{Limit: 2, Queue: 2, Adaptive: &Adaptive{Min: 1, Max: 64, Window: 1, OnLimit: func(from, to int) {
		calls.Add(1)
		_ = l.Snapshot()
		if p, ok := l.TryAcquire(); ok {
			defer p.Release()          // a nested OnLimit may panic through Record
			p.Record(time.Microsecond) // a nested window, maybe a nested OnLimit
		}
		l.SetLimit(to)
		if calls.Load()%2 == 0 {
			panic("user OnLimit")
		}
	}}})
	panics := 0
	for range 50 {
		ps := make([]Permit, 0, 64)
		for {
			p, ok := l.TryAcquire()
			if !ok {
				break
			}
			ps = append(ps, p)
		}
		for _, p := range ps {
			func() {
				defer func() {
					if recover() != nil {
						panics++
					}
				}()
				p.Record(time.Microsecond)
			}()
			p.Release()
		}
	}
	if calls.Load() == 0 || panics == 0 {
		t.Fatalf("OnLimit ran %d times, panicked %d: the test proves nothing", calls.Load(), panics)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		p, err := l.Acquire(context.Background())
		if err != nil {
			t.Error(err)
		}
		p.Release()
	}()
	<-done // would hang on a lock a panic left held
	if s := advBounds(t, l, 1, 64, "after panics"); s.InFlight != 0 {
		t.Errorf("%+v", s)
	}
}

// R74 with R73: a limit the algorithm grows admits queued callers at once;
// one it shrinks admits none until the calls in flight are under it.
func TestAdvAdaptive_R74_ChangesDriveTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 4, Queue: 4, Adaptive: &Adaptive{Min: 1, Max: 100, Window: 1}})
		ps := make([]Permit, 4)
		for i := range ps {
			ps[i], _ = l.TryAcquire()
		}
		admitted := make(chan Permit, 4)
		for range 3 {
			go func() {
				p, err := l.Acquire(context.Background())
				if err != nil {
					t.Error(err)
				}
				admitted <- p
			}()
		}
		synctest.Wait()
		// A window of two (half the limit) sets the baseline; the
		// next, in use (callers queued) with nothing queued
		// upstream, grows the limit by half to 6 and admits two.
		ps[0].Record(10 * time.Millisecond)
		ps[1].Record(10 * time.Millisecond)
		if s := l.Snapshot(); s.Limit != 4 {
			t.Fatalf("the first window changed the limit: %+v", s)
		}
		ps[2].Record(10 * time.Millisecond)
		ps[3].Record(10 * time.Millisecond)
		synctest.Wait()
		if s := l.Snapshot(); s.Limit != 6 || s.InFlight != 6 || s.Queued != 1 {
			t.Fatalf("after growth: %+v, want limit 6 with two queued callers admitted", s)
		}
		w1, w2 := <-admitted, <-admitted
		ps[0].Release() // the third queued caller
		w3 := <-admitted
		w1.Record(time.Second) // 100x the baseline: a window of three that halves it
		w2.Record(time.Second)
		w3.Record(time.Second)
		s := l.Snapshot()
		if s.Limit != 3 || s.InFlight != 6 {
			t.Fatalf("after a slow window: %+v, want limit 3 with 6 in flight", s)
		}
		held := append(ps[1:], w1, w2, w3)
		for i, p := range held {
			p.Release()
			if got := l.Snapshot(); got.InFlight != len(held)-i-1 {
				t.Fatalf("%+v", got)
			}
		}
		p, ok := l.TryAcquire()
		q, ok2 := l.TryAcquire()
		r, ok3 := l.TryAcquire()
		if _, ok4 := l.TryAcquire(); !ok || !ok2 || !ok3 || ok4 {
			t.Errorf("under the shrunk limit of 3: took %v %v %v %v", ok, ok2, ok3, ok4)
		}
		p.Release()
		q.Release()
		r.Release()
		if s := l.Snapshot(); s.InFlight != 0 || s.Queued != 0 {
			t.Errorf("%+v at the end", s)
		}
	})
}

// R73, R74: Acquire, TryAcquire, Record, Dropped, Release, ReleaseAfter and
// SetLimit all at once (run with -race): the counts never go negative, the
// queue never exceeds its bound, and everything drains to nothing.
func TestAdvAdaptive_R74_ConcurrentEverything(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 8, Queue: 8, MaxWait: 5 * time.Millisecond,
			Adaptive: &Adaptive{Min: 2, Max: 32, Window: 3}})
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := range 32 {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 7))
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					var p Permit
					var err error
					if i%3 == 0 {
						var ok bool
						if p, ok = l.TryAcquire(); !ok {
							err = ErrLimited
						}
					} else {
						p, err = l.Acquire(context.Background())
					}
					if err != nil {
						if !errors.Is(err, ErrLimited) {
							t.Errorf("Acquire: %v", err)
						}
						time.Sleep(time.Millisecond)
						continue
					}
					time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
					switch rng.IntN(4) {
					case 0:
						p.Dropped(time.Duration(rng.IntN(50)) * time.Millisecond)
					case 1:
						p.Record(time.Duration(rng.IntN(50)) * time.Millisecond)
					}
					if rng.IntN(3) == 0 {
						p.ReleaseAfter(time.Duration(rng.IntN(3)) * time.Millisecond)
						if rng.IntN(2) == 0 {
							go p.Release()
						}
					} else {
						p.Release()
					}
				}
			})
		}
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(3 * time.Millisecond):
				}
				l.SetLimit(i%40 - 4)
				advBounds(t, l, 2, 32, "under load")
			}
		})
		time.Sleep(2 * time.Second)
		close(stop)
		wg.Wait()
		time.Sleep(10 * time.Millisecond) // every ReleaseAfter has fired
		synctest.Wait()
		if s := advBounds(t, l, 2, 32, "at the end"); s.InFlight != 0 || s.Queued != 0 {
			t.Errorf("%+v after everything drained", s)
		}
	})
}

// R73, R74: settings that could overflow or preallocate are refused or
// work: a queue of MaxInt, Max of MaxInt with a start of MaxInt, a window
// of 256 at a huge limit (the window is capped), centuries of MaxWait.
func TestAdvAdaptive_R74_ExtremeSettings(t *testing.T) {
	for _, s := range []Settings{
		{Limit: math.MinInt}, {Limit: 1, Queue: math.MinInt}, {Limit: 1, MaxWait: math.MinInt64},
		{Adaptive: &Adaptive{Window: math.MaxInt}}, {Adaptive: &Adaptive{Min: math.MinInt}},
		{Adaptive: &Adaptive{Low: math.Inf(1)}}, {Adaptive: &Adaptive{Low: 1.5, High: math.NaN()}},
		{Adaptive: &Adaptive{Low: math.Inf(-1)}},
	} {
		if _, err := New(s); !errors.Is(err, ErrInvalidSettings) {
			t.Errorf("%+v: %v, want ErrInvalidSettings", s, err)
		}
	}
	l := mustNew(t, Settings{Limit: math.MaxInt, Queue: math.MaxInt, MaxWait: math.MaxInt64, MinLeft: math.MaxInt64,
		Adaptive: &Adaptive{Min: 1, Max: math.MaxInt, Window: 256}})
	if s := l.Snapshot(); s.Limit != math.MaxInt {
		t.Fatalf("%+v", s)
	}
	for range 10 {
		ps := make([]Permit, 300)
		for i := range ps {
			ps[i], _ = l.TryAcquire()
		}
		for _, p := range ps {
			p.Record(time.Millisecond)
			p.Release()
		}
	}
	advBounds(t, l, 1, math.MaxInt, "MaxInt limit after windows")
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	p, err := l.Acquire(ctx) // a free slot is taken whatever MinLeft says
	if err != nil {
		t.Fatal(err)
	}
	p.Release()
}
