package httpclient

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/breaker"

	"github.com/tempestsdk/tempest/httpclienttest"
)

// R45: the ratio mode opens on the share of failures once the minimum
// throughput is reached, not on a run of consecutive ones.
func TestModes_R45_FailureRatio(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.ScriptFunc(func(hit int, _ *http.Request) httpclienttest.Response {
			if hit%2 == 0 {
				return httpclienttest.Response{Status: 500}
			}
			return httpclienttest.OK("")
		}), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}),
			WithBreaker(breaker.Settings{FailureRatio: 0.5, MinimumThroughput: 6, Window: time.Minute}))
		for i := range 5 { // S F S F S: never two failures in a row, below the throughput
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatalf("call %d: %v", i+1, err)
			}
			resp.Body.Close()
		}
		resp, err := c.Get(context.Background(), "/") // F: 3 of 6
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if _, err := c.Get(context.Background(), "/"); !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("3 failures in 6 at ratio 0.5: %v", err)
		}
		if s := c.Breakers()["http://upstream.test:80"]; s.State.String() != "open" {
			t.Errorf("snapshot %+v", s)
		}
		if srv.Hits() != 6 {
			t.Errorf("hits %d", srv.Hits())
		}
	})
}

// R45: a response slower than the slow-call threshold counts as a failure.
func TestModes_R45_SlowCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := memUpstream(t, httpclienttest.Sequence{{Delay: 200 * time.Millisecond}},
			WithRetryPolicy(RetryPolicy{MaxAttempts: 1}),
			WithBreaker(breaker.Settings{FailureThreshold: 2, SlowCall: 100 * time.Millisecond}))
		for range 2 {
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if _, err := c.Get(context.Background(), "/"); !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("two slow calls did not open the circuit: %v", err)
		}
	})
}

// R45: several half-open probes, all of which must succeed.
func TestModes_R45_HalfOpenProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{{Status: 503}, {Delay: 100 * time.Millisecond}},
			WithRetryPolicy(RetryPolicy{MaxAttempts: 1}),
			WithBreaker(breaker.Settings{FailureThreshold: 1, Recovery: time.Second, HalfOpenProbes: 3}))
		resp, _ := c.Get(context.Background(), "/")
		resp.Body.Close()
		time.Sleep(time.Second)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if resp, err := c.Get(context.Background(), "/"); err == nil {
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		if srv.Hits() != 1+3 {
			t.Errorf("hits %d, want 1 + 3 probes", srv.Hits())
		}
		if s := c.Breakers()["http://upstream.test:80"]; s.State.String() != "closed" {
			t.Errorf("after 3 good probes: %+v", s)
		}
	})
}

// R45: invalid breaker settings are errors from New, and so are the
// per-breaker callbacks; the last of WithCircuitBreaker and WithBreaker
// wins.
func TestModes_R45_Config(t *testing.T) {
	for _, s := range []breaker.Settings{{FailureRatio: 1.5}, {MinimumThroughput: -1}, {Window: -1}, {HalfOpenProbes: -1},
		{SlowCall: -1}, {MaxRecovery: -1}, {FailureThreshold: -1}, {Recovery: -1},
		{Now: time.Now}, {OnStateChange: func(breaker.Change) {}}, {OnPanic: func(any) {}}, {Recovery: 30}} {
		if _, err := New("", WithBreaker(s)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", s, err)
		}
	}
	c, _ := New("", WithBreaker(breaker.Settings{FailureRatio: 0.5}), WithCircuitBreaker(0, 0))
	if !c.breakerOff {
		t.Error("WithCircuitBreaker(0, 0) after WithBreaker did not disable the breaker")
	}
	c, _ = New("", WithCircuitBreaker(0, 0), WithBreaker(breaker.Settings{}))
	if c.breakerOff || c.breaker.FailureRatio != 0 {
		t.Error("zero settings after WithCircuitBreaker(0, 0) are not the default breaker")
	}
}
