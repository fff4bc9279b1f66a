package concurrency

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func adaptive(t *testing.T, limit int, a Adaptive) *Limiter {
	t.Helper()
	return mustNew(t, Settings{Limit: limit, Adaptive: &a})
}

// feed acquires n permits at once (so the limit counts as used), records
// rtt for each, then releases them.
func feed(t *testing.T, l *Limiter, n int, rtt time.Duration, dropped bool) {
	t.Helper()
	ps := make([]Permit, 0, n)
	for range n {
		p, ok := l.TryAcquire()
		if !ok {
			break
		}
		ps = append(ps, p)
	}
	for _, p := range ps {
		if dropped {
			p.Dropped(rtt)
		} else {
			p.Record(rtt)
		}
	}
	for _, p := range ps {
		p.Release()
	}
}

// R74: invalid adaptive settings are errors from New, never panics.
func TestAdaptive_R74_Settings(t *testing.T) {
	for _, a := range []Adaptive{
		{Min: -1}, {Min: 10, Max: 5}, {Window: -1}, {Window: maxWindow + 1},
		{Low: 0.5}, {Low: 2, High: 1.5}, {Low: 1.5, High: 1000},
	} {
		if _, err := New(Settings{Adaptive: &a}); !errors.Is(err, ErrInvalidSettings) {
			t.Errorf("%+v: err %v, want ErrInvalidSettings", a, err)
		}
	}
	l := mustNew(t, Settings{Adaptive: &Adaptive{}})
	if got := l.Snapshot().Limit; got != DefaultInitial {
		t.Errorf("initial limit %d, want %d", got, DefaultInitial)
	}
	l = mustNew(t, Settings{Limit: 1, Adaptive: &Adaptive{Min: 8}})
	if got := l.Snapshot().Limit; got != 8 {
		t.Errorf("limit under Min: %d, want 8", got)
	}
}

// R74: latency well over the baseline shrinks the limit, at most by half
// a window; latency at the baseline grows a limit in use; a limit not in
// use does not grow; OnLimit is told outside the lock.
func TestAdaptive_R74_Steps(t *testing.T) {
	var seen [][2]int
	var l *Limiter
	l = adaptive(t, 40, Adaptive{Window: 10, OnLimit: func(from, to int) {
		_ = l.Snapshot() // would deadlock under the lock
		seen = append(seen, [2]int{from, to})
	}})
	feed(t, l, 40, 20*time.Millisecond, false) // baseline; in use; ratio 1: grows by half
	if got := l.Snapshot().Limit; got != 60 {
		t.Fatalf("after a fast window in use: limit %d, want 60", got)
	}
	feed(t, l, 60, 28*time.Millisecond, false) // ratio 1.4: grows by an eighth
	if got := l.Snapshot().Limit; got != 67 {
		t.Fatalf("after a window at 1.4x the baseline: limit %d, want 67", got)
	}
	feed(t, l, 67, 200*time.Millisecond, false) // ratio 10: halved at most
	if got := l.Snapshot().Limit; got != 33 {
		t.Fatalf("after a window at 10x the baseline: limit %d, want 33", got)
	}
	feed(t, l, 33, 35*time.Millisecond, false) // ratio 1.75: holds
	if got := l.Snapshot().Limit; got != 33 {
		t.Fatalf("inside the band: limit %d, want 33", got)
	}
	// Ten calls at a time never use a limit of 33: it does not grow.
	for range 5 {
		feed(t, l, 10, 20*time.Millisecond, false)
	}
	if got := l.Snapshot().Limit; got != 33 {
		t.Fatalf("unused limit grew to %d", got)
	}
	if len(seen) != 3 || seen[0] != [2]int{40, 60} || seen[1] != [2]int{60, 67} || seen[2] != [2]int{67, 33} {
		t.Errorf("OnLimit saw %v", seen)
	}
}

// R74: a sample counts once, and only under the limit its permit was
// granted under; a fixed limiter ignores samples.
func TestAdaptive_R74_SamplesCountOnce(t *testing.T) {
	l := adaptive(t, 20, Adaptive{Window: 10})
	old, _ := l.TryAcquire()
	feed(t, l, 19, 20*time.Millisecond, false) // a window: 19 samples >= 10
	before := l.Snapshot().Limit
	old.Record(time.Hour) // granted before the change: ignored
	old.Record(time.Hour)
	old.Release()
	p, _ := l.TryAcquire()
	for range 20 {
		p.Record(time.Hour) // once only
	}
	p.Release()
	if got := l.Snapshot().Limit; got != before || len(l.ad.samples) != 1 {
		t.Errorf("limit %d (was %d), %d samples in the window; want one sample, no change", got, before, len(l.ad.samples))
	}
	f := mustNew(t, Settings{Limit: 3})
	q, _ := f.Acquire(context.Background())
	q.Record(time.Hour)
	q.Dropped(time.Hour)
	q.Release()
	if f.Snapshot().Limit != 3 {
		t.Error("a fixed limit moved")
	}
	Permit{}.Record(time.Second) // the zero Permit records nothing
}

