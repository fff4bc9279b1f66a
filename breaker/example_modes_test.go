package breaker_test

import (
	"fmt"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// Ratio mode: the circuit opens when half the calls of the last 10 seconds
// failed, once there were at least 20 of them.
func ExampleSettings_ratio() {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	b, _ := breaker.New(breaker.Settings{
		FailureRatio:      0.5,              // the ratio we suggest
		MinimumThroughput: 20,               // the default
		Window:            10 * time.Second, // the default
		Recovery:          30 * time.Second,
		Now:               func() time.Time { return now },
		OnStateChange: func(c breaker.Change) {
			fmt.Printf("%v -> %v (%v)\n", c.From, c.To, c.Cause)
		},
	})
	report := func(o breaker.Outcome, n int) {
		for range n {
			if t, err := b.Allow(); err == nil {
				t.Done(o)
			}
		}
	}

	report(breaker.Failure, 19) // every call failed, but too few calls to judge
	s := b.Snapshot()
	fmt.Println(s.State, s.Calls, s.Failures)

	now = now.Add(10 * time.Second) // those 19 slide out of the window
	report(breaker.Success, 15)
	report(breaker.Failure, 14)
	s = b.Snapshot()
	fmt.Println(s.State, s.Calls, s.Failures) // 14 of 29 failed: under half

	report(breaker.Failure, 1) // 15 of 30
	fmt.Println(b.State())
	// Output:
	// closed 19 19
	// closed 29 14
	// closed -> open (failure-ratio)
	// open
}

// Slow calls: a success whose response took longer than SlowCall counts as
// a failure.
func ExampleTicket_DoneTimed() {
	b, _ := breaker.New(breaker.Settings{FailureThreshold: 2, SlowCall: 2 * time.Second})
	for _, took := range []time.Duration{3 * time.Second, 100 * time.Millisecond, 5 * time.Second, 4 * time.Second} {
		t, err := b.Allow()
		if err != nil {
			fmt.Println(err)
			return
		}
		t.DoneTimed(breaker.Success, took) // took: from sending to the response headers
		fmt.Println(took, b.Snapshot().ConsecutiveFailures, b.State())
	}
	// Output:
	// 3s 1 closed
	// 100ms 0 closed
	// 5s 1 closed
	// 4s 0 open
}

// Several probes and growing breaks: three probes must succeed before the
// circuit closes, and while probes keep failing the breaks double, from 5s
// up to a minute (jittered down by up to 20%).
func ExampleSettings_halfOpenProbes() {
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	b, _ := breaker.New(breaker.Settings{
		FailureThreshold: 1,
		Recovery:         5 * time.Second,
		MaxRecovery:      time.Minute,
		HalfOpenProbes:   3,
		Now:              func() time.Time { return now },
	})
	t, _ := b.Allow()
	t.Done(breaker.Failure) // opens for 5s

	// Three failed probes: breaks of exactly 5s, then 8-10s, then 16-20s.
	for _, want := range []struct{ lo, hi time.Duration }{
		{5 * time.Second, 5 * time.Second},
		{8 * time.Second, 10 * time.Second},
		{16 * time.Second, 20 * time.Second},
	} {
		now = b.Snapshot().Until
		p, _ := b.Allow()
		p.Done(breaker.Failure)
		s := b.Snapshot()
		d := s.Until.Sub(now)
		fmt.Printf("break %d in [%v, %v]: %v\n", s.Breaks, want.lo, want.hi, want.lo <= d && d <= want.hi)
	}

	now = b.Snapshot().Until
	var probes []breaker.Ticket
	for range 4 {
		if p, err := b.Allow(); err == nil {
			probes = append(probes, p)
		}
	}
	fmt.Println(len(probes), "probes admitted")
	for _, p := range probes {
		p.Done(breaker.Success)
		fmt.Println(b.State())
	}
	// Output:
	// break 1 in [5s, 5s]: true
	// break 2 in [8s, 10s]: true
	// break 3 in [16s, 20s]: true
	// 3 probes admitted
	// half-open
	// half-open
	// closed
}
