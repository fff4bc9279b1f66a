package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// R6, R7, R13: the loop's decision is a pure function of the outcome.
func TestDecide_R6_R7_PureDecision(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		n, max, policyMax     int
		retryable, repeatable bool
		bodyOnce              bool
		answer                *bool
		retry                 bool
		stop                  Stop
	}{
		{1, 3, 3, true, true, false, nil, true, ""},
		{3, 3, 3, true, true, false, nil, false, StopExhausted},
		{1, 1, 3, true, true, true, nil, false, StopBodyNotReplayable},
		{1, 1, 1, true, true, false, nil, false, StopExhausted},
		{1, 3, 3, false, true, false, nil, false, StopSettled},
		{1, 3, 3, true, false, false, nil, false, StopNotIdempotent},
		{1, 3, 3, false, false, false, nil, false, StopSettled},
		{1, 3, 3, true, true, false, &no, false, StopRetryIf}, // RetryIf narrows
		{1, 3, 3, false, true, false, &yes, true, ""},         // RetryIf widens
		{3, 3, 3, false, true, false, &yes, false, StopExhausted},
		{1, 3, 3, true, false, false, &yes, false, StopNotIdempotent}, // never a POST that may have been processed
		{1, 3, 3, false, false, false, &yes, false, StopSettled},
		{1, 3, 3, false, true, false, &no, false, StopSettled},
	} {
		retry, stop := decide(tc.n, tc.max, tc.policyMax, tc.retryable, tc.repeatable, tc.bodyOnce, tc.answer)
		if retry != tc.retry || stop != tc.stop {
			t.Errorf("%+v: decide = %v, %q", tc, retry, stop)
		}
	}
}

// R8, R9: the wait is the policy's Backoff when set (as it is, no jitter),
// else jittered exponential backoff; Retry-After wins on 429 and 503, and
// one over BackoffMax stops the loop.
func TestNextWait_R8_R9_CustomBackoff(t *testing.T) {
	now := time.Unix(1000, 0)
	linear := RetryPolicy{BackoffMax: time.Minute, Backoff: func(a Attempt, _ *http.Response, _ error) time.Duration {
		return time.Duration(a.N) * 100 * time.Millisecond
	}}
	for n, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 5: 500 * time.Millisecond} {
		if w, ra, stop := nextWait(linear, Attempt{N: n}, &http.Response{StatusCode: 500}, nil, now); w != want || ra || stop != "" {
			t.Errorf("linear n=%d: %v %v %q, want %v", n, w, ra, stop, want)
		}
	}
	ra := &http.Response{StatusCode: 503, Header: http.Header{"Retry-After": {"2"}}}
	if w, from, _ := nextWait(linear, Attempt{N: 1}, ra, nil, now); w != 2*time.Second || !from {
		t.Errorf("Retry-After with a custom Backoff: %v %v", w, from)
	}
	neg := RetryPolicy{BackoffMax: time.Minute, Backoff: func(Attempt, *http.Response, error) time.Duration { return -time.Second }}
	if w, _, _ := nextWait(neg, Attempt{N: 1}, nil, io.EOF, now); w != 0 {
		t.Errorf("negative Backoff: %v", w)
	}
	over := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"3600"}}}
	if _, _, stop := nextWait(linear, Attempt{N: 1}, over, nil, now); stop != StopRetryAfter {
		t.Errorf("Retry-After over the cap: %q", stop)
	}
	p, _ := RetryPolicy{BackoffInitial: time.Second, Jitter: -1}.resolve()
	if w, _, _ := nextWait(p, Attempt{N: 3}, nil, io.EOF, now); w != 4*time.Second {
		t.Errorf("exponential: %v", w)
	}
}

// R7, R8: on the wire, RetryIf widens (a 404 after a write is retried for a
// GET, never for a POST without a key), and Backoff sets the waits.
func TestRetryIf_R7_WidensButNeverForAPOST(t *testing.T) {
	var hits atomic.Int32
	rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		if hits.Add(1)%3 != 0 {
			return answer(404), nil
		}
		return answer(200), nil
	})
	var waits []time.Duration
	c, err := New("http://up.example", WithTransport(rt), WithCircuitBreaker(0, 0),
		WithRetryPolicy(RetryPolicy{
			MaxAttempts: 3,
			Backoff:     func(a Attempt, _ *http.Response, _ error) time.Duration { return time.Duration(a.N) * time.Millisecond },
			RetryIf: func(a Attempt, resp *http.Response, _ error, retryable bool) bool {
				return retryable || a.Method == http.MethodGet && resp != nil && resp.StatusCode == 404
			},
		}),
		WithHooks(Hooks{Retry: func(_ context.Context, e RetryEvent) { waits = append(waits, e.Wait) }}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Get(context.Background(), "/after-write")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	if n, why := Attempts(resp, nil); n != 3 || why != StopSettled {
		t.Errorf("Attempts = %d, %q; want 3, settled", n, why)
	}
	resp.Body.Close()
	if fmt.Sprint(waits) != "[1ms 2ms]" {
		t.Errorf("waits %v, want Backoff's [1ms 2ms]", waits)
	}
	hits.Store(0)
	resp, err = c.Post(context.Background(), "/charge", JSON(1))
	if err != nil || resp.StatusCode != 404 || hits.Load() != 1 {
		t.Fatalf("a POST was retried on RetryIf's say-so: %v %v, %d requests", resp, err, hits.Load())
	}
	resp.Body.Close()
}

// R41: Attempts tells how many attempts a call made and why its loop
// stopped, from the response or the error.
func TestAttempts_R41_TellsExhaustedFromNotRetried(t *testing.T) {
	status := func(code int) http.RoundTripper {
		return RoundTripperFunc(func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("x"))}, nil
		})
	}
	refused := RoundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("boom") })
	fast := RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond}
	for _, tc := range []struct {
		name   string
		rt     http.RoundTripper
		method string
		n      int
		stop   Stop
	}{
		{"success", status(200), http.MethodGet, 1, StopSettled},
		{"503 exhausted", status(503), http.MethodGet, 3, StopExhausted},
		{"503 POST", status(503), http.MethodPost, 1, StopNotIdempotent},
		{"404", status(404), http.MethodGet, 1, StopSettled},
		{"unknown error", refused, http.MethodGet, 1, StopSettled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New("http://up.example", WithTransport(tc.rt), WithCircuitBreaker(0, 0), WithRetryPolicy(fast))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			resp, err := c.Request(context.Background(), tc.method, "/", Body(strings.NewReader("b"), ""))
			n, why := Attempts(resp, err)
			if resp != nil {
				resp.Body.Close()
			}
			if n != tc.n || why != tc.stop {
				t.Fatalf("Attempts = %d, %q; want %d, %q (err %v)", n, why, tc.n, tc.stop, err)
			}
		})
	}
	c, _ := New("http://up.example", WithTransport(status(200)))
	defer c.Close()
	c.Isolate("http://up.example", time.Hour)
	_, err := c.Get(context.Background(), "/")
	if n, why := Attempts(nil, err); n != 0 || why != StopCircuitOpen || !errors.Is(err, breaker.ErrOpen) {
		t.Fatalf("refused call: %d attempts, %q, %v; want 0, circuit_open and an error matching breaker.ErrOpen", n, why, err)
	}
	c.Close()
	_, err = c.Get(context.Background(), "/")
	if n, why := Attempts(nil, err); n != 0 || why != StopClosed {
		t.Fatalf("after Close: %d attempts, %q", n, why)
	}
}
