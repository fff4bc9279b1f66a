package breaker

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// R18: the circuit opens on exactly the FailureThreshold-th consecutive
// failure, and a success in between starts the count again.
func TestR18OpensAfterExactlyNConsecutiveFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 3, Recovery: 10 * time.Second})
		fail(t, b, 2)
		if s := wantState(t, b, Closed, 1); s.ConsecutiveFailures != 2 {
			t.Fatalf("ConsecutiveFailures = %d, want 2", s.ConsecutiveFailures)
		}
		admit(t, b).Done(Success)
		if s := wantState(t, b, Closed, 1); s.ConsecutiveFailures != 0 {
			t.Fatalf("after a success ConsecutiveFailures = %d, want 0", s.ConsecutiveFailures)
		}
		fail(t, b, 2)
		wantState(t, b, Closed, 1)
		opened := time.Now()
		fail(t, b, 1)
		s := wantState(t, b, Open, 2)
		if want := opened.Add(10 * time.Second); !s.Until.Equal(want) {
			t.Fatalf("Until = %v, want %v", s.Until, want)
		}
		if s.ConsecutiveFailures != 0 {
			t.Fatalf("open ConsecutiveFailures = %d, want 0", s.ConsecutiveFailures)
		}
	})
}

// R18/R17: Ignore neither counts nor resets.
func TestR18IgnoreCountsForNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 3})
		fail(t, b, 2)
		admit(t, b).Done(Ignore)
		if s := wantState(t, b, Closed, 1); s.ConsecutiveFailures != 2 {
			t.Fatalf("ConsecutiveFailures = %d after Ignore, want 2", s.ConsecutiveFailures)
		}
		fail(t, b, 1)
		wantState(t, b, Open, 2)
	})
}

// R18: an open circuit fails fast with one shared *OpenError for the whole
// open period, carrying when it half-opens.
func TestR18FailFastSharesOpenError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second})
		fail(t, b, 1)
		until := time.Now().Add(10 * time.Second)
		first := refuse(t, b)
		if !first.Until.Equal(until) || first.Generation != 2 {
			t.Fatalf("OpenError = %+v, want Until %v Generation 2", first, until)
		}
		for range 3 {
			time.Sleep(3 * time.Second)
			if got := refuse(t, b); got != first {
				t.Fatalf("refusal %p differs from %p within one open period", got, first)
			}
		}
		_, err := b.Allow()
		if !errors.Is(err, ErrOpen) {
			t.Fatalf("errors.Is(%v, ErrOpen) = false", err)
		}
		if errors.Is(err, ErrInvalidSettings) {
			t.Fatal("OpenError matches ErrInvalidSettings")
		}
		if msg := err.Error(); msg != "breaker: circuit open until 2000-01-01T00:00:10Z (generation 2)" {
			t.Fatalf("Error() = %q", msg)
		}
		// The zero Ticket that comes with a refusal ignores Done.
		var zero Ticket
		zero.Done(Failure)
		wantState(t, b, Open, 2)
	})
}

// R19: after Recovery the circuit half-opens; the first Allow is the probe.
func TestR19HalfOpensAfterRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second, ProbeTimeout: 4 * time.Second})
		fail(t, b, 1)
		time.Sleep(10*time.Second - time.Nanosecond)
		refuse(t, b)
		wantState(t, b, Open, 2)
		time.Sleep(time.Nanosecond)
		// Observed but not yet made: HalfOpen in the open generation.
		if s := wantState(t, b, HalfOpen, 2); s.ProbeInFlight || !s.Until.IsZero() {
			t.Fatalf("snapshot %+v before the probe", s)
		}
		probe := admit(t, b)
		if !probe.Probe() || probe.State() != HalfOpen || probe.Generation() != 3 {
			t.Fatalf("probe ticket: Probe %v State %v Generation %d, want true half-open 3",
				probe.Probe(), probe.State(), probe.Generation())
		}
		deadline := time.Now().Add(4 * time.Second)
		s := wantState(t, b, HalfOpen, 3)
		if !s.ProbeInFlight || !s.Until.Equal(deadline) {
			t.Fatalf("snapshot %+v, want probe in flight until %v", s, deadline)
		}
		oe := refuse(t, b)
		if !oe.Until.Equal(deadline) || oe.Generation != 3 {
			t.Fatalf("half-open refusal %+v, want Until %v Generation 3", oe, deadline)
		}
		if again := refuse(t, b); again != oe {
			t.Fatal("refusals during one probe do not share their *OpenError")
		}
		probe.Done(Ignore)
	})
}

