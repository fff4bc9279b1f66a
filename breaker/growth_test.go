package breaker

import (
	"math"
	"testing"
	"testing/synctest"
	"time"
)

// failProbe waits for the open period to end, admits the probe, fails it,
// and returns how long the circuit re-opened for.
func failProbe(t *testing.T, b *Breaker) time.Duration {
	t.Helper()
	time.Sleep(time.Until(b.Snapshot().Until))
	probe := admit(t, b)
	if !probe.Probe() {
		t.Fatalf("ticket %+v, want a probe", probe)
	}
	probe.Done(Failure)
	s := b.Snapshot()
	if s.State != Open {
		t.Fatalf("snapshot %+v after a failed probe, want open", s)
	}
	return time.Until(s.Until)
}

// growthBounds is where the k-th break may fall with Recovery 1s and
// MaxRecovery 10s: exactly 1s, then 2s, 4s, 8s shortened by up to 20%,
// then 10s shortened by up to 20%.
func growthBounds(k int) (lo, hi time.Duration) {
	switch k {
	case 1:
		return time.Second, time.Second
	case 2:
		return 1600 * time.Millisecond, 2 * time.Second
	case 3:
		return 3200 * time.Millisecond, 4 * time.Second
	case 4:
		return 6400 * time.Millisecond, 8 * time.Second
	}
	return 8 * time.Second, 10 * time.Second
}

// Growth (R19 and its option): with MaxRecovery, the first failed probe
// re-opens for exactly Recovery, the next ones for twice as long each time,
// jittered down by up to 20%, and capped at MaxRecovery; Snapshot.Breaks
// counts them; a close resets the count.
func TestGrowthOfRepeatedBreaks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second, MaxRecovery: 10 * time.Second})
		seen := map[time.Duration]bool{}
		for round := range 50 {
			fail(t, b, 1)
			if s := b.Snapshot(); s.State != Open || time.Until(s.Until) != time.Second || s.Breaks != 0 {
				t.Fatalf("round %d: first open %+v, want exactly Recovery with no breaks", round, s)
			}
			for k := 1; k <= 7; k++ {
				d := failProbe(t, b)
				if lo, hi := growthBounds(k); d < lo || d > hi {
					t.Fatalf("round %d: break %d lasts %v, want in [%v, %v]", round, k, d, lo, hi)
				}
				if s := b.Snapshot(); s.Breaks != k {
					t.Fatalf("round %d: Breaks %d after break %d", round, s.Breaks, k)
				}
				if k == 4 {
					seen[d] = true
				}
			}
			time.Sleep(time.Until(b.Snapshot().Until))
			admit(t, b).Done(Success)
			if s := b.Snapshot(); s.State != Closed || s.Breaks != 0 {
				t.Fatalf("round %d: after the close %+v", round, s)
			}
		}
		if len(seen) < 2 {
			t.Fatalf("50 fourth breaks took %d distinct lengths: no jitter", len(seen))
		}
	})
}

// Growth: a timed-out probe counts as a failed probe, and its break is
// counted from its deadline.
func TestGrowthCountsTimedOutProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second, MaxRecovery: 10 * time.Second, ProbeTimeout: 500 * time.Millisecond})
		fail(t, b, 1)
		failProbe(t, b) // break 1
		time.Sleep(time.Until(b.Snapshot().Until))
		stuck := admit(t, b)
		time.Sleep(time.Hour)
		if s := b.Snapshot(); s.Breaks != 2 || s.State != HalfOpen {
			t.Fatalf("snapshot %+v, want the second break over", s)
		}
		stuck.Done(Success) // late: ignored
		probe := admit(t, b)
		probe.Done(Failure)
		if s := b.Snapshot(); s.Breaks != 3 || s.State != Open {
			t.Fatalf("snapshot %+v, want the third break", s)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second, MaxRecovery: 10 * time.Second, ProbeTimeout: 500 * time.Millisecond, OnStateChange: rec.record})
		fail(t, b, 1)
		failProbe(t, b) // break 1
		time.Sleep(time.Until(b.Snapshot().Until))
		admit(t, b)
		deadline := time.Now().Add(500 * time.Millisecond)
		time.Sleep(500 * time.Millisecond)
		before := len(rec.get())
		s := b.Snapshot()
		if d := s.Until.Sub(deadline); s.State != Open || s.Breaks != 2 || d < 1600*time.Millisecond || d > 2*time.Second {
			t.Fatalf("snapshot %+v: break of %v from the deadline, want the second break", s, d)
		}
		if n := len(rec.get()); n != before {
			t.Fatalf("Snapshot made %d transitions; it must be a pure read", n-before)
		}
		// The next Allow makes the pending transition, with the break
		// Snapshot foretold.
		if _, err := b.Allow(); err == nil {
			t.Fatal("Allow admitted a call during the second break")
		}
		if s2 := b.Snapshot(); !foretold(s2, s) {
			t.Fatalf("after the transition %+v, Snapshot foretold %+v", s2, s)
		}
		ch := rec.get()
		if c := ch[len(ch)-1]; c.Cause != CauseProbeTimeout || !c.At.Equal(deadline) || !c.Until.Equal(s.Until) {
			t.Fatalf("change %+v", c)
		}
	})
}

