package httpclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/ratelimit"
)

// sendLog is a fake upstream that records when each request was sent.
type sendLog struct {
	mu    sync.Mutex
	sends []sent
}

type sent struct {
	host string
	at   time.Time
}

func (s *sendLog) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.sends = append(s.sends, sent{r.URL.Hostname(), time.Now()})
	s.mu.Unlock()
	return memTransport{200}.RoundTrip(r)
}

func (s *sendLog) list() []sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sent(nil), s.sends...)
}

func (s *sendLog) count(host string) int {
	n := 0
	for _, x := range s.list() {
		if x.host == host {
			n++
		}
	}
	return n
}

// R69: an origin's state dropped as idle keeps its spent rate limit as a
// record until the limit has refilled: with Per longer than idleExpiry,
// the origin does not come back with a fresh burst.
func TestAdv_R69_IdleExpiryKeepsSpentLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &sendLog{}
		c, err := New("", WithTransport(up), WithOriginLimit(1024, time.Minute),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 2, Per: time.Hour, Burst: 2}, FailFast: true}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for range 2 {
			if err := call(t, c, "http://a.example/"); err != nil {
				t.Fatal(err)
			}
		}
		if err := call(t, c, "http://a.example/"); !errors.Is(err, ErrRateLimited) {
			t.Fatalf("third call in the hour: %v", err)
		}
		time.Sleep(3 * time.Minute)
		_ = call(t, c, "http://b.example/") // any new origin runs the idle expiry
		admitted := 0
		for range 2 {
			if call(t, c, "http://a.example/") == nil {
				admitted++
			}
		}
		if admitted > 0 {
			t.Errorf("2 per hour: %d more calls to a.example admitted 3 minutes after the first 2 (the limit was dropped with the idle state)", admitted)
		}
	})
}

// R69: evicting an origin at the registry's limit (by calling other
// origins) keeps its spent rate limit as a record: cycling other origins
// does not reset this one's.
func TestAdv_R69_EvictionKeepsOriginLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &sendLog{}
		c, err := New("", WithTransport(up), WithOriginLimit(4, time.Hour),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 1, Per: time.Hour}, FailFast: true}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for round := range 5 {
			_ = call(t, c, "http://victim.example/")
			for i := range 8 {
				_ = call(t, c, fmt.Sprintf("http://other%d-%d.example/", round, i))
			}
		}
		if n := up.count("victim.example"); n > 1 {
			t.Errorf("1 per hour: victim.example got %d requests within one instant (its limit reset by eviction)", n)
		}
	})
}

// R69: with a per-origin limit and a shared Gate, the Gate is asked for
// the moment the origin's slot comes, not for now: the shared slot is not
// spent while the attempt still waits for its own.
func TestAdv_R69_GateSlotTakenAtOriginSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &sendLog{}
		gate, err := ratelimit.New(ratelimit.Limit{Rate: 1}) // one a second, no burst
		if err != nil {
			t.Fatal(err)
		}
		c, err := New("", WithTransport(up), WithTimeout(time.Minute),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 1, Per: 10 * time.Second}, Gate: gate}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := call(t, c, "http://x.example/"); err != nil { // t=0
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- call(t, c, "http://x.example/") }() // waits 10s for x; gate slot at 1s taken now
		synctest.Wait()
		time.Sleep(10 * time.Second)
		if err := call(t, c, "http://y.example/"); err != nil { // t=10s: the gate is free
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		s := up.list()
		for i := 1; i < len(s); i++ {
			for j := range i {
				if d := s[i].at.Sub(s[j].at).Abs(); d < time.Second {
					t.Errorf("a Gate of 1/s with burst 1 let %s and %s go out %v apart", s[j].host, s[i].host, d)
				}
			}
		}
	})
}

// R69: Close while calls wait for a slot: they wake at once with
// ErrClosed (StopClosed), the slots are given back, nothing leaks.
func TestAdv_R69_CloseWakesRateWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := newGate(t, ratelimit.Limit{Rate: 1})
		var mu sync.Mutex
		var stops []Stop
		up := &sendLog{}
		c, err := New("http://x.example", WithTransport(up),
			WithHooks(Hooks{CallDone: func(_ context.Context, _ Call, r CallResult) {
				mu.Lock()
				stops = append(stops, r.Stop)
				mu.Unlock()
			}}),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 1}, Gate: gate}))
		if err != nil {
			t.Fatal(err)
		}
		if err := call(t, c, "/"); err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 3)
		for range 3 {
			go func() { errs <- call(t, c, "/") }()
		}
		synctest.Wait()
		start := time.Now()
		c.Close()
		for range 3 {
			err := <-errs
			if !errors.Is(err, ErrClosed) || ClassOf(err) != ClassClosed {
				t.Errorf("waiter: %v", err)
			}
			if _, stop := Attempts(nil, err); stop != StopClosed {
				t.Errorf("Attempts stop %s", stop)
			}
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("waiters woke after %v", d)
		}
		if takes, returns := gate.counts(); takes-returns != 1 {
			t.Errorf("gate: %d takes, %d returns; want only the sent one kept", takes, returns)
		}
		if n := len(up.list()); n != 1 {
			t.Errorf("%d sent", n)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, s := range stops[1:] {
			if s != StopClosed {
				t.Errorf("CallDone stop %s, want closed", s)
			}
		}
	})
}

