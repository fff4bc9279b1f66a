package httpclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// answer returns a response with code and no body.
func answer(code int) *http.Response {
	return &http.Response{StatusCode: code, Body: http.NoBody, Header: http.Header{}}
}

// slowly answers code after d, or fails when the attempt's context ends.
func slowly(r *http.Request, d time.Duration, code int) (*http.Response, error) {
	select {
	case <-time.After(d):
		return answer(code), nil
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
}

// giveUps records GiveUp reasons.
type giveUps struct {
	mu      sync.Mutex
	reasons []string
}

func (g *giveUps) hooks() Hooks {
	return Hooks{GiveUp: func(_ context.Context, _ Attempt, why Stop) {
		g.mu.Lock()
		g.reasons = append(g.reasons, string(why))
		g.mu.Unlock()
	}}
}

func (g *giveUps) get() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.reasons)
}

// R46, R48: a hedge the breaker refuses costs no budget. A slow half-open
// probe with a 2ms hedge delay spent the whole budget on refused hedges,
// and the next caller's first retry was refused for "budget".
func TestHedge_R46_RefusedHedgeSpendsNoBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			switch n.Add(1) {
			case 1:
				return answer(503), nil // opens the circuit
			case 3:
				return answer(429), nil // retryable, and no breaker failure
			case 2: // the probe, slow
				return slowly(r, time.Second, 200)
			}
			return answer(200), nil
		})
		var g giveUps
		c, err := New("http://up.example", WithTransport(rt), WithCircuitBreaker(1, time.Second), WithHooks(g.hooks()),
			WithHedging(HedgePolicy{Delay: 2 * time.Millisecond}), WithRetryBudget(RetryBudget{Reserve: 10}),
			WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BackoffInitial: time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range 2 { // the failure that opens the circuit, then the probe
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			time.Sleep(time.Second)
		}
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || n.Load() != 4 {
			t.Fatalf("status %d after %d requests; want the 429 retried to a 200 (give-ups %v)", resp.StatusCode, n.Load(), g.get())
		}
		if slices.Contains(g.get(), "budget") {
			t.Fatalf("give-ups %v: refused hedges spent the budget", g.get())
		}
	})
}

// R48: no hedge while half-open, also with several probe slots: one call
// sends a recovering upstream one request, not two.
func TestHedge_R48_NoHedgeWhileHalfOpenWithSeveralProbes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			if n.Add(1) == 1 {
				return answer(503), nil
			}
			return slowly(r, time.Second, 200)
		})
		c, err := New("http://up.example", WithTransport(rt), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}),
			WithBreaker(breaker.Settings{FailureThreshold: 1, Recovery: time.Second, HalfOpenProbes: 2}),
			WithHedging(HedgePolicy{Delay: 2 * time.Millisecond, MaxHedges: 3}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		resp, _ := c.Get(context.Background(), "/")
		resp.Body.Close()
		time.Sleep(time.Second)
		resp, err = c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := n.Load() - 1; got != 1 {
			t.Fatalf("the probe call sent %d requests, want 1: no hedge while half-open", got)
		}
	})
}

// R30, R48: a hedge timer that fires after Close starts nothing.
func TestHedge_R30_NoHedgeAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			n.Add(1)
			return slowly(r, time.Second, 200)
		})
		c, err := New("http://up.example", WithTransport(rt), WithHedging(HedgePolicy{Delay: 100 * time.Millisecond, MaxHedges: 2}))
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			resp, err := c.Get(context.Background(), "/")
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		c.Close()
		if err := <-done; err != nil {
			t.Fatalf("the attempt in flight at Close: %v", err)
		}
		if got := n.Load(); got != 1 {
			t.Fatalf("%d requests: hedges started after Close", got)
		}
	})
}

// R44: a successful attempt's class is "", as ClassOf(nil), so metrics
// grouped by class do not count successes as errors; a 4xx or 5xx is
// "status".
func TestAttemptDone_R44_SuccessClassIsEmpty(t *testing.T) {
	codes := []int{200, 503, 200}
	var i atomic.Int32
	rt := RoundTripperFunc(func(*http.Request) (*http.Response, error) { return answer(codes[i.Add(1)-1]), nil })
	var mu sync.Mutex
	var classes []string
	c, err := New("http://up.example", WithTransport(rt), WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BackoffInitial: time.Millisecond}),
		WithHooks(Hooks{AttemptDone: func(_ context.Context, _ Attempt, r AttemptResult) {
			mu.Lock()
			classes = append(classes, string(r.Class))
			mu.Unlock()
		}}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 2 {
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if want := []string{"", "status", ""}; !slices.Equal(classes, want) {
		t.Fatalf("classes %q, want %q", classes, want)
	}
}

// onceReader is a body that cannot be replayed.
type onceReader struct{ io.Reader }

// R7, R13, R41: a retryable outcome that the request itself keeps from a
// retry leaves a trace: GiveUp with its own reason.
func TestGiveUp_NotRetriedForTheRequestsSakeLeavesATrace(t *testing.T) {
	rt := RoundTripperFunc(func(*http.Request) (*http.Response, error) { return answer(503), nil })
	var g giveUps
	c, err := New("http://up.example", WithTransport(rt), WithHooks(g.hooks()), WithCircuitBreaker(0, 0),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, call := range []func() (*http.Response, error){
		func() (*http.Response, error) { return c.Post(context.Background(), "/", JSON(1)) },
		func() (*http.Response, error) {
			return c.Put(context.Background(), "/", Body(onceReader{strings.NewReader("x")}, "text/plain"))
		},
		func() (*http.Response, error) { return c.Get(context.Background(), "/", NoRetry()) },
	} {
		resp, err := call()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if want := []string{"not_idempotent", "body_not_replayable"}; !slices.Equal(g.get(), want) {
		t.Fatalf("give-ups %q, want %q (NoRetry asked for one attempt: no trace)", g.get(), want)
	}
}

// R23: a request built by hand with a header name not in canonical form
// ("authorization") keeps a default of that name from going out beside it.
func TestDefaultHeaders_R23_HandBuiltHeaderAnySpelling(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Values("Authorization")
	}))
	defer srv.Close()
	c, err := New(srv.URL, WithDefaultHeaders(http.Header{"Authorization": {"Bearer default"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Header["authorization"] = []string{"Bearer call"}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !slices.Equal(got, []string{"Bearer call"}) {
		t.Fatalf("Authorization %q, want only the call's", got)
	}
}
