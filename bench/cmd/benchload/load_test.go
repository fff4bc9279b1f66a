package main

import (
	"context"
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	s := schedule{rate: 2000, duration: 10 * time.Second}
	if n := s.calls(); n != 20000 {
		t.Errorf("calls() = %d, want 20000", n)
	}
	start := time.Unix(0, 0)
	for i, want := range map[int]time.Duration{0: 0, 1: 500 * time.Microsecond, 2000: time.Second, 19999: 9999500 * time.Microsecond} {
		if got := s.at(start, i).Sub(start); got != want {
			t.Errorf("at(%d) = start+%v, want start+%v", i, got, want)
		}
	}
	if n := (schedule{rate: 3, duration: 500 * time.Millisecond}).calls(); n != 2 {
		t.Errorf("3/s for 0.5s: %d calls, want 2 (rounded)", n)
	}
}

// A generator that falls behind cannot hide it: a call's latency runs from
// its scheduled time, so calls started late by a stalled generator show
// the stall although the client answers at once.
func TestOpenLoopLatencyFromScheduledTime(t *testing.T) {
	const stall = 200 * time.Millisecond
	stalled := false
	sleep := func(d time.Duration) {
		if !stalled {
			stalled = true
			d = stall // the generator is held up after starting call 0
		}
		time.Sleep(d)
	}
	instant := func(context.Context, int) (int, error) { return 200, nil }
	r := runOpenLoop(context.Background(), schedule{rate: 1000, duration: 300 * time.Millisecond}, time.Second, instant, sleep)
	if len(r.outcomes) != 300 {
		t.Fatalf("%d outcomes, want 300", len(r.outcomes))
	}
	for i, o := range r.outcomes {
		if !o.completed || o.status != 200 || o.err != nil {
			t.Fatalf("call %d: %+v", i, o)
		}
		if o.latency < o.lag {
			t.Errorf("call %d: latency %v below its start lag %v", i, o.latency, o.lag)
		}
		// Call i is due i ms after the start; nothing after call 0 started
		// before the stall was over.
		if due := time.Duration(i) * time.Millisecond; i >= 1 && due < stall {
			if min := stall - due; o.lag < min || o.latency < min {
				t.Errorf("call %d, due at %v: lag %v, latency %v; want both at least %v", i, due, o.lag, o.latency, min)
			}
		}
	}
	// 101 calls on time, 199 late by 1 to 199 ms: the median is 49 ms late.
	if s := summarize("instant", r, 0, 0); s.P50 < int64(45*time.Millisecond) {
		t.Errorf("p50 %v: the stall of the generator is missing from the latencies", time.Duration(s.P50))
	}
}

// A client that serves one call at a time, 5 ms each (200 calls/s at
// most), offered 400 calls/s: the queue grows all run long and so do the
// latencies, measured from the scheduled times.
func TestOpenLoopSlowClientQueues(t *testing.T) {
	const service = 5 * time.Millisecond
	type req struct{ done chan struct{} }
	queue := make(chan req, 1000)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case q := <-queue:
				time.Sleep(service)
				close(q.done)
			case <-stop:
				return
			}
		}
	}()
	slow := func(ctx context.Context, i int) (int, error) {
		q := req{done: make(chan struct{})}
		queue <- q
		<-q.done
		return 200, nil
	}
	r := runOpenLoop(context.Background(), schedule{rate: 400, duration: 250 * time.Millisecond}, 5*time.Second, slow, nil)
	n := len(r.outcomes)
	if n != 100 {
		t.Fatalf("%d outcomes, want 100", n)
	}
	s := summarize("slow", r, 0, 0)
	if s.Completed != n {
		t.Fatalf("%d of %d completed", s.Completed, n)
	}
	// The 100th call served ends at least 500 ms after the start and is due
	// at 247.5 ms at the latest; the 99th ends at 495 ms at the earliest.
	if s.Max < int64(250*time.Millisecond) || s.P99 < int64(245*time.Millisecond) {
		t.Errorf("max %v, p99 %v: want at least 250ms and 245ms, the queue's wait", time.Duration(s.Max), time.Duration(s.P99))
	}
	mean := func(os []outcome) time.Duration {
		var sum time.Duration
		for _, o := range os {
			sum += o.latency
		}
		return sum / time.Duration(len(os))
	}
	first, last := mean(r.outcomes[:n/4]), mean(r.outcomes[n-n/4:])
	if last < first+100*time.Millisecond {
		t.Errorf("mean latency of the first quarter %v, of the last %v: want the latency to grow with the queue", first, last)
	}
	// Throughput is what the client managed, not what was offered.
	if s.Throughput > 210 {
		t.Errorf("throughput %.0f calls/s from a client that serves 200 at most", s.Throughput)
	}
}

// Calls still outstanding after the drain are given up: cancelled, not
// completed, and slower than any completed call.
func TestOpenLoopDrainGivesUp(t *testing.T) {
	stuck := func(ctx context.Context, i int) (int, error) {
		if i%2 == 0 {
			return 200, nil
		}
		<-ctx.Done()
		return 0, ctx.Err()
	}
	t0 := time.Now()
	r := runOpenLoop(context.Background(), schedule{rate: 1000, duration: 20 * time.Millisecond}, 50*time.Millisecond, stuck, nil)
	if el := time.Since(t0); el > 2*time.Second {
		t.Errorf("the run took %v with a 50ms drain", el)
	}
	for i, o := range r.outcomes {
		if o.completed != (i%2 == 0) {
			t.Errorf("call %d: completed %v", i, o.completed)
		}
	}
	s := summarize("stuck", r, 0, 0)
	if s.Completed != 10 || s.Errors != 10 || s.ErrorsOther != 10 || s.P50 < 0 || s.P99 != -1 || s.Max != -1 {
		t.Errorf("summary %+v: want 10 completed, 10 given up, p50 measured, p99 incomplete", s)
	}
	// The last call is due at 19 ms; the drain begins once it has started.
	if d := r.end.Sub(r.start); d < 69*time.Millisecond {
		t.Errorf("run of %v: want it to end at the give-up, 50ms after the last call (due at 19ms) started", d)
	}
}