// R69: the caller cancels during its wait for a slot: the slot is given
// back (the Gate's and the origin's), and CallDone hears "canceled".
func TestAdv_R69_CancelDuringWaitGivesSlotBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := newGate(t, ratelimit.Limit{Rate: 1})
		var stop atomic.Value
		up := &sendLog{}
		c, err := New("http://x.example", WithTransport(up),
			WithHooks(Hooks{CallDone: func(_ context.Context, _ Call, r CallResult) { stop.Store(r.Stop) }}),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 1}, Gate: gate}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := call(t, c, "/"); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			resp, err := c.Get(ctx, "/")
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		synctest.Wait()
		time.Sleep(500 * time.Millisecond)
		cancel()
		err = <-errc
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled waiter: %v", err)
		}
		if takes, returns := gate.counts(); takes != 2 || returns != 1 {
			t.Errorf("gate: %d takes, %d returns", takes, returns)
		}
		// The origin's slot is back: the next call waits only to 1s.
		start := time.Now()
		if err := call(t, c, "/"); err != nil || time.Since(start) != 500*time.Millisecond {
			t.Errorf("next call: %v after %v, want nil after 500ms", err, time.Since(start))
		}
		if s, _ := stop.Load().(Stop); s == "" {
			t.Error("no CallDone")
		}
	})
}

// R69 / Stop: a call refused before its first attempt is reported with why
// it stopped: an open circuit is StopCircuitOpen and Close is StopClosed,
// but a rate refusal, and a cancel during the rate wait, both read
// StopSettled (Attempts and CallDone), though StopRateLimited and
// StopCanceled exist for exactly these.
func TestAdv_R69_FirstAttemptStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var got []Stop
		var mu sync.Mutex
		c, err := New("http://x.example", WithTransport(&sendLog{}),
			WithHooks(Hooks{CallDone: func(_ context.Context, _ Call, r CallResult) {
				mu.Lock()
				got = append(got, r.Stop)
				mu.Unlock()
			}}),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 1}}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = call(t, c, "/")
		fctx, fcancel := context.WithTimeout(context.Background(), 10*time.Millisecond) // refused at once
		defer fcancel()
		_, err = c.Get(fctx, "/")
		if _, stop := Attempts(nil, err); stop != StopRateLimited {
			t.Errorf("rate refusal before any attempt: Attempts stop %q, want %q", stop, StopRateLimited)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { synctest.Wait(); cancel() }()
		_, err = c.Get(ctx, "/")
		if _, stop := Attempts(nil, err); stop != StopCanceled {
			t.Errorf("cancel during the rate wait: Attempts stop %q (err %v), want %q", stop, err, StopCanceled)
		}
	})
}

// R69: a Gate's LimitedError with a negative RetryAfter reaches the
// caller as is: RateLimitError.RetryAfter < 0.
func TestAdv_R69_GateNegativeRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New("http://x.example", WithTransport(&sendLog{}),
			WithRateLimit(RateLimit{Gate: negGate{}}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = call(t, c, "/")
		var re *RateLimitError
		if !errors.As(err, &re) {
			t.Fatalf("err %v", err)
		}
		if re.RetryAfter < 0 {
			t.Errorf("RetryAfter %v is negative", re.RetryAfter)
		}
	})
}

type negGate struct{}

func (negGate) Take(context.Context, time.Time, time.Duration) (time.Duration, error) {
	return 0, &ratelimit.LimitedError{RetryAfter: -time.Hour}
}
func (negGate) Return(time.Time) {}

type bigWaitGate struct{}

func (bigWaitGate) Take(context.Context, time.Time, time.Duration) (time.Duration, error) {
	return 100 * time.Hour, nil
}
func (bigWaitGate) Return(time.Time) {}

// R69: a Gate answering a wait past maxWait is clamped; a typed-nil
// LimitedError does not panic.
func TestAdv_R69_OddGates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New("http://x.example", WithTransport(&sendLog{}),
			WithRateLimit(RateLimit{Gate: bigWaitGate{}, MaxWait: time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		if err := call(t, c, "/"); err != nil || time.Since(start) > time.Second {
			t.Errorf("big-wait gate: %v after %v", err, time.Since(start))
		}
		c2, _ := New("http://x.example", WithTransport(&sendLog{}), WithRateLimit(RateLimit{Gate: nilLimitedGate{}}))
		defer c2.Close()
		err = call(t, c2, "/")
		_ = fmt.Sprint(err) // must not panic
	})
}

type nilLimitedGate struct{}

func (nilLimitedGate) Take(context.Context, time.Time, time.Duration) (time.Duration, error) {
	var le *ratelimit.LimitedError
	return 0, le
}
func (nilLimitedGate) Return(time.Time) {}