// R19: a probe's success closes the circuit with a zero count.
func TestR19ProbeSuccessCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 2, Recovery: time.Second})
		fail(t, b, 2)
		time.Sleep(time.Second)
		admit(t, b).Done(Success)
		if s := wantState(t, b, Closed, 4); s.ConsecutiveFailures != 0 {
			t.Fatalf("ConsecutiveFailures = %d", s.ConsecutiveFailures)
		}
		tk := admit(t, b)
		if tk.Probe() || tk.State() != Closed || tk.Generation() != 4 {
			t.Fatalf("closed ticket %+v", tk)
		}
		tk.Done(Failure)
		wantState(t, b, Closed, 4)
		fail(t, b, 1)
		wantState(t, b, Open, 5)
	})
}

// R19: a probe's failure re-opens for exactly Recovery from its report.
func TestR19ProbeFailureReopensForExactlyRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second})
		fail(t, b, 1)
		time.Sleep(10 * time.Second)
		probe := admit(t, b)
		time.Sleep(2 * time.Second)
		probe.Done(Failure)
		until := time.Now().Add(10 * time.Second)
		if s := wantState(t, b, Open, 4); !s.Until.Equal(until) {
			t.Fatalf("Until = %v, want %v", s.Until, until)
		}
		if oe := refuse(t, b); !oe.Until.Equal(until) || oe.Generation != 4 {
			t.Fatalf("OpenError %+v, want Until %v Generation 4", oe, until)
		}
		time.Sleep(10*time.Second - time.Nanosecond)
		refuse(t, b)
		time.Sleep(time.Nanosecond)
		if p := admit(t, b); !p.Probe() || p.Generation() != 5 {
			t.Fatalf("ticket %+v, want the probe of generation 5", p)
		}
	})
}

// R19: a probe reported as Ignore frees the slot and counts for nothing.
func TestR19ProbeIgnoreReleasesSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second})
		fail(t, b, 1)
		time.Sleep(time.Second)
		first := admit(t, b)
		refuse(t, b)
		first.Done(Ignore)
		if s := wantState(t, b, HalfOpen, 3); s.ProbeInFlight {
			t.Fatalf("slot still taken after Ignore: %+v", s)
		}
		second := admit(t, b)
		if !second.Probe() || second.Generation() != 3 {
			t.Fatalf("second ticket %+v, want a probe in generation 3", second)
		}
		// R20: a second Done on the first probe must not free the second's slot.
		first.Done(Ignore)
		first.Done(Success)
		if s := wantState(t, b, HalfOpen, 3); !s.ProbeInFlight {
			t.Fatalf("a repeated Done released another probe's slot: %+v", s)
		}
		refuse(t, b)
		second.Done(Success)
		wantState(t, b, Closed, 4)
	})
}

