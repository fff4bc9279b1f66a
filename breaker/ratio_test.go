package breaker

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

// ratioSettings is ratio mode with round numbers: half the calls failing,
// over 20 calls in 10s, and a 1s break.
func ratioSettings() Settings {
	return Settings{FailureRatio: 0.5, MinimumThroughput: 20, Window: 10 * time.Second, Recovery: time.Second}
}

func wantCounts(t testing.TB, b *Breaker, calls, failures int) {
	t.Helper()
	if s := b.Snapshot(); s.Calls != calls || s.Failures != failures {
		t.Fatalf("snapshot %+v, want Calls %d Failures %d", s, calls, failures)
	}
}

func succeed(t testing.TB, b *Breaker, n int) {
	t.Helper()
	for range n {
		admit(t, b).Done(Success)
	}
}

// Ratio mode: below MinimumThroughput the circuit never opens, even when
// every call fails; the call that reaches it opens the circuit, with
// CauseFailureRatio.
func TestRatioBelowMinimumThroughputNeverOpens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		s := ratioSettings()
		s.OnStateChange = rec.record
		b := mustNew(t, s)
		fail(t, b, 19)
		wantState(t, b, Closed, 1)
		wantCounts(t, b, 19, 19)
		if s := b.Snapshot(); s.ConsecutiveFailures != 0 {
			t.Fatalf("ConsecutiveFailures %d in ratio mode, want 0", s.ConsecutiveFailures)
		}
		fail(t, b, 1)
		if s := wantState(t, b, Open, 2); !s.Until.Equal(time.Now().Add(time.Second)) || s.Calls != 0 || s.Failures != 0 {
			t.Fatalf("snapshot %+v, want open for Recovery with no counts", s)
		}
		ch := rec.get()
		checkChain(t, ch, 1, Closed)
		if len(ch) != 1 || ch[0].Cause != CauseFailureRatio {
			t.Fatalf("changes %+v, want one with cause failure-ratio", ch)
		}
	})
}

// Ratio mode: at or above MinimumThroughput the circuit opens on exactly the
// failure that brings the share of failures up to FailureRatio. The
// expected failure is computed in exact integer arithmetic; the ratios
// include decimals that float64 cannot hold exactly.
func TestRatioOpensExactlyAtTheRatio(t *testing.T) {
	for _, c := range []struct {
		num, den  int // the ratio, num/den
		min, succ int // MinimumThroughput, successes reported first
	}{
		{1, 2, 20, 30}, {1, 2, 20, 0}, {1, 2, 20, 5},
		{1, 10, 100, 90}, {1, 10, 100, 500},
		{3, 10, 10, 7}, {3, 10, 10, 70}, {7, 10, 10, 3}, {7, 10, 10, 33},
		{1, 4, 1, 3}, {1, 3, 6, 4}, {2, 3, 3, 10},
		{1, 1, 5, 0}, {1, 1, 5, 1},
	} {
		ratio := float64(c.num) / float64(c.den) // == the decimal literal
		t.Run(fmt.Sprintf("%v-min%d-succ%d", ratio, c.min, c.succ), func(t *testing.T) {
			clock := newFakeClock()
			b := mustNew(t, Settings{FailureRatio: ratio, MinimumThroughput: c.min, Now: clock.Now})
			succeed(t, b, c.succ)
			for f := 1; f <= 1000; f++ { // up to 1000 failures: the ratio-1 cases with a success never open
				calls := c.succ + f
				opens := calls >= c.min && f*c.den >= c.num*calls
				admit(t, b).Done(Failure)
				want := Closed
				if opens {
					want = Open
				}
				if got := b.State(); got != want {
					t.Fatalf("%d successes, %d failures: state %v, want %v", c.succ, f, got, want)
				}
				if opens {
					return
				}
				wantCounts(t, b, calls, f)
			}
		})
	}
}

// Ratio mode: the ratio is evaluated on failures only. A success that would
// complete a failing window does not open the circuit, nor do successes
// alone however many.
func TestRatioSuccessesDoNotOpen(t *testing.T) {
	clock := newFakeClock()
	s := ratioSettings()
	s.Now = clock.Now
	b := mustNew(t, s)
	succeed(t, b, 1000)
	wantState(t, b, Closed, 1)
	wantCounts(t, b, 1000, 0)

	b.Reset()
	fail(t, b, 19)
	admit(t, b).Done(Success) // 20 calls, 95% failed: evaluated only on the next failure
	wantState(t, b, Closed, 2)
	wantCounts(t, b, 20, 19)
	admit(t, b).Done(Ignore) // counts for nothing
	wantCounts(t, b, 20, 19)
	fail(t, b, 1)
	wantState(t, b, Open, 3)
}

