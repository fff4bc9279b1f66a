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
	"github.com/tempestsdk/tempest/ratelimit"
)

// countingGate wraps a Limiter and counts what the client asks of it.
type countingGate struct {
	l          *ratelimit.Limiter
	mu         sync.Mutex
	takes, ret int
	refuse     bool // refuse every Take
}

func (g *countingGate) Take(ctx context.Context, now time.Time, maxWait time.Duration) (time.Duration, error) {
	g.mu.Lock()
	g.takes++
	refuse := g.refuse
	g.mu.Unlock()
	if refuse {
		return 0, &ratelimit.LimitedError{RetryAfter: time.Second}
	}
	return g.l.Take(ctx, now, maxWait)
}

func (g *countingGate) Return(now time.Time) {
	g.mu.Lock()
	g.ret++
	g.mu.Unlock()
	g.l.Return(now)
}

func (g *countingGate) counts() (takes, returns int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.takes, g.ret
}

func newGate(t *testing.T, l ratelimit.Limit) *countingGate {
	t.Helper()
	lim, err := ratelimit.New(l)
	if err != nil {
		t.Fatal(err)
	}
	return &countingGate{l: lim}
}

func get(t *testing.T, c *Client, ctx context.Context) (*http.Response, error) {
	t.Helper()
	resp, err := c.Get(ctx, "/")
	if err == nil {
		readAll(t, resp)
	}
	return resp, err
}

func rateErr(t *testing.T, err error) *RateLimitError {
	t.Helper()
	var re *RateLimitError
	if !errors.As(err, &re) || !errors.Is(err, ErrRateLimited) || !errors.Is(err, ratelimit.ErrLimited) || ClassOf(err) != ClassRateLimited {
		t.Fatalf("err %v (class %s), want a *RateLimitError", err, ClassOf(err))
	}
	return re
}

// R69: calls wait for their slot, one every Per/Rate, and then go.
func TestRateLimit_R69_WaitsForItsSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")},
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 10}}))
		start := time.Now()
		for range 3 {
			if _, err := get(t, c, context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if took := time.Since(start); took != 200*time.Millisecond {
			t.Errorf("3 calls at 10/s took %v, want 200ms", took)
		}
		if n := len(srv.Requests()); n != 3 {
			t.Errorf("the upstream got %d requests", n)
		}
	})
}

// R69: FailFast refuses a call whose slot is not free with a typed error
// saying when to retry; the refusal reaches no upstream, is not retried,
// and the breaker does not count it.
func TestRateLimit_R69_FailFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")},
			WithCircuitBreaker(1, time.Minute),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 10}, FailFast: true}))
		if _, err := get(t, c, context.Background()); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			_, err := get(t, c, context.Background())
			if re := rateErr(t, err); re.RetryAfter != 100*time.Millisecond || re.Origin != srv.URL+":80" && re.Origin != srv.URL {
				t.Errorf("RateLimitError %+v", re)
			}
			if n, stop := Attempts(nil, err); n != 0 || stop != StopRateLimited {
				t.Errorf("Attempts = %d, %s", n, stop)
			}
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("the upstream got %d requests, want 1", n)
		}
		if s, _ := c.Breaker(srv.URL); s.State != breaker.Closed || s.Failures != 0 {
			t.Errorf("the breaker counted the refusals: %+v", s)
		}
		time.Sleep(100 * time.Millisecond) // the slot's time, in the bubble
		if _, err := get(t, c, context.Background()); err != nil {
			t.Errorf("at RetryAfter: %v", err)
		}
	})
}

