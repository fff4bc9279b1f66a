package httpclient

// Issue 4's features: retry budget (R46), total deadline (R47), hedging (R48)
// and the attempt header (R49). Time rules run under synctest in memory.

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/requestid"
)

// outage offers 500 calls per second for 10 s to an upstream that fails
// every request, breaker off, and returns attempts received per call and the
// number of hops cut short by the budget.
func outage(t *testing.T, b RetryBudget) (perCall float64, budgetStops int64) {
	synctest.Test(t, func(t *testing.T) {
		var stops atomic.Int64
		srv, c := memUpstream(t, httpclienttest.Sequence{{Status: 503}},
			WithCircuitBreaker(0, 0), WithRetryBudget(b),
			WithHooks(Hooks{GiveUp: func(_ context.Context, _ Attempt, why Stop) {
				if why == StopBudget {
					stops.Add(1)
				}
			}}))
		const rate, seconds = 500, 10
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / rate)
		for range rate * seconds {
			<-tick.C
			wg.Go(func() {
				resp, err := c.Get(context.Background(), "/")
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
			})
		}
		tick.Stop()
		wg.Wait()
		perCall = float64(srv.Hits()) / (rate * seconds)
		budgetStops = stops.Load()
	})
	return perCall, budgetStops
}

// R46: in a full outage the budget keeps the load at or below 1.25 attempts
// per call; without it every call makes MaxAttempts.
func TestBudget_R46_OutageLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("15,000 in-memory requests")
	}
	on, stops := outage(t, RetryBudget{})
	off, _ := outage(t, RetryBudget{Disabled: true})
	t.Logf("outage, 500 calls/s for 10 s, breaker off: attempts per call %.3f with the budget, %.3f without", on, off)
	if on > 1.25 {
		t.Errorf("with the budget: %.3f attempts per call, want <= 1.25", on)
	}
	if off < 2.99 {
		t.Errorf("without the budget: %.3f attempts per call, want 3", off)
	}
	if stops == 0 {
		t.Error("the GiveUp hook never reported the budget")
	}
}

// R46: a single caller in ordinary conditions never meets the budget: with a
// third of attempts failing, every retry MaxAttempts allows is made.
func TestBudget_R46_SingleCallerUnaffected(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		srv, c := memUpstream(t, httpclienttest.ScriptFunc(func(hit int, _ *http.Request) httpclienttest.Response {
			if hit%3 == 1 {
				return httpclienttest.Response{Status: 503}
			}
			return httpclienttest.OK("ok")
		}), WithCircuitBreaker(0, 0), WithHooks(rec.hooks()))
		for range 600 {
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("a call ended with %d: a retry was refused", resp.StatusCode)
			}
			resp.Body.Close()
		}
		if len(rec.giveUps) != 0 || len(rec.retries) == 0 || srv.Hits() != 600+len(rec.retries) {
			t.Errorf("give-ups %v, retries %d, hits %d", rec.giveUps, len(rec.retries), srv.Hits())
		}
	})
}

// R46: the budget's arithmetic: Reserve at once, then Ratio of the calls.
func TestBudget_R46_Arithmetic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, bc := new(budget), newBudgetConfig(RetryBudget{Ratio: 0.5, Reserve: 2, Window: 10 * time.Second})
		spendAll := func() (n int) {
			for b.spend(bc) {
				n++
			}
			return n
		}
		if n := spendAll(); n != 2 {
			t.Fatalf("the reserve allowed %d retries, want 2", n)
		}
		for range 4 {
			b.call(bc)
		}
		if n := spendAll(); n != 2 {
			t.Fatalf("4 calls at ratio 0.5 allowed %d more, want 2", n)
		}
		time.Sleep(10 * time.Second) // everything slides out
		if n := spendAll(); n != 2 {
			t.Fatalf("after the window %d retries, want the reserve's 2", n)
		}
	})
	if _, err := New("", WithRetryBudget(RetryBudget{Ratio: 1.5})); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("ratio 1.5: %v", err)
	}
	if _, err := New("", WithRetryBudget(RetryBudget{Reserve: -1})); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("reserve -1: %v", err)
	}
}

