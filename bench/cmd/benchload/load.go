package main

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// schedule is an open-loop offered load: call i is due at start + i/rate,
// for duration.
type schedule struct {
	rate     float64 // calls per second, > 0
	duration time.Duration
}

// calls is how many calls the schedule offers.
func (s schedule) calls() int {
	return int(math.Round(s.rate * s.duration.Seconds()))
}

// at is when call i is due.
func (s schedule) at(start time.Time, i int) time.Time {
	return start.Add(time.Duration(float64(i) * float64(time.Second) / s.rate))
}

// callFunc makes call i of a run and returns its status and error. ctx is
// cancelled when the run gives up on the calls still outstanding.
type callFunc func(ctx context.Context, i int) (status int, err error)

// outcome is one call of a run. Every duration is measured from the call's
// scheduled time, not from when it actually started, so that a generator or
// a client that falls behind cannot hide the queueing (coordinated
// omission).
type outcome struct {
	lag       time.Duration // from the scheduled time to the call's start
	latency   time.Duration // from the scheduled time to the call's return
	completed bool          // it returned before the run gave up on it
	status    int
	err       error
}

// run is one open-loop run: outcomes in schedule order, when the first call
// was due, and when the run ended (the last return, or the give-up).
type run struct {
	outcomes []outcome
	start    time.Time
	end      time.Time
}

// sleeper is the generator's sleep (time.Sleep or preciseSleeper's); the
// tests stall the generator with one of their own.
type sleeper func(time.Duration)

// runOpenLoop offers s to call: each call is started on a goroutine of its
// own at its scheduled time, or as soon as possible after it when the
// generator is late (every call already due is started at once, in order).
// Once every call has been started it waits up to drain for the outstanding
// ones, then cancels their context, waits for them to return and counts them
// as not completed. The generator runs on a goroutine of its own and sleeps
// with sleep, or preciseSleeper's when sleep is nil.
func runOpenLoop(ctx context.Context, s schedule, drain time.Duration, call callFunc, sleep sleeper) run {
	n := s.calls()
	outs := make([]outcome, n)
	ends := make([]time.Time, n)
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	var wg sync.WaitGroup
	var lastEnd atomic.Int64 // nanoseconds from start to the latest return
	var start time.Time
	generated := make(chan struct{})
	go func() {
		defer close(generated)
		if sleep == nil {
			sleep = preciseSleeper()
		}
		start = time.Now()
		for next := 0; next < n; {
			now := time.Now()
			for ; next < n && !s.at(start, next).After(now); next++ {
				i, due := next, s.at(start, next)
				wg.Go(func() {
					began := time.Now()
					st, err := call(callCtx, i)
					end := time.Now()
					ends[i] = end
					outs[i] = outcome{lag: began.Sub(due), latency: end.Sub(due), status: st, err: err}
					for d := int64(end.Sub(start)); ; {
						old := lastEnd.Load()
						if d <= old || lastEnd.CompareAndSwap(old, d) {
							break
						}
					}
				})
			}
			if next < n {
				sleep(time.Until(s.at(start, next)))
			}
		}
	}()
	<-generated

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var cutoff time.Time
	t := time.NewTimer(drain)
	select {
	case <-done:
		t.Stop()
	case <-t.C:
		cutoff = time.Now()
		cancel()
		<-done
	}
	r := run{outcomes: outs, start: start, end: start.Add(time.Duration(lastEnd.Load()))}
	for i := range outs {
		outs[i].completed = cutoff.IsZero() || ends[i].Before(cutoff)
	}
	if !cutoff.IsZero() {
		r.end = cutoff
	}
	return r
}