// R74: many calls shed by the upstream shrink the limit even when they
// were answered fast.
func TestAdaptive_R74_DropsShrink(t *testing.T) {
	l := adaptive(t, 40, Adaptive{Window: 10})
	feed(t, l, 40, 20*time.Millisecond, false)
	from := l.Snapshot().Limit
	feed(t, l, from, 20*time.Millisecond, true)
	if got := l.Snapshot().Limit; got > from*3/4 {
		t.Errorf("after a window of fast drops: limit %d, want <= %d", got, from*3/4)
	}
}

// R74: a deep cut that does not lower the latency shows the latency is
// the upstream's own pace: it becomes the baseline at once, and the limit
// grows again.
func TestAdaptive_R74_BaselineFollowsAFutileCut(t *testing.T) {
	l := adaptive(t, 40, Adaptive{Window: 4})
	feed(t, l, 40, 20*time.Millisecond, false) // baseline 20ms; grows to 60
	feed(t, l, 60, 400*time.Millisecond, false)
	if got := l.Snapshot().Limit; got != 30 {
		t.Fatalf("after a window at 20x: limit %d, want 30 (halved)", got)
	}
	feed(t, l, 30, 400*time.Millisecond, false) // the cut changed nothing
	if l.ad.base != 400*time.Millisecond {
		t.Errorf("baseline %v after a futile cut, want 400ms", l.ad.base)
	}
	if got := l.Snapshot().Limit; got <= 30 {
		t.Errorf("limit %d: did not grow once the baseline moved", got)
	}
	// A cut that does lower the latency (a queue) leaves the baseline.
	q := adaptive(t, 40, Adaptive{Window: 4})
	feed(t, q, 40, 20*time.Millisecond, false)
	feed(t, q, 60, 100*time.Millisecond, false) // cut to 30
	feed(t, q, 30, 40*time.Millisecond, false)
	if q.ad.base > 25*time.Millisecond {
		t.Errorf("baseline %v after a cut that halved the latency, want about 20ms", q.ad.base)
	}
}

// R74: an upstream that stays slow at the least limit is slow of itself:
// the baseline moves to its latency in steps and the limit grows again.
func TestAdaptive_R74_BaselineFollowsAtMin(t *testing.T) {
	l := adaptive(t, 4, Adaptive{Min: 4, Window: 4})
	feed(t, l, 4, 20*time.Millisecond, false)
	for range 40 {
		feed(t, l, 4, 400*time.Millisecond, false)
	}
	if l.ad.base < 250*time.Millisecond { // 400ms / Low, less the last step
		t.Errorf("baseline %v after 40 windows at 400ms and Min", l.ad.base)
	}
	if got := l.Snapshot().Limit; got <= 4 {
		t.Errorf("limit %d: never grew once the baseline moved", got)
	}
}

// R74: SetLimit on an adaptive limiter is kept within Min and Max and
// starts a new window.
func TestAdaptive_R74_SetLimit(t *testing.T) {
	l := adaptive(t, 20, Adaptive{Min: 5, Max: 50})
	l.SetLimit(1000)
	if got := l.Snapshot().Limit; got != 50 {
		t.Errorf("SetLimit(1000): %d, want Max 50", got)
	}
	l.SetLimit(1)
	if got := l.Snapshot().Limit; got != 5 {
		t.Errorf("SetLimit(1): %d, want Min 5", got)
	}
}

// R73: ReleaseAfter gives the slot back at its bound unless released
// before; a queued caller gets it then; a later call replaces the bound.
func TestLimiter_R73_ReleaseAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := mustNew(t, Settings{Limit: 1, Queue: 1})
		p, _ := l.TryAcquire()
		p.ReleaseAfter(time.Hour)
		p.ReleaseAfter(100 * time.Millisecond) // replaces the hour
		start := time.Now()
		q, err := l.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited != 100*time.Millisecond {
			t.Errorf("queued caller admitted after %v, want 100ms", waited)
		}
		p.Release() // after the timer: a no-op
		if s := l.Snapshot(); s.InFlight != 1 {
			t.Errorf("in flight %d, want 1 (q's)", s.InFlight)
		}
		q.ReleaseAfter(time.Second)
		q.Release() // before the timer: it must not release again
		r, _ := l.TryAcquire()
		time.Sleep(2 * time.Second)
		if s := l.Snapshot(); s.InFlight != 1 {
			t.Errorf("a stopped timer released another's slot: in flight %d", s.InFlight)
		}
		r.Release()
		Permit{}.ReleaseAfter(time.Second) // the zero Permit holds nothing
	})
}
