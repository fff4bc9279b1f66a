package httpclient

// Rules about time, tested exactly under testing/synctest with the in-memory
// upstream: no test here sleeps in real time, and a fake second costs nothing.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/httpclienttest"
)

// attemptTimes records when each attempt's outcome was decided.
func attemptTimes(times *[]time.Duration, start *time.Time) Option {
	var mu sync.Mutex
	return WithHooks(Hooks{AttemptDone: func(context.Context, Attempt, AttemptResult) {
		mu.Lock()
		defer mu.Unlock()
		*times = append(*times, time.Since(*start))
	}})
}

// R8: without jitter the waits are exactly initial, 2*initial, ... capped.
func TestTime_R8_ExactBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var times []time.Duration
		start := time.Now()
		srv, c := memUpstream(t, httpclienttest.Sequence{{Status: 503}},
			WithRetryPolicy(RetryPolicy{MaxAttempts: 5, BackoffInitial: 100 * time.Millisecond, BackoffMax: 300 * time.Millisecond, Jitter: -1}),
			WithCircuitBreaker(0, 0), attemptTimes(&times, &start))
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ms := time.Millisecond
		want := []time.Duration{0, 100 * ms, 300 * ms, 600 * ms, 900 * ms}
		if len(times) != len(want) {
			t.Fatalf("attempt times %v, want %v", times, want)
		}
		for i := range want {
			if times[i] != want[i] {
				t.Errorf("attempt %d at %v, want %v", i+1, times[i], want[i])
			}
		}
		if srv.Hits() != 5 {
			t.Errorf("hits %d", srv.Hits())
		}
	})
}

// R8: jitter only shortens, by at most the fraction.
func TestTime_R8_JitterBounds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var times []time.Duration
		start := time.Now()
		_, c := memUpstream(t, httpclienttest.Sequence{{Status: 503}},
			WithRetryPolicy(RetryPolicy{MaxAttempts: 30, BackoffInitial: time.Second, BackoffMax: time.Second, Jitter: 0.5}),
			WithCircuitBreaker(0, 0), attemptTimes(&times, &start))
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		shorter := false
		for i := 1; i < len(times); i++ {
			w := times[i] - times[i-1]
			if w > time.Second || w < 500*time.Millisecond {
				t.Errorf("wait %d = %v, outside [500ms, 1s]", i, w)
			}
			shorter = shorter || w < time.Second
		}
		if !shorter {
			t.Error("jitter never shortened a wait")
		}
	})
}

// R9: Retry-After replaces the computed wait, unjittered; 0 means no wait;
// an HTTP-date counts from the response's Date.
func TestTime_R9_RetryAfterHonoured(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp httpclienttest.Response
		want time.Duration
	}{
		{"503 seconds", httpclienttest.Status(503, "Retry-After", "2"), 2 * time.Second},
		{"429 seconds", httpclienttest.Status(429, "Retry-After", "3"), 3 * time.Second},
		{"zero", httpclienttest.Status(503, "Retry-After", "0"), 0},
		{"invalid falls back to backoff", httpclienttest.Status(503, "Retry-After", "soon"), 100 * time.Millisecond},
		{"502 ignores it", httpclienttest.Status(502, "Retry-After", "4"), 100 * time.Millisecond},
		{"date against Date", httpclienttest.Status(503,
			"Date", "Wed, 21 Oct 2015 07:28:00 GMT", "Retry-After", "Wed, 21 Oct 2015 07:28:04 GMT"), 4 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var times []time.Duration
				start := time.Now()
				_, c := memUpstream(t, httpclienttest.Sequence{tc.resp, httpclienttest.OK("ok")},
					WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BackoffInitial: 100 * time.Millisecond, BackoffMax: 5 * time.Second, Jitter: 0.5}),
					attemptTimes(&times, &start))
				resp, err := c.Get(context.Background(), "/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if len(times) != 2 {
					t.Fatalf("times %v", times)
				}
				got := times[1] - times[0]
				if tc.name == "invalid falls back to backoff" || tc.name == "502 ignores it" {
					if got > tc.want || got < tc.want/2 {
						t.Errorf("wait %v, want a jittered %v", got, tc.want)
					}
					return
				}
				if got != tc.want {
					t.Errorf("wait %v, want exactly %v", got, tc.want)
				}
			})
		})
	}
}