// R69: 1000 concurrent fail-fast callers at one instant: exactly Burst
// are sent.
func TestAdv_R69_FailFastConcurrentExactBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &sendLog{}
		c, err := New("http://x.example", WithTransport(up),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 100, Burst: 10}, FailFast: true}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var wg sync.WaitGroup
		var ok, limited atomic.Int64
		for range 1000 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch err := call(t, c, "/"); {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, ErrRateLimited):
					limited.Add(1)
				}
			}()
		}
		wg.Wait()
		if ok.Load() != 10 || limited.Load() != 990 || len(up.list()) != 10 {
			t.Errorf("%d ok, %d limited, %d sent; want 10, 990, 10", ok.Load(), limited.Load(), len(up.list()))
		}
	})
}

// R69: a total timeout shorter than the wait refuses at once; through
// StandardClient the error chain (*url.Error) still answers errors.As.
func TestAdv_R69_TotalTimeoutAndStandardClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &sendLog{}
		c, err := New("http://x.example", WithTransport(up), WithTotalTimeout(50*time.Millisecond),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 10}}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = call(t, c, "/")
		start := time.Now()
		err = call(t, c, "/")
		var re *RateLimitError
		if !errors.As(err, &re) || time.Since(start) != 0 {
			t.Errorf("total 50ms, wait 100ms: %v after %v", err, time.Since(start))
		}
		ff, err := New("http://x.example", WithTransport(up),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 10}, FailFast: true}))
		if err != nil {
			t.Fatal(err)
		}
		defer ff.Close()
		_ = call(t, ff, "/")
		_, err = ff.StandardClient().Get("http://x.example/")
		if !errors.As(err, &re) || !errors.Is(err, ErrRateLimited) || ClassOf(err) != ClassRateLimited {
			t.Errorf("StandardClient: %v", err)
		}
	})
}

// R69: "MaxWait default: the attempt timeout". A call made with the
// Timeout request option has a shorter attempt timeout than the client's,
// but its rate wait is bounded by the client's.
func TestAdv_R69_MaxWaitIgnoresPerCallTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &sendLog{}
		c, err := New("http://x.example", WithTransport(up), WithTimeout(10*time.Second),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 1}}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = call(t, c, "/")
		start := time.Now()
		resp, err := c.Get(context.Background(), "/", Timeout(100*time.Millisecond))
		if err == nil {
			resp.Body.Close()
		}
		if d := time.Since(start); d > 100*time.Millisecond {
			t.Errorf("attempt timeout 100ms: waited %v for a rate slot (err %v)", d, err)
		}
	})
}

// R69: each redirect hop takes a slot of its own origin; a fail-fast
// refused hop ends the call with a RateLimitError and no leak.
func TestAdv_R69_RedirectHopsTakeSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.Redirect(302, "/b"), httpclienttest.OK("ok")},
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 1}, FailFast: true}))
		_, err := c.Get(context.Background(), "/")
		if !errors.Is(err, ErrRateLimited) {
			t.Errorf("redirect hop with no slot: %v", err)
		}
		if n := len(srv.Requests()); n != 1 {
			t.Errorf("%d requests", n)
		}
	})
}

// R69: hedging, fail-fast, half-open: the call is the probe, no hedge is
// sent, and only the probe's slot is kept.
func TestAdv_R69_HedgeFailFastHalfOpen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		gate := newGate(t, ratelimit.Limit{Rate: 1000, Burst: 1000})
		srv, c := memUpstream(t, httpclienttest.Sequence{{Delay: 300 * time.Millisecond, Body: []byte("slow")}},
			WithCircuitBreaker(1, time.Minute),
			WithHedging(HedgePolicy{Delay: 10 * time.Millisecond, MaxHedges: 3}),
			WithRateLimit(RateLimit{Gate: gate, FailFast: true}))
		if err := c.Isolate(srv.URL, time.Second); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		synctest.Wait()
		if takes, returns := gate.counts(); takes-returns != 1 || len(srv.Requests()) != 1 {
			t.Errorf("gate %d takes %d returns, %d requests; want 1 kept, 1 sent", takes, returns, len(srv.Requests()))
		}
	})
}

// R69: the records that keep spent limits of dropped origins are bounded:
// cycling far more origins than the registry holds keeps at most
// recordsPerOrigin*maxOrigins of them, and the live states stay near the
// limit.
func TestAdv_R69_LimitRecordsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &sendLog{}
		c, err := New("", WithTransport(up), WithOriginLimit(4, time.Hour),
			WithRateLimit(RateLimit{PerOrigin: ratelimit.Limit{Rate: 1, Per: time.Hour}, FailFast: true}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for i := range 1000 {
			_ = call(t, c, fmt.Sprintf("http://o%d.example/", i))
		}
		states, _ := c.reg.size()
		c.reg.mu.Lock()
		limits, queued := len(c.reg.limits), len(c.reg.limq)-c.reg.limqHead
		c.reg.mu.Unlock()
		if states > 5 || limits > recordsPerOrigin*4 || queued > 2*limits+64+1 {
			t.Errorf("after 1000 origins: %d states, %d limit records, %d queued; want at most 5, %d, %d", states, limits, queued, recordsPerOrigin*4, 2*limits+65)
		}
	})
}