// R69: a wait for a slot never passes the caller's deadline: it is refused
// at once, and takes nothing.
func TestRateLimit_R69_NeverPastTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")},
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 10}}))
		if _, err := get(t, c, context.Background()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := get(t, c, ctx)
		if re := rateErr(t, err); re.RetryAfter != 100*time.Millisecond || time.Since(start) != 0 {
			t.Errorf("refused after %v with %+v; want at once, retry after 100ms", time.Since(start), re)
		}
		// Nothing was taken: a call with time to wait gets the slot at 100ms.
		if _, err := get(t, c, context.Background()); err != nil || time.Since(start) != 100*time.Millisecond {
			t.Errorf("next call: %v after %v", err, time.Since(start))
		}
		if n := len(srv.Requests()); n != 2 {
			t.Errorf("the upstream got %d requests, want 2", n)
		}
	})
}

// R69: retries draw on the limit. Waiting, a retry waits for its slot;
// failing fast, a refused retry ends the call with its last outcome, and
// GiveUp hears why.
func TestRateLimit_R69_RetriesDraw(t *testing.T) {
	for _, failFast := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			var rec recorder
			srv, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("ok")},
				WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond, BackoffMax: time.Millisecond}),
				WithHooks(rec.hooks()),
				WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 10}, FailFast: failFast}))
			start := time.Now()
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			n, stop := Attempts(resp, err)
			readAll(t, resp)
			if failFast {
				if resp.StatusCode != 503 || n != 1 || stop != StopRateLimited || len(srv.Requests()) != 1 {
					t.Errorf("fail fast: %d after %d attempts (%s), %d requests", resp.StatusCode, n, stop, len(srv.Requests()))
				}
				if len(rec.giveUps) != 1 || rec.giveUps[0].Reason != StopRateLimited {
					t.Errorf("give-ups %+v", rec.giveUps)
				}
				return
			}
			if resp.StatusCode != 200 || n != 2 || time.Since(start) != 100*time.Millisecond {
				t.Errorf("waiting: %d after %d attempts and %v; want 200 after 2 and 100ms", resp.StatusCode, n, time.Since(start))
			}
		})
	}
}

// R69: the order of admission is rate limit, breaker, budget. An open
// circuit is seen before any slot is taken; a gate that refuses gives back
// what the one before it granted; a breaker or budget refusal gives the
// slots back; and a rate refusal takes no probe slot from a half-open
// breaker.
func TestRateLimit_R69_AdmissionOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := newGate(t, ratelimit.Limit{Rate: 1000, Burst: 1000})
		srv, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")},
			WithCircuitBreaker(1, time.Minute),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 10}, Gate: gate, FailFast: true}))

		// An open circuit: refused before the rate limit is asked.
		if err := c.Isolate(srv.URL, time.Minute); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		if _, err := c.Do(req); !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("open circuit: %v", err)
		}
		if takes, _ := gate.counts(); takes != 0 {
			t.Errorf("an open circuit took %d slots", takes)
		}
		if err := c.ResetBreaker(srv.URL); err != nil {
			t.Fatal(err)
		}

		// The gate refuses: the origin's slot is given back, so the next
		// call (with the gate willing) goes at once.
		gate.mu.Lock()
		gate.refuse = true
		gate.mu.Unlock()
		if _, err := get(t, c, context.Background()); rateErr(t, err).RetryAfter != time.Second {
			t.Errorf("gate refusal: %v", err)
		}
		gate.mu.Lock()
		gate.refuse = false
		gate.mu.Unlock()
		if _, err := get(t, c, context.Background()); err != nil {
			t.Errorf("the origin's slot was not given back: %v", err)
		}

		// A half-open breaker: a rate refusal leaves its probe slot free.
		if err := c.Isolate(srv.URL, time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second) // the break ends; the next call would be the probe
		// Take the origin's slot by hand, so that the next call is refused.
		var st *originState
		for origin := range c.Breakers() {
			st = c.reg.lookup(origin)
		}
		if st == nil || st.limiter == nil {
			t.Fatal("no origin limiter")
		}
		if _, err := st.limiter.Take(context.Background(), time.Now(), 0); err != nil {
			t.Fatal(err)
		}
		if _, err := get(t, c, context.Background()); rateErr(t, err) == nil {
			t.Fatal("not refused")
		}
		if s, _ := c.Breaker(srv.URL); s.ProbesInFlight != 0 || s.State != breaker.HalfOpen {
			t.Errorf("after a rate refusal the breaker is %+v; want half-open with its probe slot free", s)
		}
		time.Sleep(100 * time.Millisecond)
		if _, err := get(t, c, context.Background()); err != nil {
			t.Errorf("the probe: %v", err)
		}
		if s, _ := c.Breaker(srv.URL); s.State != breaker.Closed {
			t.Errorf("after the probe: %v", s.State)
		}
	})
}

