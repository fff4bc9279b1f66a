package breaker

import (
	"testing"
	"testing/synctest"
	"time"
)

// openThenRecover opens b with one failure and waits for its Recovery.
func openThenRecover(t *testing.T, b *Breaker, recovery time.Duration) {
	t.Helper()
	fail(t, b, 1)
	time.Sleep(recovery)
}

// R19 with HalfOpenProbes: after recovery, 50 goroutines released together
// race for the probe slots and exactly 3 win, round after round.
func TestProbesExactlyNAmongConcurrentAllows(t *testing.T) {
	const goroutines, rounds, probes = 50, 20, 3
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second, HalfOpenProbes: probes})
		fail(t, b, 1)
		for round := range rounds {
			time.Sleep(time.Second)
			admitted, refused := allowRace(t, b, goroutines)
			if len(admitted) != probes || refused != goroutines-probes {
				t.Fatalf("round %d: %d admitted, %d refused; want exactly %d probes", round, len(admitted), refused, probes)
			}
			for _, tk := range admitted {
				if !tk.Probe() || tk.State() != HalfOpen {
					t.Fatalf("round %d: admitted %+v, not a probe", round, tk)
				}
			}
			if s := b.Snapshot(); s.ProbesInFlight != probes || !s.ProbeInFlight {
				t.Fatalf("round %d: snapshot %+v", round, s)
			}
			admitted[round%probes].Done(Failure)
			wantState(t, b, Open, b.Snapshot().Generation)
		}
	})
}

// R19 with HalfOpenProbes: the circuit closes once all 3 probes have
// succeeded, not after 2; a probe that succeeded keeps its slot.
func TestProbesCloseAfterNSuccesses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second, ProbeTimeout: 5 * time.Second, HalfOpenProbes: 3, OnStateChange: rec.record})
		openThenRecover(t, b, time.Second)
		p1 := admit(t, b)
		if s := wantState(t, b, HalfOpen, 3); s.ProbesInFlight != 1 || !s.Until.Equal(time.Now().Add(5*time.Second)) {
			t.Fatalf("snapshot %+v", s)
		}
		if oe := b.Peek(); oe != nil {
			t.Fatalf("Peek = %v with two slots free", oe)
		}
		time.Sleep(time.Second)
		p2, p3 := admit(t, b), admit(t, b)
		if !p2.Probe() || !p3.Probe() || p2.Generation() != 3 || p3.Generation() != 3 {
			t.Fatalf("tickets %+v %+v, want probes of generation 3", p2, p3)
		}
		oe := refuse(t, b)
		if want := time.Now().Add(4 * time.Second); !oe.Until.Equal(want) {
			t.Fatalf("refusal until %v, want the earliest probe deadline %v", oe.Until, want)
		}
		if b.Peek() != oe {
			t.Fatal("Peek does not return Allow's refusal")
		}
		p1.Done(Success)
		p1.Done(Success) // repeated: counts once
		p2.Done(Success)
		if s := wantState(t, b, HalfOpen, 3); s.ProbesInFlight != 1 || !s.Until.Equal(time.Now().Add(5*time.Second)) {
			t.Fatalf("after 2 successes: snapshot %+v", s)
		}
		refuse(t, b) // the two that succeeded keep their slots
		p3.Done(Success)
		if s := wantState(t, b, Closed, 4); s.ProbesInFlight != 0 {
			t.Fatalf("snapshot %+v", s)
		}
		ch := rec.get()
		checkChain(t, ch, 1, Closed)
		if c := ch[len(ch)-1]; c.Cause != CauseProbeSuccess {
			t.Fatalf("last change %+v", c)
		}
	})
}

// R19/R20 with HalfOpenProbes: one failed probe re-opens the circuit, and
// the other probes' late reports are ignored.
func TestProbesOneFailureReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second, HalfOpenProbes: 3})
		openThenRecover(t, b, time.Second)
		p1, p2, p3 := admit(t, b), admit(t, b), admit(t, b)
		p1.Done(Success)
		p2.Done(Failure)
		if s := wantState(t, b, Open, 4); !s.Until.Equal(time.Now().Add(time.Second)) || s.Breaks != 1 {
			t.Fatalf("snapshot %+v", s)
		}
		p3.Done(Success)
		p1.Done(Success)
		wantState(t, b, Open, 4)
		time.Sleep(time.Second)
		for range 3 {
			admit(t, b).Done(Success)
		}
		wantState(t, b, Closed, 6)
	})
}

