package breaker

import (
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// R22: OnStateChange runs outside the lock: a callback that calls back into
// the Breaker (Snapshot, State, Allow, Done, even Reset) does not deadlock.
func TestR22CallbackOutsideLock(t *testing.T) {
	done := make(chan struct{})
	var got []Snapshot
	var b *Breaker
	b = mustNew(t, Settings{
		FailureThreshold: 1,
		Recovery:         time.Hour,
		OnStateChange: func(c Change) {
			got = append(got, b.Snapshot())
			_ = b.State()
			if tk, err := b.Allow(); err == nil {
				tk.Done(Ignore)
			}
		},
	})
	go func() {
		defer close(done)
		fail(t, b, 1)
		b.Trip(time.Now().Add(time.Hour))
		b.Reset()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: a callback calling back into the Breaker never returned")
	}
	if len(got) != 3 {
		t.Fatalf("callback saw %d changes, want 3", len(got))
	}
	if got[1].State != Open || got[2].State != Closed {
		t.Fatalf("callback snapshots %+v", got)
	}
}

// R22: a change made inside a callback is delivered after that callback
// returns, in order, never re-entrantly.
func TestR22ChangeFromCallbackDeliveredInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			b     *Breaker
			seen  []Change
			depth int
		)
		b = mustNew(t, Settings{
			FailureThreshold: 1,
			OnStateChange: func(c Change) {
				depth++
				defer func() { depth-- }()
				if depth > 1 {
					t.Errorf("re-entrant delivery of %+v", c)
				}
				seen = append(seen, c)
				if c.Cause == CauseFailures {
					b.Reset()
					if len(seen) != 1 {
						t.Errorf("Reset's change delivered inside the callback")
					}
				}
			},
		})
		fail(t, b, 1)
		checkChain(t, seen, 1, Closed)
		if len(seen) != 2 || seen[1].Cause != CauseReset {
			t.Fatalf("changes %+v", seen)
		}
	})
}

// R22: every field of every Change, in order, through a full cycle.
func TestR22ChangesInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second, ProbeTimeout: 2 * time.Second, OnStateChange: rec.record})
		t0 := time.Now()
		fail(t, b, 1)
		time.Sleep(10 * time.Second)
		admit(t, b).Done(Failure) // at t0+10s
		time.Sleep(10 * time.Second)
		admit(t, b) // at t0+20s; stuck until t0+22s
		time.Sleep(2 * time.Second)
		refuse(t, b)
		time.Sleep(10 * time.Second)
		admit(t, b).Done(Success) // at t0+32s
		s := func(d time.Duration) time.Time { return t0.Add(d * time.Second) }
		want := []Change{
			{Closed, Open, 2, s(0), s(10), CauseFailures},
			{Open, HalfOpen, 3, s(10), time.Time{}, CauseRecovery},
			{HalfOpen, Open, 4, s(10), s(20), CauseProbeFailure},
			{Open, HalfOpen, 5, s(20), time.Time{}, CauseRecovery},
			{HalfOpen, Open, 6, s(22), s(32), CauseProbeTimeout},
			{Open, HalfOpen, 7, s(32), time.Time{}, CauseRecovery},
			{HalfOpen, Closed, 8, s(32), time.Time{}, CauseProbeSuccess},
		}
		got := rec.get()
		if len(got) != len(want) {
			t.Fatalf("got %d changes %+v, want %d", len(got), got, len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.From != w.From || g.To != w.To || g.Generation != w.Generation ||
				!g.At.Equal(w.At) || !g.Until.Equal(w.Until) || g.Cause != w.Cause {
				t.Errorf("change %d = %+v, want %+v", i, g, w)
			}
		}
	})
}

// R22: a panicking OnStateChange is recovered, reported to OnPanic, and
// breaks neither Allow nor Done nor later notifications.
func TestR22PanickingCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var panics []any
		calls := 0
		b := mustNew(t, Settings{
			FailureThreshold: 1,
			Recovery:         time.Second,
			OnStateChange:    func(Change) { calls++; panic("boom") },
			OnPanic:          func(v any) { panics = append(panics, v) },
		})
		fail(t, b, 1)
		refuse(t, b)
		time.Sleep(time.Second)
		admit(t, b).Done(Success)
		wantState(t, b, Closed, 4)
		if calls != 3 || len(panics) != 3 || panics[0] != "boom" {
			t.Fatalf("calls %d, panics %v; want 3 and 3", calls, panics)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// Without OnPanic, and with an OnPanic that panics itself.
		for _, onPanic := range []func(any){nil, func(any) { panic("again") }} {
			b := mustNew(t, Settings{FailureThreshold: 1, OnStateChange: func(Change) { panic(nil) }, OnPanic: onPanic})
			fail(t, b, 1)
			b.Reset()
			admit(t, b).Done(Success)
			wantState(t, b, Closed, 3)
		}
	})
}

// R22: a callback that ends its goroutine (runtime.Goexit, as t.FailNow does)
// loses no notification: the next change delivers what was left.
func TestR22CallbackGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			mu   sync.Mutex
			seen []Change
		)
		var b *Breaker
		b = mustNew(t, Settings{
			FailureThreshold: 1,
			OnStateChange: func(c Change) {
				mu.Lock()
				seen = append(seen, c)
				mu.Unlock()
				if c.Cause == CauseFailures {
					b.Trip(time.Now().Add(time.Hour)) // queued behind this one
					runtime.Goexit()
				}
			},
		})
		var wg sync.WaitGroup
		wg.Go(func() { fail(t, b, 1) })
		wg.Wait()
		b.Reset()
		mu.Lock()
		defer mu.Unlock()
		checkChain(t, seen, 1, Closed)
		if len(seen) != 3 {
			t.Fatalf("changes %+v, want 3", seen)
		}
	})
}