// R19/R20: a probe unanswered past ProbeTimeout counts as a failure; the
// circuit re-opens for Recovery from the probe's deadline, and the probe's
// late Done is ignored.
func TestR19StuckProbeCountsAsFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second, ProbeTimeout: 5 * time.Second})
		fail(t, b, 1)
		time.Sleep(10 * time.Second)
		probe := admit(t, b)
		deadline := time.Now().Add(5 * time.Second)
		time.Sleep(5*time.Second - time.Nanosecond)
		if oe := refuse(t, b); !oe.Until.Equal(deadline) {
			t.Fatalf("refusal Until %v, want the probe deadline %v", oe.Until, deadline)
		}
		time.Sleep(time.Nanosecond)
		until := deadline.Add(10 * time.Second)
		if oe := refuse(t, b); !oe.Until.Equal(until) || oe.Generation != 4 {
			t.Fatalf("refusal %+v, want Until %v Generation 4", oe, until)
		}
		probe.Done(Success)
		if s := wantState(t, b, Open, 4); !s.Until.Equal(until) {
			t.Fatalf("late Done moved the circuit: %+v", s)
		}
		time.Sleep(10 * time.Second)
		if p := admit(t, b); !p.Probe() || p.Generation() != 5 {
			t.Fatalf("ticket %+v, want the probe of generation 5", p)
		}
	})
}

// R19: AllowBounded's bound replaces ProbeTimeout for that probe; Snapshot
// notices the expiry as Allow does.
func TestR19AllowBoundedProbeDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second, ProbeTimeout: time.Hour})
		fail(t, b, 1)
		time.Sleep(10 * time.Second)
		probe, err := b.AllowBounded(2 * time.Second)
		if err != nil || !probe.Probe() {
			t.Fatalf("AllowBounded = %+v, %v; want the probe", probe, err)
		}
		deadline := time.Now().Add(2 * time.Second)
		if s := b.Snapshot(); !s.Until.Equal(deadline) {
			t.Fatalf("probe deadline %v, want %v", s.Until, deadline)
		}
		time.Sleep(2 * time.Second)
		if s := wantState(t, b, Open, 4); !s.Until.Equal(deadline.Add(10 * time.Second)) {
			t.Fatalf("Snapshot after the bound: %+v", s)
		}
		probe.Done(Success)
		wantState(t, b, Open, 4)
	})
}

// R19: a bound outside half-open is unused; a non-positive one means
// ProbeTimeout.
func TestR19AllowBoundedDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second, ProbeTimeout: 3 * time.Second})
		tk, err := b.AllowBounded(time.Nanosecond)
		if err != nil || tk.Probe() {
			t.Fatalf("closed AllowBounded = %+v, %v", tk, err)
		}
		tk.Done(Failure)
		time.Sleep(10 * time.Second)
		if _, err := b.AllowBounded(-time.Second); err != nil {
			t.Fatal(err)
		}
		if s, want := b.Snapshot(), time.Now().Add(3*time.Second); !s.Until.Equal(want) {
			t.Fatalf("deadline %v, want ProbeTimeout later: %v", s.Until, want)
		}
	})
}

// R19/R20: a probe that reports after its deadline, with no Allow in between,
// still counts as timed out, whatever it reports.
func TestR19_R37_LateProbeDoneCountsAsTimeout(t *testing.T) {
	for _, o := range []Outcome{Success, Failure, Ignore} {
		t.Run(o.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second, ProbeTimeout: time.Second})
				fail(t, b, 1)
				time.Sleep(10 * time.Second)
				probe := admit(t, b)
				deadline := time.Now().Add(time.Second)
				time.Sleep(3 * time.Second)
				probe.Done(o)
				if s := wantState(t, b, Open, 4); !s.Until.Equal(deadline.Add(10 * time.Second)) {
					t.Fatalf("snapshot %+v, want open until deadline+Recovery", s)
				}
			})
		})
	}
}

// R19: an Allow long after a stuck probe's deadline+Recovery makes both
// transitions and becomes the next probe.
func TestR19StuckProbeLongAgo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second, ProbeTimeout: time.Second, OnStateChange: rec.record})
		fail(t, b, 1)
		time.Sleep(10 * time.Second)
		stuck := admit(t, b)
		deadline := time.Now().Add(time.Second)
		time.Sleep(time.Minute)
		p := admit(t, b)
		if !p.Probe() || p.Generation() != 5 {
			t.Fatalf("ticket %+v, want the probe of generation 5", p)
		}
		stuck.Done(Failure)
		wantState(t, b, HalfOpen, 5)
		ch := rec.get()
		checkChain(t, ch, 1, Closed)
		if len(ch) != 4 {
			t.Fatalf("changes %+v, want 4", ch)
		}
		if c := ch[2]; c.Cause != CauseProbeTimeout || !c.At.Equal(deadline) || !c.Until.Equal(deadline.Add(10*time.Second)) {
			t.Fatalf("timeout change %+v", c)
		}
		if c := ch[3]; c.Cause != CauseRecovery || !c.At.Equal(time.Now()) {
			t.Fatalf("recovery change %+v", c)
		}
	})
}

