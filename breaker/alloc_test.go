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

func BenchmarkAllowDoneClosed(b *testing.B) {
	br := mustNew(b, Settings{})
	b.ReportAllocs()
	for b.Loop() {
		tk, err := br.Allow()
		if err != nil {
			b.Fatal(err)
		}
		tk.Done(Success)
	}
}

func BenchmarkAllowDoneClosedParallel(b *testing.B) {
	br := mustNew(b, Settings{})
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