// R9: a Retry-After over BackoffMax returns the response at once.
func TestTime_R9_OverCapReturnsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.Status(503, "Retry-After", "9")},
			WithRetryPolicy(RetryPolicy{BackoffMax: 8 * time.Second}))
		start := time.Now()
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 503 || time.Since(start) != 0 || srv.Hits() != 1 {
			t.Errorf("status %d after %v, hits %d", resp.StatusCode, time.Since(start), srv.Hits())
		}
	})
}

// R10: with less time left than the next wait, the call returns its last
// outcome at once instead of sleeping in vain.
func TestTime_R10_NoSleepingPastTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{{Status: 503, Body: []byte("last")}},
			WithRetryPolicy(RetryPolicy{BackoffInitial: 500 * time.Millisecond, Jitter: -1}))
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		resp, err := c.Get(ctx, "/")
		if err != nil {
			t.Fatal(err)
		}
		if readAll(t, resp) != "last" || time.Since(start) != 0 || srv.Hits() != 1 {
			t.Errorf("after %v, hits %d", time.Since(start), srv.Hits())
		}
	})
}

// R10: the caller's context ending during a wait ends the call at once with a
// nil response and the context's error.
func TestTime_R10_CancelDuringWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := memUpstream(t, httpclienttest.Sequence{{Status: 503}},
			WithRetryPolicy(RetryPolicy{BackoffInitial: time.Second, Jitter: -1}))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(300*time.Millisecond, cancel)
		start := time.Now()
		resp, err := c.Get(ctx, "/")
		if resp != nil || !errors.Is(err, context.Canceled) {
			t.Fatalf("resp %v err %v", resp, err)
		}
		if time.Since(start) != 300*time.Millisecond {
			t.Errorf("returned after %v, want 300ms", time.Since(start))
		}
	})
}

// R30: Close wakes a call waiting between attempts with ErrClosed.
func TestTime_R30_CloseWakesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := memUpstream(t, httpclienttest.Sequence{{Status: 503}},
			WithRetryPolicy(RetryPolicy{BackoffInitial: time.Second, Jitter: -1}))
		time.AfterFunc(200*time.Millisecond, func() { c.Close() })
		start := time.Now()
		resp, err := c.Get(context.Background(), "/")
		if resp != nil || !errors.Is(err, ErrClosed) || time.Since(start) != 200*time.Millisecond {
			t.Fatalf("resp %v err %v after %v", resp, err, time.Since(start))
		}
	})
}

// R14, R15: the attempt timeout covers the body; its error answers
// ErrAttemptTimeout and DeadlineExceeded; NoTimeout lifts it.
func TestTime_R14_R15_TimeoutCoversBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := httpclienttest.Response{Body: []byte("abcdefgh"), Fault: httpclienttest.SlowBody, BodyDelay: 100 * time.Millisecond, BodyChunks: 4}
		_, c := memUpstream(t, httpclienttest.Sequence{slow}, WithTimeout(200*time.Millisecond))
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		var ne net.Error
		if !errors.Is(err, ErrAttemptTimeout) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("R14: body read past the attempt timeout: %v", err)
		}
		resp, err = c.Get(context.Background(), "/", NoTimeout())
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "abcdefgh" {
			t.Errorf("NoTimeout body %q", got)
		}
		resp, err = c.Get(context.Background(), "/", Timeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, resp); got != "abcdefgh" {
			t.Errorf("Timeout(1s) body %q", got)
		}
	})
}