// R47: the total deadline bounds every attempt and wait: with less time left
// than the next wait, the call returns its last outcome.
func TestTotal_R47_BoundsWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{{Status: 503}}, WithCircuitBreaker(0, 0),
			WithTotalTimeout(time.Second),
			WithRetryPolicy(RetryPolicy{MaxAttempts: 10, BackoffInitial: 400 * time.Millisecond, BackoffMax: time.Second, Jitter: -1}))
		start := time.Now()
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if srv.Hits() != 2 || time.Since(start) != 400*time.Millisecond {
			t.Errorf("hits %d after %v; want 2 after 400ms", srv.Hits(), time.Since(start))
		}
	})
}

// R47: a hung upstream ends at the total deadline, told apart from the
// attempt timeout and the caller's deadline; the per-call option wins.
func TestTotal_R47_HangAndPerCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := memUpstream(t, httpclienttest.Sequence{{Fault: httpclienttest.Hang}},
			WithTotalTimeout(time.Second), WithTimeout(10*time.Second))
		start := time.Now()
		_, err := c.Get(context.Background(), "/")
		if !errors.Is(err, ErrTotalTimeout) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrAttemptTimeout) {
			t.Fatalf("err = %v", err)
		}
		if time.Since(start) != time.Second {
			t.Errorf("after %v", time.Since(start))
		}
		start = time.Now()
		_, err = c.Get(context.Background(), "/", TotalTimeout(300*time.Millisecond))
		if !errors.Is(err, ErrTotalTimeout) || time.Since(start) != 300*time.Millisecond {
			t.Errorf("per call: %v after %v", err, time.Since(start))
		}
		if _, err := c.Get(context.Background(), "/", TotalTimeout(0)); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("TotalTimeout(0): %v", err)
		}
	})
}

// R47: the total deadline covers the body; each attempt gets the lesser of
// its own timeout and what is left.
func TestTotal_R47_CoversBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := httpclienttest.Response{Body: []byte("abcdefgh"), Fault: httpclienttest.SlowBody, BodyDelay: 200 * time.Millisecond}
		_, c := memUpstream(t, httpclienttest.Sequence{slow}, WithTotalTimeout(300*time.Millisecond))
		resp, err := c.Get(context.Background(), "/", NoTimeout())
		if err != nil {
			t.Fatal(err)
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		if !errors.Is(err, ErrTotalTimeout) {
			t.Errorf("body read past the total deadline: %v", err)
		}
	})
}

// R49, R25: every attempt carries the same request ID and says which attempt
// it is.
func TestAttemptHeader_R49(t *testing.T) {
	srv, c := upstream(t, httpclienttest.Sequence{{Status: 503}, {Status: 502}, httpclienttest.OK("")}, nil,
		WithAttemptHeader("X-Attempt"))
	resp, err := c.Get(requestid.NewContext(context.Background(), "same-id"), "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for i, r := range srv.Requests() {
		want := []string{"attempt=1; max=3", "attempt=2; max=3", "attempt=3; max=3"}[i]
		if got := r.Header.Get("X-Attempt"); got != want {
			t.Errorf("attempt %d: X-Attempt %q, want %q", i+1, got, want)
		}
		if r.Header.Get("X-Request-ID") != "same-id" {
			t.Errorf("attempt %d: request ID %q", i+1, r.Header.Get("X-Request-ID"))
		}
	}
	if _, err := New("", WithAttemptHeader("bad name")); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("bad header name: %v", err)
	}
}

// R48: a slow attempt is hedged; the first good answer wins; the loser is
// cancelled, counts for nothing in the breaker, and carries the same ID.
func TestHedge_R48_FirstGoodAnswerWins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		srv, c := memUpstream(t, httpclienttest.Sequence{{Delay: time.Hour, Body: []byte("slow")}, httpclienttest.OK("fast")},
			WithHedging(HedgePolicy{Delay: 100 * time.Millisecond}), WithCircuitBreaker(1, time.Minute),
			WithAttemptHeader("X-Attempt"), WithHooks(rec.hooks()))
		start := time.Now()
		resp, err := c.Get(requestid.NewContext(context.Background(), "rid"), "/")
		if err != nil {
			t.Fatal(err)
		}
		if readAll(t, resp) != "fast" || time.Since(start) != 100*time.Millisecond {
			t.Errorf("got the answer after %v", time.Since(start))
		}
		synctest.Wait() // the loser's cleanup
		reqs := srv.Requests()
		if len(reqs) != 2 || reqs[1].Header.Get("X-Attempt") != "attempt=1; max=3; hedge=1" || reqs[0].Header.Get("X-Request-ID") != reqs[1].Header.Get("X-Request-ID") {
			t.Fatalf("requests %+v", reqs)
		}
		rec.mu.Lock()
		outcomes := map[int]breaker.Outcome{}
		classes := map[int]Class{}
		for i, a := range rec.attempts {
			outcomes[a.Hedge] = rec.results[i].Outcome
			classes[a.Hedge] = rec.results[i].Class
		}
		rec.mu.Unlock()
		if outcomes[0] != breaker.Ignore || outcomes[1] != breaker.Success {
			t.Errorf("outcomes %v: the cancelled racer must count for nothing", outcomes)
		}
		if classes[0] != ClassCanceled || classes[1] != "" {
			t.Errorf("classes %v: the racer that lost is canceled, not a failure", classes)
		}
		resp, err = c.Get(context.Background(), "/")
		if err != nil {
			t.Fatalf("the breaker counted the cancelled hedge: %v", err)
		}
		resp.Body.Close()
	})
}

