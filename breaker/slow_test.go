package breaker

import (
	"testing"
	"testing/synctest"
	"time"
)

// Slow calls, consecutive mode: DoneTimed(Success) slower than SlowCall
// counts as a Failure; exactly SlowCall, or faster, is a Success.
func TestSlowCallCountsAsFailureConsecutive(t *testing.T) {
	b := mustNew(t, Settings{FailureThreshold: 2, SlowCall: time.Second})
	admit(t, b).DoneTimed(Success, time.Second+time.Nanosecond)
	if s := wantState(t, b, Closed, 1); s.ConsecutiveFailures != 1 {
		t.Fatalf("slow success: ConsecutiveFailures %d, want 1", s.ConsecutiveFailures)
	}
	admit(t, b).DoneTimed(Success, time.Second)
	if s := wantState(t, b, Closed, 1); s.ConsecutiveFailures != 0 {
		t.Fatalf("success at exactly SlowCall: ConsecutiveFailures %d, want 0", s.ConsecutiveFailures)
	}
	admit(t, b).DoneTimed(Failure, 0) // a fast failure is still a failure
	admit(t, b).DoneTimed(Ignore, time.Hour)
	if s := wantState(t, b, Closed, 1); s.ConsecutiveFailures != 1 {
		t.Fatalf("ConsecutiveFailures %d, want 1", s.ConsecutiveFailures)
	}
	admit(t, b).DoneTimed(Success, time.Minute)
	wantState(t, b, Open, 2)

	var zero Ticket
	zero.DoneTimed(Success, time.Hour) // nothing, no panic
}

// Slow calls, ratio mode: a slow success is a failure in the window.
func TestSlowCallCountsAsFailureRatio(t *testing.T) {
	clock := newFakeClock()
	b := mustNew(t, Settings{FailureRatio: 0.5, MinimumThroughput: 4, SlowCall: 100 * time.Millisecond, Now: clock.Now})
	admit(t, b).DoneTimed(Success, 100*time.Millisecond)
	admit(t, b).DoneTimed(Success, 101*time.Millisecond)
	admit(t, b).DoneTimed(Success, time.Millisecond)
	wantCounts(t, b, 3, 1)
	admit(t, b).DoneTimed(Success, time.Second)
	wantState(t, b, Open, 2)
}

// Slow calls: without SlowCall, DoneTimed is Done.
func TestSlowCallOffByDefault(t *testing.T) {
	b := mustNew(t, Settings{FailureThreshold: 1})
	admit(t, b).DoneTimed(Success, 24*time.Hour)
	wantState(t, b, Closed, 1)
}

// Slow calls, R19: a probe whose success came too slowly re-opens the
// circuit, as a failed probe.
func TestSlowProbeSuccessReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		b := mustNew(t, Settings{FailureThreshold: 1, Recovery: 10 * time.Second, SlowCall: 2 * time.Second, OnStateChange: rec.record})
		fail(t, b, 1)
		time.Sleep(10 * time.Second)
		probe := admit(t, b)
		time.Sleep(3 * time.Second)
		probe.DoneTimed(Success, 3*time.Second)
		if s := wantState(t, b, Open, 4); !s.Until.Equal(time.Now().Add(10 * time.Second)) {
			t.Fatalf("snapshot %+v", s)
		}
		if ch := rec.get(); ch[len(ch)-1].Cause != CauseProbeFailure {
			t.Fatalf("last change %+v, want cause probe-failure", ch[len(ch)-1])
		}
		time.Sleep(10 * time.Second)
		admit(t, b).DoneTimed(Success, 2*time.Second)
		wantState(t, b, Closed, 6)
	})
}