// R15, R6: a hung upstream times out each attempt, which is retried; the
// final error answers ErrAttemptTimeout and is a net.Error with Timeout.
func TestTime_R15_AttemptTimeoutRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{{Fault: httpclienttest.Hang}},
			WithTimeout(time.Second), WithCircuitBreaker(0, 0),
			WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BackoffInitial: 100 * time.Millisecond, Jitter: -1}))
		start := time.Now()
		_, err := c.Get(context.Background(), "/")
		var ne net.Error
		if !errors.Is(err, ErrAttemptTimeout) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("err = %v", err)
		}
		if ClassOf(err) != "attempt_timeout" {
			t.Errorf("class %q", ClassOf(err))
		}
		if time.Since(start) != 2100*time.Millisecond || srv.Hits() != 2 {
			t.Errorf("after %v, hits %d", time.Since(start), srv.Hits())
		}
	})
}

// R15, R4: the caller's own deadline is told apart from the attempt timeout,
// is not retried, and still counts as a timeout in the breaker.
func TestTime_R15_R4_CallerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{{Fault: httpclienttest.Hang}},
			WithTimeout(10*time.Second), WithCircuitBreaker(1, time.Minute))
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		_, err := c.Get(ctx, "/")
		if errors.Is(err, ErrAttemptTimeout) || !errors.Is(err, context.DeadlineExceeded) || ctx.Err() == nil {
			t.Fatalf("err = %v", err)
		}
		if srv.Hits() != 1 {
			t.Errorf("hits %d", srv.Hits())
		}
		if _, err := c.Get(context.Background(), "/"); !errors.Is(err, ErrCircuitOpen) {
			t.Errorf("R4: the hung upstream was not counted: %v", err)
		}
	})
}

// R4, R19: a cancelled call counts for nothing; a cancelled probe releases
// its slot.
func TestTime_R19_CancelledProbeReleasesSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{{Status: 500}, {Fault: httpclienttest.Hang}, httpclienttest.OK("ok")},
			WithCircuitBreaker(1, time.Second), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		resp, _ := c.Get(context.Background(), "/")
		resp.Body.Close()
		time.Sleep(time.Second) // fake time: the circuit half-opens
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		if _, err := c.Get(ctx, "/"); !errors.Is(err, context.Canceled) {
			t.Fatalf("probe: %v", err)
		}
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatalf("the cancelled probe kept its slot: %v", err)
		}
		if readAll(t, resp) != "ok" || srv.Hits() != 3 {
			t.Errorf("hits %d", srv.Hits())
		}
	})
}

// R19: with 50 callers when the circuit half-opens, exactly one probe reaches
// the upstream; the others fail fast; a good probe closes the circuit.
func TestTime_R19_ExactlyOneProbe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{{Status: 503}, {Delay: 200 * time.Millisecond, Body: []byte("probe")}, httpclienttest.OK("after")},
			WithCircuitBreaker(1, time.Second), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		resp, _ := c.Get(context.Background(), "/")
		resp.Body.Close()
		time.Sleep(time.Second)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, fast := 0, 0
		for range 50 {
			wg.Go(func() {
				resp, err := c.Get(context.Background(), "/")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
					resp.Body.Close()
				case errors.Is(err, ErrCircuitOpen):
					fast++
				default:
					t.Errorf("unexpected %v", err)
				}
			})
		}
		wg.Wait()
		if ok != 1 || fast != 49 || srv.Hits() != 2 {
			t.Fatalf("ok %d fast %d hits %d; want 1, 49, 2", ok, fast, srv.Hits())
		}
		resp, err := c.Get(context.Background(), "/")
		if err != nil || readAll(t, resp) != "after" {
			t.Fatalf("after a good probe: %v", err)
		}
	})
}