// R48: hedging is for idempotent requests only, can be turned off per call,
// and draws on the retry budget.
func TestHedge_R48_OnlyWhenAllowed(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(*Client) (*http.Response, error)
		opts []Option
		hits int
	}{
		{"POST", func(c *Client) (*http.Response, error) { return c.Post(context.Background(), "/", JSON(1)) }, nil, 1},
		{"POST with key", func(c *Client) (*http.Response, error) {
			return c.Post(context.Background(), "/", JSON(1), Header("Idempotency-Key", "k"))
		}, nil, 2},
		{"NoHedge", func(c *Client) (*http.Response, error) { return c.Get(context.Background(), "/", NoHedge()) }, nil, 1},
		{"budget spent", func(c *Client) (*http.Response, error) { return c.Get(context.Background(), "/") },
			[]Option{WithRetryBudget(RetryBudget{Ratio: 0.01, Reserve: 1})}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv, c := memUpstream(t, httpclienttest.Sequence{{Delay: time.Second}},
					append([]Option{WithHedging(HedgePolicy{Delay: 100 * time.Millisecond, MaxHedges: 3})}, tc.opts...)...)
				resp, err := tc.call(c)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				synctest.Wait()
				want := tc.hits
				if tc.name == "POST with key" {
					want = 4 // the first and three hedges
				}
				if srv.Hits() != want {
					t.Errorf("hits %d, want %d", srv.Hits(), want)
				}
			})
		})
	}
}

// latencies runs n sequential calls against an upstream where 5% of the
// requests it receives (chosen per request by a seeded source) take 20x the
// usual 10 ms, and returns the callers' latencies and the upstream's hits.
func latencies(t *testing.T, n int, opts ...Option) (lat []time.Duration, hits int) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.ScriptFunc(func(hit int, _ *http.Request) httpclienttest.Response {
			d := 10 * time.Millisecond
			if rand.New(rand.NewPCG(42, uint64(hit))).Float64() < 0.05 {
				d *= 20
			}
			return httpclienttest.Response{Delay: d, Body: []byte("ok")}
		}), opts...)
		for range n {
			start := time.Now()
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			lat = append(lat, time.Since(start))
		}
		synctest.Wait()
		hits = srv.Hits()
	})
	return lat, hits
}

func p99(lat []time.Duration) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[len(s)*99/100]
}

// R48: hedging cuts the tail: p99 at least 3x lower, extra load at most 10%.
func TestHedge_R48_TailLatency(t *testing.T) {
	const n = 2000
	plain, plainHits := latencies(t, n)
	hedged, hedgedHits := latencies(t, n, WithHedging(HedgePolicy{Delay: 15 * time.Millisecond}))
	extra := float64(hedgedHits-n) / n
	t.Logf("5%% of requests 20x slower, %d calls: p99 %v without hedging, %v with (%.1fx lower); extra load %.1f%% (upstream hits %d vs %d)",
		n, p99(plain), p99(hedged), float64(p99(plain))/float64(p99(hedged)), 100*extra, hedgedHits, plainHits)
	if p99(plain) < 3*p99(hedged) {
		t.Errorf("p99 %v with hedging, %v without: want at least 3x lower", p99(hedged), p99(plain))
	}
	if extra > 0.10 {
		t.Errorf("extra load %.1f%%, want <= 10%%", 100*extra)
	}
}
