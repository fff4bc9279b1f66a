package httpclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// R8, R22: a Backoff that panics never breaks the call: the wait is the
// exponential one, as a panicking RetryIf means no retry.
func TestBackoff_R8_R22_PanicUsesTheComputedWait(t *testing.T) {
	var n atomic.Int32
	rt := RoundTripperFunc(func(*http.Request) (*http.Response, error) {
		if n.Add(1) == 1 {
			return answer(503), nil
		}
		return answer(200), nil
	})
	c, err := New("http://up.example", WithTransport(rt), WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BackoffInitial: time.Millisecond,
		Backoff: func(Attempt, *http.Response, error) time.Duration { panic("boom") }}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var resp *http.Response
	noPanic(t, "Backoff", func() { resp, err = c.Get(context.Background(), "/") })
	if err != nil || resp == nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v: want the retry to go ahead", resp, err)
	}
	resp.Body.Close()
}

// R34, R48: hedging's settings are bounded: a MaxHedges that would size a
// huge channel, and a Delay that is a unit slip, are errors from New.
func TestHedging_R34_R48_BoundedSettings(t *testing.T) {
	for _, p := range []HedgePolicy{{Delay: time.Second, MaxHedges: math.MaxInt}, {Delay: time.Second, MaxHedges: 17}, {Delay: 50}} {
		if _, err := New("", WithHedging(p)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", p, err)
		}
	}
}

// R24, R41: a redirect loop returns the last response with its error;
// Attempts reads the response.
func TestAttempts_R24_R41_RedirectLoop(t *testing.T) {
	rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 302, Header: http.Header{"Location": {"/loop"}}, Body: http.NoBody}, nil
	})
	c, err := New("http://up.example", WithTransport(rt))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Get(context.Background(), "/loop")
	if err == nil {
		t.Fatal("a redirect loop succeeded")
	}
	if resp != nil {
		defer resp.Body.Close()
	}
	if n, _ := Attempts(resp, err); n != 1 {
		t.Fatalf("Attempts = %d, want 1 for the last request", n)
	}
}

// R41: GiveUp hears of a stop only when the policy allowed more attempts.
func TestGiveUp_R41_OnlyWhenAttemptsWereLeft(t *testing.T) {
	var g giveUps
	c, err := New("http://up.example", WithTransport(RoundTripperFunc(func(*http.Request) (*http.Response, error) { return answer(503), nil })),
		WithHooks(g.hooks()), WithCircuitBreaker(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Post(context.Background(), "/", JSON(1), NoRetry())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p := RetryPolicy{MaxAttempts: 2, BackoffInitial: time.Millisecond, RetryIf: func(a Attempt, _ *http.Response, _ error, r bool) bool { return a.N < 2 && r }}
	resp, err = c.Get(context.Background(), "/", Retry(p))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := g.get(); len(got) != 0 {
		t.Fatalf("give-ups %v with no attempt left", got)
	}
}

// R39: Decode and CheckStatus take a response that has no body.
func TestDecode_R39_NilBody(t *testing.T) {
	for _, code := range []int{200, 404} {
		noPanic(t, "Decode", func() { _, _ = Decode[int](&http.Response{StatusCode: code}, nil) })
	}
}

// R41: why a loop stopped when a retry's body could not be built, or the
// caller's context ended during an attempt.
func TestAttempts_R41_ReplayFailureAndCallersContext(t *testing.T) {
	rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Path == "/hang" {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
		return answer(503), nil
	})
	c, err := New("http://up.example", WithTransport(rt), WithCircuitBreaker(0, 0),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodPut, "http://up.example/x", bytes.NewReader([]byte("x")))
	req.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("no replay") }
	_, err = c.Do(req)
	if n, why := Attempts(nil, err); n != 1 || why != StopBodyNotReplayable {
		t.Errorf("replay failure: %d, %q; want 1, body_not_replayable", n, why)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = c.Get(ctx, "/hang")
	if n, why := Attempts(nil, err); n != 1 || why != StopDeadline {
		t.Errorf("caller's deadline: %d, %q; want 1, deadline", n, why)
	}
}

// R51: the operator controls refuse a port out of range.
func TestControl_R51_PortOutOfRange(t *testing.T) {
	c, err := New("", WithTransport(okTransport))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Isolate("http://h.example:99999", time.Minute); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("Isolate: %v", err)
	}
	if len(c.Breakers()) != 0 {
		t.Fatal("a bad origin made state")
	}
}