// R20: a success admitted while closed that reports after the circuit opened
// changes nothing, neither then nor after the circuit has closed again.
func TestR20StaleSuccessAfterOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 2, Recovery: time.Second})
		slow := admit(t, b)
		slowFail := admit(t, b)
		fail(t, b, 2)
		before := wantState(t, b, Open, 2)
		slow.Done(Success)
		if after := wantState(t, b, Open, 2); after != before {
			t.Fatalf("stale success changed %+v to %+v", before, after)
		}
		time.Sleep(time.Second)
		admit(t, b).Done(Success)
		wantState(t, b, Closed, 4)
		fail(t, b, 1)
		slowFail.Done(Failure) // from generation 1: must not make the second failure
		if s := wantState(t, b, Closed, 4); s.ConsecutiveFailures != 1 {
			t.Fatalf("ConsecutiveFailures = %d, want 1", s.ConsecutiveFailures)
		}
	})
}

// R20: a failure from before a Reset does not count after it, and a stale
// success does not clear the new generation's count.
func TestR20StaleOutcomesAcrossReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 2})
		old1, old2 := admit(t, b), admit(t, b)
		b.Reset()
		fail(t, b, 1)
		old1.Done(Failure)
		old2.Done(Success)
		if s := wantState(t, b, Closed, 2); s.ConsecutiveFailures != 1 {
			t.Fatalf("ConsecutiveFailures = %d, want 1", s.ConsecutiveFailures)
		}
	})
}

// R20: a probe result after a Trip does not move the tripped circuit.
func TestR20StaleProbeResultAfterTrip(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: time.Second})
		fail(t, b, 1)
		time.Sleep(time.Second)
		probe := admit(t, b)
		b.Trip(time.Now().Add(time.Hour))
		probe.Done(Success)
		wantState(t, b, Open, 4)
		refuse(t, b)
	})
}

func TestNewRejectsNegativeSettings(t *testing.T) {
	for _, s := range []Settings{
		{FailureThreshold: -1},
		{Recovery: -time.Nanosecond},
		{ProbeTimeout: -time.Second},
	} {
		b, err := New(s)
		if b != nil || !errors.Is(err, ErrInvalidSettings) {
			t.Errorf("New(%+v) = %v, %v; want nil and ErrInvalidSettings", s, b, err)
		}
	}
}

// Zero settings mean 5 failures, 30s Recovery and a probe bound of Recovery.
func TestNewAppliesDefaults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := mustNew(t, Settings{})
		fail(t, b, DefaultFailureThreshold-1)
		wantState(t, b, Closed, 1)
		fail(t, b, 1)
		if s := wantState(t, b, Open, 2); !s.Until.Equal(time.Now().Add(30 * time.Second)) {
			t.Fatalf("Until %v, want 30s from now", s.Until)
		}
		time.Sleep(DefaultRecovery)
		admit(t, b)
		if s := b.Snapshot(); !s.Until.Equal(time.Now().Add(30 * time.Second)) {
			t.Fatalf("probe deadline %v, want Recovery from now", s.Until)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		// ProbeTimeout follows a non-default Recovery.
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 7 * time.Second})
		fail(t, b, 1)
		time.Sleep(7 * time.Second)
		admit(t, b)
		if s := b.Snapshot(); !s.Until.Equal(time.Now().Add(7 * time.Second)) {
			t.Fatalf("probe deadline %v, want 7s from now", s.Until)
		}
	})
}

func TestTripAndReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := mustNew(t, Settings{FailureThreshold: 3, OnStateChange: rec.record})
		fail(t, b, 2)
		until := time.Now().Add(time.Minute)
		b.Trip(until)
		if oe := refuse(t, b); !oe.Until.Equal(until) || oe.Generation != 2 {
			t.Fatalf("OpenError %+v after Trip", oe)
		}
		b.Trip(until.Add(time.Minute)) // open to open: still a new generation
		if s := wantState(t, b, Open, 3); !s.Until.Equal(until.Add(time.Minute)) {
			t.Fatalf("snapshot %+v", s)
		}
		b.Reset()
		if s := wantState(t, b, Closed, 4); s.ConsecutiveFailures != 0 {
			t.Fatalf("Reset kept %d failures", s.ConsecutiveFailures)
		}
		b.Trip(time.Now()) // already over: the next Allow is the probe
		wantState(t, b, HalfOpen, 5)
		probe := admit(t, b)
		if !probe.Probe() || probe.Generation() != 6 {
			t.Fatalf("ticket %+v, want the probe of generation 6", probe)
		}
		b.Reset()
		probe.Done(Failure) // R20: from before the Reset
		wantState(t, b, Closed, 7)
		admit(t, b).Done(Success)

		ch := rec.get()
		checkChain(t, ch, 1, Closed)
		causes := []Cause{CauseTrip, CauseTrip, CauseReset, CauseTrip, CauseRecovery, CauseReset}
		if len(ch) != len(causes) {
			t.Fatalf("changes %+v", ch)
		}
		for i, c := range ch {
			if c.Cause != causes[i] {
				t.Errorf("change %d cause %v, want %v", i, c.Cause, causes[i])
			}
		}
	})
}

func TestStrings(t *testing.T) {
	for v, want := range map[interface{ String() string }]string{
		Closed: "closed", Open: "open", HalfOpen: "half-open", State(9): "State(9)",
		Success: "success", Failure: "failure", Ignore: "ignore", Outcome(7): "Outcome(7)",
		CauseFailures: "failures", CauseRecovery: "recovery", CauseProbeSuccess: "probe-success",
		CauseProbeFailure: "probe-failure", CauseProbeTimeout: "probe-timeout",
		CauseTrip: "trip", CauseReset: "reset", Cause(42): "Cause(42)",
	} {
		if got := v.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", v, got, want)
		}
	}
}

// R18: Peek refuses exactly when Allow would, without admitting anyone.
func TestPeek_R18(t *testing.T) {
	now := time.Unix(1000, 0)
	b, err := New(Settings{FailureThreshold: 1, Recovery: time.Second, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if oe := b.Peek(); oe != nil {
		t.Fatalf("closed: Peek = %v", oe)
	}
	tk, _ := b.Allow()
	tk.Done(Failure)
	oe := b.Peek()
	if oe == nil || !oe.Until.Equal(now.Add(time.Second)) {
		t.Fatalf("open: Peek = %v", oe)
	}
	if _, err := b.Allow(); err != error(oe) {
		t.Fatalf("Allow refused with %v, Peek with %v: not the shared error", err, oe)
	}
	now = now.Add(time.Second)
	if oe := b.Peek(); oe != nil {
		t.Fatalf("recovery passed: Peek = %v", oe)
	}
	if s := b.Snapshot(); s.ProbeInFlight {
		t.Fatal("Peek admitted a probe")
	}
	probe, err := b.Allow()
	if err != nil || !probe.Probe() {
		t.Fatalf("Allow after Peek: %v, probe %v", err, probe.Probe())
	}
	if oe := b.Peek(); oe == nil {
		t.Fatal("half-open with a probe in flight: Peek = nil")
	}
	probe.Done(Success)
	if oe := b.Peek(); oe != nil {
		t.Fatalf("closed again: Peek = %v", oe)
	}
}