// Ratio mode: outcomes slide out of the window. The window is 10 buckets of
// Window/10 counted from New, so an outcome leaves exactly when the tenth
// bucket after its own begins.
func TestRatioOldOutcomesSlideOut(t *testing.T) {
	check := func(t *testing.T, b *Breaker, sleep func(time.Duration)) {
		fail(t, b, 15) // bucket 0
		sleep(5 * time.Second)
		fail(t, b, 4) // bucket 5
		wantCounts(t, b, 19, 19)
		sleep(5*time.Second - time.Nanosecond)
		wantCounts(t, b, 19, 19) // still bucket 9
		sleep(time.Nanosecond)
		wantCounts(t, b, 4, 4) // bucket 10: bucket 0 has left
		fail(t, b, 15)
		wantState(t, b, Closed, 1) // 19 in the window
		sleep(5 * time.Second)
		wantCounts(t, b, 15, 15) // bucket 15: bucket 5 has left
		succeed(t, b, 4)
		wantCounts(t, b, 19, 15)
		sleep(time.Minute)
		wantCounts(t, b, 0, 0)
		fail(t, b, 19)
		wantState(t, b, Closed, 1)
		fail(t, b, 1)
		wantState(t, b, Open, 2)
	}
	t.Run("synctest", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			check(t, mustNew(t, ratioSettings()), time.Sleep)
		})
	})
	t.Run("fake-now", func(t *testing.T) {
		clock := newFakeClock()
		s := ratioSettings()
		s.Now = clock.Now
		check(t, mustNew(t, s), clock.Advance)
	})
}

// Ratio mode: a window belongs to its closed period. After the circuit
// closes again, or a Reset, the counts start empty, and a report admitted in
// an earlier period does not count (R20).
func TestRatioNewClosedPeriodStartsEmpty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, ratioSettings())
		stale := admit(t, b)
		fail(t, b, 20)
		wantState(t, b, Open, 2)
		time.Sleep(time.Second) // well inside the 10s window
		admit(t, b).Done(Success)
		wantState(t, b, Closed, 4)
		wantCounts(t, b, 0, 0)
		stale.Done(Failure)
		wantCounts(t, b, 0, 0)
		fail(t, b, 19)
		wantState(t, b, Closed, 4)

		stale = admit(t, b)
		b.Reset()
		wantCounts(t, b, 0, 0)
		stale.Done(Failure)
		fail(t, b, 19)
		wantState(t, b, Closed, 5)
		wantCounts(t, b, 19, 19)
	})
}

// Ratio mode defaults: MinimumThroughput 20 and a 10s Window.
func TestRatioDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureRatio: 0.5})
		fail(t, b, DefaultMinimumThroughput-1)
		time.Sleep(DefaultWindow)
		fail(t, b, DefaultMinimumThroughput-1)
		wantState(t, b, Closed, 1)
		fail(t, b, 1)
		if s := wantState(t, b, Open, 2); !s.Until.Equal(time.Now().Add(DefaultRecovery)) {
			t.Fatalf("snapshot %+v", s)
		}
	})
}

// Ratio mode: a window whose length is not a multiple of 10 buckets keeps
// buckets of Window/10, rounded down.
func TestRatioUnevenWindow(t *testing.T) {
	clock := newFakeClock()
	b := mustNew(t, Settings{FailureRatio: 1, MinimumThroughput: 3, Window: 25, Now: clock.Now}) // buckets of 2ns
	fail(t, b, 2)
	clock.Advance(19)
	wantCounts(t, b, 2, 2)
	clock.Advance(1)
	wantCounts(t, b, 0, 0)
}

// Ratio mode: a custom clock that steps back does not break the count.
func TestRatioClockStepsBack(t *testing.T) {
	clock := newFakeClock()
	b := mustNew(t, Settings{FailureRatio: 1, MinimumThroughput: 5, Window: 10 * time.Second, Now: clock.Now})
	clock.Advance(5 * time.Second)
	fail(t, b, 2)
	clock.Advance(-3 * time.Second)
	fail(t, b, 1)
	clock.Advance(-time.Hour) // before New
	fail(t, b, 1)
	wantState(t, b, Closed, 1)
	clock.Advance(time.Hour + 3*time.Second)
	wantCounts(t, b, 4, 4)
	fail(t, b, 1)
	wantState(t, b, Open, 2)
}