// R69: a hedge the budget refuses gives its rate slot back: the budget is
// spent only once the attempt is admitted, and a refused one costs no slot.
func TestRateLimit_R69_BudgetRefusalGivesSlotsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := newGate(t, ratelimit.Limit{Rate: 1000, Burst: 1000})
		_, c := memUpstream(t, httpclienttest.Sequence{{Delay: 50 * time.Millisecond, Body: []byte("slow")}},
			WithHedging(HedgePolicy{Delay: 10 * time.Millisecond}),
			WithRetryBudget(RetryBudget{Ratio: 1e-9, Reserve: 1}),
			WithRateLimit(RateLimit{Gate: gate}))
		for range 2 {
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
			synctest.Wait()
		}
		// Call 1: the attempt and one hedge (the reserve pays it); call
		// 2: the attempt, and hedges (one per tick of the hedge delay)
		// that each took a slot before the budget refused them, and gave
		// it back. The slots kept are the three requests sent.
		takes, returns := gate.counts()
		if takes-returns != 3 || returns < 1 {
			t.Errorf("gate: %d takes, %d returns; want 3 kept and at least 1 given back", takes, returns)
		}
	})
}

// R69: a hedge never waits for a slot: one whose slot is not free is not
// sent, and the race goes on at once (a hedge that waited would hold the
// answer of the first racer back).
func TestRateLimit_R69_HedgeNeverWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{{Delay: 300 * time.Millisecond, Body: []byte("slow")}, httpclienttest.OK("fast")},
			WithHedging(HedgePolicy{Delay: 10 * time.Millisecond}),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 2}})) // the next slot is 500ms away
		start := time.Now()
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		if body := readAll(t, resp); body != "slow" || time.Since(start) != 300*time.Millisecond {
			t.Errorf("body %q after %v; want the first racer's at 300ms", body, time.Since(start))
		}
		synctest.Wait()
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("the upstream got %d requests, want 1", n)
		}
	})
}

// R69: a Gate that panics, or fails for its own reasons, does not hold
// calls back; a bad RateLimit is an error from New.
func TestRateLimit_R69_BrokenGatesAndBadConfig(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, g := range []ratelimit.Gate{panicGate{}, errGate{}} {
			_, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, WithRateLimit(RateLimit{Gate: g}))
			if _, err := get(t, c, context.Background()); err != nil {
				t.Errorf("%T: %v", g, err)
			}
		}
	})
	for _, r := range []RateLimit{
		{PerOrigin: ratelimit.Limit{Rate: -1}},
		{PerOrigin: ratelimit.Limit{Rate: 1, Burst: 2}},
		{PerOrigin: ratelimit.Limit{Rate: 1}, MaxWait: -time.Second},
	} {
		if _, err := New("http://x.test", WithRateLimit(r)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New with %+v: %v", r, err)
		}
	}
}

type panicGate struct{}

func (panicGate) Take(context.Context, time.Time, time.Duration) (time.Duration, error) {
	panic("gate")
}
func (panicGate) Return(time.Time) { panic("gate") }

type errGate struct{}

func (errGate) Take(context.Context, time.Time, time.Duration) (time.Duration, error) {
	return 0, errors.New("store unreachable")
}
func (errGate) Return(time.Time) {}