// R19: a failed probe re-opens the circuit for exactly recovery.
func TestTime_R19_FailedProbeReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{{Status: 503}, {Status: 503}, httpclienttest.OK("ok")},
			WithCircuitBreaker(1, time.Second), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		resp, _ := c.Get(context.Background(), "/")
		resp.Body.Close()
		time.Sleep(time.Second)
		resp, err := c.Get(context.Background(), "/") // the probe fails
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		time.Sleep(time.Second - time.Nanosecond)
		_, err = c.Get(context.Background(), "/")
		var coe *CircuitOpenError
		if !errors.As(err, &coe) || !coe.Until.Equal(time.Now().Add(time.Nanosecond)) {
			t.Fatalf("1ns before recovery: %v", err)
		}
		time.Sleep(time.Nanosecond)
		resp, err = c.Get(context.Background(), "/")
		if err != nil {
			t.Fatalf("at recovery: %v", err)
		}
		resp.Body.Close()
		if srv.Hits() != 3 {
			t.Errorf("hits %d", srv.Hits())
		}
	})
}

// R19: a probe whose call lifted the timeout is bounded by recovery: past it
// the probe counts as a failure and the circuit re-opens.
func TestTime_R19_StuckProbeBoundedByRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{{Status: 503}, {Delay: time.Hour}, httpclienttest.OK("ok")},
			WithCircuitBreaker(1, time.Second), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		resp, _ := c.Get(context.Background(), "/")
		resp.Body.Close()
		time.Sleep(time.Second)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.Get(ctx, "/", NoTimeout()) // the stuck probe
		}()
		time.Sleep(500 * time.Millisecond)
		if _, err := c.Get(context.Background(), "/"); !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("during the probe: %v", err)
		}
		time.Sleep(500 * time.Millisecond) // the probe's bound passes
		if _, err := c.Get(context.Background(), "/"); !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("R19: past the bound the probe must count as a failure: %v", err)
		}
		time.Sleep(time.Second) // recovery from the probe's deadline
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatalf("after recovery: %v", err)
		}
		resp.Body.Close()
		cancel()
		<-done
		if srv.Hits() != 3 {
			t.Errorf("hits %d", srv.Hits())
		}
	})
}

// R20: a slow success admitted while closed cannot close a circuit that has
// since opened.
func TestTime_R20_StaleSuccessIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		script := httpclienttest.ScriptFunc(func(hit int, r *http.Request) httpclienttest.Response {
			if r.URL.Path == "/slow" {
				return httpclienttest.Response{Delay: 2 * time.Second}
			}
			return httpclienttest.Response{Status: 500}
		})
		_, c := memUpstream(t, script, WithCircuitBreaker(1, time.Minute), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		done := make(chan error)
		go func() {
			resp, err := c.Get(context.Background(), "/slow")
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		synctest.Wait()
		resp, _ := c.Get(context.Background(), "/fail") // opens the circuit
		resp.Body.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, err := c.Get(context.Background(), "/"); !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("R20: a stale success closed the circuit: %v", err)
		}
	})
}

// R21: a hop that made an attempt never returns *CircuitOpenError: when the
// circuit opens between attempts, the last outcome comes back.
func TestTime_R21_R53_OpenBetweenAttemptsReturnsLastOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		srv, c := memUpstream(t, httpclienttest.Sequence{{Status: 503, Body: []byte("one")}, {Status: 502, Body: []byte("two")}},
			WithCircuitBreaker(2, time.Minute), WithHooks(rec.hooks()),
			WithRetryPolicy(RetryPolicy{MaxAttempts: 5, BackoffInitial: 10 * time.Millisecond}))
		start := time.Now()
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatalf("R21: %v", err)
		}
		if time.Since(start) > 10*time.Millisecond {
			t.Errorf("R53: returned after %v: it slept for an attempt the open circuit would refuse", time.Since(start))
		}
		if resp.StatusCode != 502 || readAll(t, resp) != "two" || srv.Hits() != 2 {
			t.Errorf("status %d hits %d", resp.StatusCode, srv.Hits())
		}
		if len(rec.giveUps) != 1 || rec.giveUps[0].Reason != "circuit_open" || rec.giveUps[0].Attempt.N != 2 {
			t.Errorf("give-ups %+v", rec.giveUps)
		}
	})
}