// R19 with HalfOpenProbes: a stuck probe among 3 re-opens the circuit at
// its deadline, for Recovery counted from that deadline, even when the
// others succeeded or report later; its own late report is ignored.
func TestProbesStuckProbeAmongNReopensAtItsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second, ProbeTimeout: 5 * time.Second, HalfOpenProbes: 3, OnStateChange: rec.record})
		openThenRecover(t, b, 10*time.Second)
		stuck := admit(t, b)
		deadline := time.Now().Add(5 * time.Second)
		time.Sleep(time.Second)
		p2, p3 := admit(t, b), admit(t, b)
		p2.Done(Success)
		time.Sleep(4*time.Second - time.Nanosecond)
		if oe := refuse(t, b); !oe.Until.Equal(deadline) {
			t.Fatalf("refusal until %v, want the stuck probe's deadline %v", oe.Until, deadline)
		}
		time.Sleep(time.Nanosecond)
		// No Allow in between: the next report notices the stuck probe,
		// whatever it reports.
		p3.Done(Success)
		until := deadline.Add(10 * time.Second)
		if s := wantState(t, b, Open, 4); !s.Until.Equal(until) || s.Breaks != 1 {
			t.Fatalf("snapshot %+v, want open until %v", s, until)
		}
		stuck.Done(Success)
		wantState(t, b, Open, 4)
		ch := rec.get()
		checkChain(t, ch, 1, Closed)
		if c := ch[len(ch)-1]; c.Cause != CauseProbeTimeout || !c.At.Equal(deadline) || !c.Until.Equal(until) {
			t.Fatalf("change %+v, want a probe timeout at %v", c, deadline)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// The same noticed by Allow, with slots still free.
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second, ProbeTimeout: 5 * time.Second, HalfOpenProbes: 3})
		openThenRecover(t, b, 10*time.Second)
		admit(t, b)
		deadline := time.Now().Add(5 * time.Second)
		time.Sleep(5 * time.Second)
		if oe := refuse(t, b); !oe.Until.Equal(deadline.Add(10*time.Second)) || oe.Generation != 4 {
			t.Fatalf("refusal %+v", oe)
		}
	})
}

// R19 with HalfOpenProbes: Ignore frees the probe's own slot, once.
func TestProbesIgnoreFreesOneSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second, HalfOpenProbes: 3})
		openThenRecover(t, b, time.Second)
		p1, p2, p3 := admit(t, b), admit(t, b), admit(t, b)
		refuse(t, b)
		p2.Done(Ignore)
		if s := wantState(t, b, HalfOpen, 3); s.ProbesInFlight != 2 {
			t.Fatalf("snapshot %+v, want 2 in flight", s)
		}
		p4 := admit(t, b)
		refuse(t, b)
		p2.Done(Ignore) // repeated: must not free p4's slot
		p2.Done(Success)
		if s := wantState(t, b, HalfOpen, 3); s.ProbesInFlight != 3 {
			t.Fatalf("snapshot %+v, want 3 in flight", s)
		}
		refuse(t, b)
		p1.Done(Success)
		p3.Done(Success)
		wantState(t, b, HalfOpen, 3)
		p4.Done(Success)
		wantState(t, b, Closed, 4)
	})
}

// HalfOpenProbes with growth: a failed probe among several counts one break.
func TestProbesWithGrowth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second, MaxRecovery: time.Minute, HalfOpenProbes: 2})
		openThenRecover(t, b, time.Second)
		p1, p2 := admit(t, b), admit(t, b)
		p1.Done(Failure)
		p2.Done(Failure)
		if s := b.Snapshot(); s.Breaks != 1 || !s.Until.Equal(time.Now().Add(time.Second)) {
			t.Fatalf("snapshot %+v, want one break of exactly Recovery", s)
		}
	})
}