// Growth: Reset clears the count; Trip keeps it.
func TestGrowthResetClearsTripKeeps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second, MaxRecovery: 10 * time.Second})
		fail(t, b, 1)
		failProbe(t, b)
		failProbe(t, b)
		b.Trip(time.Now().Add(time.Minute))
		if s := b.Snapshot(); s.Breaks != 2 {
			t.Fatalf("Trip: Breaks %d, want 2", s.Breaks)
		}
		if d := failProbe(t, b); d < 3200*time.Millisecond || d > 4*time.Second {
			t.Fatalf("after Trip the third break lasts %v", d)
		}
		b.Reset()
		if s := b.Snapshot(); s.Breaks != 0 {
			t.Fatalf("Reset: Breaks %d, want 0", s.Breaks)
		}
		fail(t, b, 1)
		if d := failProbe(t, b); d != time.Second {
			t.Fatalf("after Reset the first break lasts %v, want exactly Recovery", d)
		}
	})
}

// Growth is opt-in: without MaxRecovery, or with one not above Recovery,
// every break is exactly Recovery (R19).
func TestNoGrowthEveryBreakIsRecovery(t *testing.T) {
	for _, max := range []time.Duration{0, time.Second, 500 * time.Millisecond} {
		synctest.Test(t, func(t *testing.T) {
			b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second, MaxRecovery: max})
			fail(t, b, 1)
			for k := 1; k <= 8; k++ {
				if d := failProbe(t, b); d != time.Second {
					t.Fatalf("MaxRecovery %v: break %d lasts %v, want exactly Recovery", max, k, d)
				}
				if s := b.Snapshot(); s.Breaks != k {
					t.Fatalf("Breaks %d, want %d", s.Breaks, k)
				}
			}
		})
	}
}

// Growth: the computed break never overflows, never exceeds MaxRecovery and
// never falls below Recovery, for any count.
func TestGrowthBreakForBounds(t *testing.T) {
	for _, c := range []struct{ rec, max time.Duration }{
		{time.Second, 10 * time.Second},
		{time.Nanosecond, math.MaxInt64},
		{time.Hour, math.MaxInt64},
		{9 * time.Second, 10 * time.Second},
		{time.Second, time.Second + 1},
	} {
		cfg, err := Settings{Recovery: c.rec, MaxRecovery: c.max}.config()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []int{1, 2, 3, 10, 30, 62, 63, 64, 65, 100, 1 << 20, math.MaxInt} {
			for i := range 200 {
				d := cfg.breakFor(k, uint64(i)*7919, uint64(i))
				if d < c.rec || d > c.max || (k == 1 && d != c.rec) {
					t.Fatalf("Recovery %v MaxRecovery %v: break %d = %v", c.rec, c.max, k, d)
				}
				nominal := c.max
				if k-1 < 63 && c.rec <= c.max>>(k-1) {
					nominal = min(c.max, c.rec<<(k-1))
				}
				if k > 1 && d < max(c.rec, nominal-nominal/5) || d > nominal {
					t.Fatalf("Recovery %v MaxRecovery %v: break %d = %v, nominal %v", c.rec, c.max, k, d, nominal)
				}
			}
		}
	}
}
