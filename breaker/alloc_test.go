package breaker

import (
	"testing"
	"time"
)

// The closed and open paths sit on every outbound call: they must not
// allocate.
func TestHotPathsDoNotAllocate(t *testing.T) {
	clock := newFakeClock()
	b := mustNew(t, Settings{FailureThreshold: 1 << 30, Now: clock.Now})

	cases := []struct {
		name string
		f    func()
	}{
		{"closed Allow+Done(Success)", func() {
			tk, _ := b.Allow()
			tk.Done(Success)
		}},
		{"closed Allow+Done(Failure)+Done(Success)", func() {
			tk, _ := b.Allow()
			tk.Done(Failure)
			tk.Done(Success)
		}},
		{"closed Allow+Done(Ignore)", func() {
			tk, _ := b.Allow()
			tk.Done(Ignore)
		}},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(1000, c.f); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", c.name, n)
		}
	}

	b.Trip(clock.Now().Add(time.Hour))
	if n := testing.AllocsPerRun(1000, func() { _, _ = b.Allow() }); n != 0 {
		t.Errorf("open Allow: %v allocs/op, want 0", n)
	}

	b.Trip(clock.Now())
	probe := admit(t, b)
	if n := testing.AllocsPerRun(1000, func() { _, _ = b.Allow() }); n != 0 {
		t.Errorf("half-open refusal: %v allocs/op, want 0", n)
	}
	probe.Done(Success)
}

func BenchmarkAllowDoneClosed(b *testing.B) { benchAllowDone(b, Settings{}) }

func BenchmarkAllowDoneClosedParallel(b *testing.B) { benchAllowDoneParallel(b, Settings{}) }

func BenchmarkAllowOpen(b *testing.B) {
	br := mustNew(b, Settings{})
	br.Trip(time.Now().Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.Allow(); err == nil {
			b.Fatal("admitted by an open circuit")
		}
	}
}

func BenchmarkAllowOpenParallel(b *testing.B) {
	br := mustNew(b, Settings{})
	br.Trip(time.Now().Add(time.Hour))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			_, _ = br.Allow()
		}
	})
}

// Ratio mode, slow calls and several probes keep the hot paths free of
// allocations: closed Allow+Done in ratio mode (a success is a clock read
// and atomic adds), DoneTimed, and refusals while half-open with several
// probes.
func TestModesHotPathsDoNotAllocate(t *testing.T) {
	clock := newFakeClock()
	ratio := mustNew(t, Settings{FailureRatio: 0.5, MinimumThroughput: 1 << 30, SlowCall: time.Second, Now: clock.Now})
	real := mustNew(t, Settings{FailureRatio: 0.5, MinimumThroughput: 1 << 30})
	cases := []struct {
		name string
		f    func()
	}{
		{"ratio Allow+Done(Success)", func() {
			tk, _ := ratio.Allow()
			tk.Done(Success)
		}},
		{"ratio Allow+Done(Success), real clock", func() {
			tk, _ := real.Allow()
			tk.Done(Success)
		}},
		{"ratio Allow+Done(Failure)", func() {
			tk, _ := ratio.Allow()
			tk.Done(Failure)
		}},
		{"ratio Allow+DoneTimed(Success, slow)", func() {
			tk, _ := ratio.Allow()
			tk.DoneTimed(Success, time.Minute)
		}},
		{"ratio Allow+Done(Success) across buckets", func() {
			clock.Advance(time.Second)
			tk, _ := ratio.Allow()
			tk.Done(Success)
		}},
	}
	for _, c := range cases {
		if n := testing.AllocsPerRun(1000, c.f); n != 0 {
			t.Errorf("%s: %v allocs/op, want 0", c.name, n)
		}
	}

	b := mustNew(t, Settings{FailureThreshold: 1, HalfOpenProbes: 3, Now: clock.Now})
	b.Trip(clock.Now())
	probes := []Ticket{admit(t, b), admit(t, b), admit(t, b)}
	if n := testing.AllocsPerRun(1000, func() { _, _ = b.Allow() }); n != 0 {
		t.Errorf("half-open refusal with 3 probes: %v allocs/op, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { _ = b.Peek() }); n != 0 {
		t.Errorf("half-open Peek with 3 probes: %v allocs/op, want 0", n)
	}
	for _, p := range probes {
		p.Done(Success)
	}
}

func BenchmarkAllowDoneClosedRatio(b *testing.B) { benchAllowDone(b, Settings{FailureRatio: 0.5}) }

func BenchmarkAllowDoneClosedRatioParallel(b *testing.B) {
	benchAllowDoneParallel(b, Settings{FailureRatio: 0.5})
}

// A failure in ratio mode also sums the window; MinimumThroughput is out of
// reach so that the circuit stays closed.
func BenchmarkAllowDoneClosedRatioFailure(b *testing.B) {
	br := mustNew(b, Settings{FailureRatio: 0.5, MinimumThroughput: 1 << 30})
	b.ReportAllocs()
	for b.Loop() {
		tk, err := br.Allow()
		if err != nil {
			b.Fatal(err)
		}
		tk.Done(Failure)
	}
}

func BenchmarkAllowDoneTimedClosed(b *testing.B) {
	br := mustNew(b, Settings{SlowCall: time.Second})
	b.ReportAllocs()
	for b.Loop() {
		tk, err := br.Allow()
		if err != nil {
			b.Fatal(err)
		}
		tk.DoneTimed(Success, time.Millisecond)
	}
}

func BenchmarkAllowHalfOpenRefusedProbes3(b *testing.B) {
	br := mustNew(b, Settings{HalfOpenProbes: 3, Recovery: time.Hour})
	br.Trip(time.Now())
	for range 3 {
		if _, err := br.Allow(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := br.Allow(); err == nil {
			b.Fatal("admitted a fourth probe")
		}
	}
}

// benchAllowDone measures one admitted call reported as a success.
func benchAllowDone(b *testing.B, s Settings) {
	br := mustNew(b, s)
	b.ReportAllocs()
	for b.Loop() {
		tk, err := br.Allow()
		if err != nil {
			b.Fatal(err)
		}
		tk.Done(Success)
	}
}

// benchAllowDoneParallel is benchAllowDone from every P at once.
func benchAllowDoneParallel(b *testing.B, s Settings) {
	br := mustNew(b, s)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tk, err := br.Allow()
			if err != nil {
				b.Error(err)
				return
			}
			tk.Done(Success)
		}
	})
}
