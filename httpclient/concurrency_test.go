package httpclient

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
)

// concRT is an in-memory upstream: status(n) answers request n (200 by
// default), after block gives a value when block is set; every request is
// counted.
type concRT struct {
	n      atomic.Int32
	status func(n int32) int
	block  chan struct{}
	err    error
}

func (rt *concRT) RoundTrip(r *http.Request) (*http.Response, error) {
	n := rt.n.Add(1)
	if rt.block != nil {
		select {
		case <-rt.block:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	if rt.err != nil {
		return nil, rt.err
	}
	st := http.StatusOK
	if rt.status != nil {
		st = rt.status(n)
	}
	return &http.Response{StatusCode: st, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: r, ProtoMajor: 1}, nil
}

func concClient(t *testing.T, rt http.RoundTripper, l ConcurrencyLimit, opts ...Option) *Client {
	t.Helper()
	c, err := New("http://up.test", append([]Option{WithTransport(rt), WithConcurrencyLimit(l)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func inFlight(t *testing.T, c *Client) concurrency.Snapshot {
	t.Helper()
	return c.ConcurrencyLimits()["http://up.test:80"]
}

func concErr(t *testing.T, err error) *ConcurrencyLimitError {
	t.Helper()
	var ce *ConcurrencyLimitError
	if !errors.As(err, &ce) || !errors.Is(err, ErrConcurrencyLimited) || !errors.Is(err, concurrency.ErrLimited) ||
		errors.Is(err, ErrCircuitOpen) || errors.Is(err, ErrRateLimited) || ClassOf(err) != ClassConcurrencyLimited {
		t.Fatalf("err %v (class %s), want a *ConcurrencyLimitError", err, ClassOf(err))
	}
	return ce
}

// R75: invalid settings are errors from New.
func TestConcurrency_R75_BadConfig(t *testing.T) {
	for _, l := range []ConcurrencyLimit{
		{Fixed: -1}, {Queue: -2}, {MaxWait: -1}, {MinLeft: -1}, {Adaptive: concurrency.Adaptive{Low: 3, High: 2}},
	} {
		if _, err := New("", WithConcurrencyLimit(l)); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: err %v, want ErrInvalidConfig", l, err)
		}
	}
	c, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	if c.ConcurrencyLimits() != nil || !errors.Is(c.SetConcurrencyLimit("http://a.test", 3), ErrInvalidRequest) {
		t.Error("a client without the limit reports limits or takes one")
	}
}

// R75: a full origin refuses at once with the limit; the breaker never
// counts the refusal, nothing is sent, it is not retried, and Attempts
// and ClassOf name it apart from an open circuit.
func TestConcurrency_R75_RefusalIsNotAFailure(t *testing.T) {
	rt := &concRT{}
	c := concClient(t, rt, ConcurrencyLimit{Fixed: 2, Queue: NoQueue}, WithCircuitBreaker(1, time.Minute))
	ctx := context.Background()
	held := make([]*http.Response, 2)
	for i := range held {
		resp, err := c.Get(ctx, "/")
		if err != nil {
			t.Fatal(err)
		}
		held[i] = resp // its slot is held until the body is closed
	}
	for range 10 {
		resp, err := c.Get(ctx, "/")
		if resp != nil {
			t.Fatal("a refused call returned a response")
		}
		ce := concErr(t, err)
		if ce.Limit != 2 || ce.InFlight != 2 || ce.Queued || ce.Origin != "http://up.test:80" {
			t.Errorf("refusal %+v", ce)
		}
		if n, why := Attempts(nil, err); n != 0 || why != StopConcurrencyLimited {
			t.Errorf("Attempts: %d, %s", n, why)
		}
	}
	if got := rt.n.Load(); got != 2 {
		t.Errorf("%d requests sent, want 2", got)
	}
	snap, _ := c.Breaker("http://up.test")
	if snap.State != breaker.Closed || snap.Failures != 0 {
		t.Errorf("breaker %+v after 10 refusals, want closed with no failure", snap)
	}
	if s := inFlight(t, c); s.InFlight != 2 || s.Rejected != 10 || s.Limit != 2 {
		t.Errorf("snapshot %+v", s)
	}
	for _, r := range held {
		r.Body.Close()
	}
	if s := inFlight(t, c); s.InFlight != 0 {
		t.Errorf("%d slots held after the bodies closed", s.InFlight)
	}
	if _, err := c.Get(ctx, "/"); err != nil {
		t.Errorf("after the slots freed: %v", err)
	}
}

// R75: a queued caller never waits past its deadline less MinLeft, nor
// past MaxWait; a caller with less than MinLeft left is refused at once;
// a slot that frees goes to the queue's head.
func TestConcurrency_R75_QueueWaitBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &concRT{}
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: 4, MaxWait: time.Hour, MinLeft: 50 * time.Millisecond})
		hold, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = c.Get(ctx, "/")
		if ce := concErr(t, err); !ce.Queued {
			t.Errorf("refusal %+v, want Queued", ce)
		}
		if waited := time.Since(start); waited != 150*time.Millisecond {
			t.Errorf("waited %v, want the deadline less MinLeft: 150ms", waited)
		}
		short, cancel2 := context.WithTimeout(context.Background(), 40*time.Millisecond)
		defer cancel2()
		start = time.Now()
		_, err = c.Get(short, "/")
		concErr(t, err)
		if waited := time.Since(start); waited != 0 {
			t.Errorf("a caller with 40ms left waited %v", waited)
		}
		// MaxWait bounds a caller with no deadline.
		c2 := concClient(t, rt, ConcurrencyLimit{Fixed: 1, MaxWait: 30 * time.Millisecond})
		hold2, err := c2.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		start = time.Now()
		_, err = c2.Get(context.Background(), "/")
		concErr(t, err)
		if waited := time.Since(start); waited != 30*time.Millisecond {
			t.Errorf("waited %v, want MaxWait 30ms", waited)
		}
		// A slot freed while a caller queues is its at once.
		go func() {
			time.Sleep(10 * time.Millisecond)
			hold2.Body.Close()
		}()
		start = time.Now()
		resp, err := c2.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if waited := time.Since(start); waited != 10*time.Millisecond {
			t.Errorf("admitted after %v, want 10ms", waited)
		}
		hold.Body.Close()
	})
}

// R75: the slot comes back on every path: a body read to the end, a
// body closed early, a transport error, a cancellation, a panicking
// hook, and a body never closed once the attempt's timeout passes; with
// NoTimeout it comes back at the headers.
func TestConcurrency_R75_SlotsReleasedOnEveryPath(t *testing.T) {
	check := func(t *testing.T, c *Client, what string) {
		t.Helper()
		if s := inFlight(t, c); s.InFlight != 0 {
			t.Errorf("%s: %d slots still held", what, s.InFlight)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		rt := &concRT{}
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 4}, WithTimeout(time.Second))

		resp, err := c.Get(ctx, "/")
		if err != nil {
			t.Fatal(err)
		}
		if s := inFlight(t, c); s.InFlight != 1 {
			t.Errorf("with the body open: %d in flight, want 1", s.InFlight)
		}
		io.ReadAll(resp.Body)
		check(t, c, "body read to EOF")
		resp.Body.Close()

		resp, _ = c.Get(ctx, "/")
		resp.Body.Close()
		check(t, c, "body closed early")

		// Never closed: held until the attempt's timeout, then freed.
		resp, _ = c.Get(ctx, "/")
		time.Sleep(time.Second - time.Millisecond)
		synctest.Wait()
		if s := inFlight(t, c); s.InFlight != 1 {
			t.Errorf("before the attempt timeout: %d in flight, want 1", s.InFlight)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		check(t, c, "body never closed, attempt timeout passed")
		_ = resp

		// NoTimeout: the slot goes back at the headers.
		resp, err = c.Request(ctx, http.MethodGet, "/", NoTimeout())
		if err != nil {
			t.Fatal(err)
		}
		check(t, c, "NoTimeout, at the headers")
		resp.Body.Close()

		// The caller's deadline first: held until it passes.
		dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		resp, _ = c.Get(dctx, "/")
		if s := inFlight(t, c); s.InFlight != 1 {
			t.Errorf("deadline-first body open: %d in flight, want 1", s.InFlight)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		check(t, c, "deadline-first body never closed, deadline passed")
		cancel()
		_ = resp

		bad := concClient(t, &concRT{err: errors.New("boom")}, ConcurrencyLimit{Fixed: 4}, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
		if _, err := bad.Get(ctx, "/"); err == nil {
			t.Fatal("no error")
		}
		check(t, bad, "transport error")

		blocked := &concRT{block: make(chan struct{})}
		bc := concClient(t, blocked, ConcurrencyLimit{Fixed: 4})
		cctx, ccancel := context.WithCancel(ctx)
		go func() {
			time.Sleep(10 * time.Millisecond)
			ccancel()
		}()
		if _, err := bc.Get(cctx, "/"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err %v, want canceled", err)
		}
		check(t, bc, "cancelled mid-attempt")

		for _, hooks := range []Hooks{
			{AttemptStart: func(ctx context.Context, _ *http.Request, _ Attempt) context.Context { panic("start") }},
			{AttemptDone: func(context.Context, Attempt, AttemptResult) { panic("done") }},
			{LimitChange: func(string, int, int) { panic("limit") }},
		} {
			hc := concClient(t, &concRT{}, ConcurrencyLimit{Adaptive: concurrency.Adaptive{Window: 1}}, WithHooks(hooks))
			for range 3 {
				if resp, err := hc.Get(ctx, "/"); err == nil {
					resp.Body.Close()
				}
			}
			check(t, hc, "a panicking hook")
		}
	})
}

// R75: a retry takes a slot like any attempt; a refused retry ends the
// call with its last outcome, and the breaker does not count the refusal.
func TestConcurrency_R75_RefusedRetryEndsWithLastOutcome(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		holdSlot := make(chan struct{})
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			n := sent.Add(1)
			st := http.StatusOK
			if r.URL.Path == "/flaky" {
				st = http.StatusBadGateway
			} else {
				<-holdSlot
			}
			_ = n
			return &http.Response{StatusCode: st, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("x")), Request: r}, nil
		})
		c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: NoQueue},
			WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Second, Jitter: -1}))
		var wg sync.WaitGroup
		wg.Go(func() {
			time.Sleep(50 * time.Millisecond) // during the first call's backoff
			resp, err := c.Get(context.Background(), "/slow")
			if err == nil {
				resp.Body.Close()
			}
		})
		resp, err := c.Get(context.Background(), "/flaky")
		if err != nil {
			t.Fatalf("err %v, want the last outcome: the 502", err)
		}
		if n, why := Attempts(resp, nil); resp.StatusCode != http.StatusBadGateway || n != 1 || why != StopConcurrencyLimited {
			t.Errorf("status %d, attempts %d, stop %s; want 502, 1, concurrency_limited", resp.StatusCode, n, why)
		}
		resp.Body.Close()
		close(holdSlot)
		wg.Wait()
		if got := sent.Load(); got != 2 {
			t.Errorf("%d requests sent, want 2", got)
		}
	})
}

// R75: a hedge takes a free slot or is not sent; it never queues.
func TestConcurrency_R75_HedgeTakesASlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var sent atomic.Int32
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			sent.Add(1)
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
			return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("x")), Request: r}, nil
		})
		for _, tc := range []struct {
			limit, want int32
		}{{1, 1}, {2, 2}} {
			sent.Store(0)
			c := concClient(t, rt, ConcurrencyLimit{Fixed: int(tc.limit)}, WithHedging(HedgePolicy{Delay: 10 * time.Millisecond}))
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			synctest.Wait()
			if got := sent.Load(); got != tc.want {
				t.Errorf("limit %d: %d sent, want %d", tc.limit, got, tc.want)
			}
			if s := inFlight(t, c); s.InFlight != 0 {
				t.Errorf("limit %d: %d slots held after the race", tc.limit, s.InFlight)
			}
		}
	})
}

// R75: Close ends a wait in the queue at once with ErrClosed.
func TestConcurrency_R75_CloseEndsTheQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := concClient(t, &concRT{}, ConcurrencyLimit{Fixed: 1, MaxWait: time.Hour})
		hold, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(20 * time.Millisecond)
			c.Close()
		}()
		start := time.Now()
		_, err = c.Get(context.Background(), "/")
		if !errors.Is(err, ErrClosed) || time.Since(start) != 20*time.Millisecond {
			t.Errorf("err %v after %v, want ErrClosed at 20ms", err, time.Since(start))
		}
		if n, why := Attempts(nil, err); n != 0 || why != StopClosed {
			t.Errorf("Attempts %d %s", n, why)
		}
		hold.Body.Close()
	})
}

// R75: an origin whose limiter holds a slot (a body still open) is busy:
// a flood of other origins never drops it, so its limit still holds.
func TestConcurrency_R75_BusyLimiterIsNeverDropped(t *testing.T) {
	rt := &concRT{}
	c := concClient(t, rt, ConcurrencyLimit{Fixed: 1, Queue: NoQueue}, WithOriginLimit(2, time.Minute))
	ctx := context.Background()
	hold, err := c.Get(ctx, "http://busy.test/")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		resp, err := c.Get(ctx, "http://o"+string(rune('a'+i%26))+string(rune('a'+i/26))+".test/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if s, ok := c.ConcurrencyLimits()["http://busy.test:80"]; !ok || s.InFlight != 1 {
		t.Fatalf("busy origin's limiter %+v (kept %v) after a flood of others", s, ok)
	}
	_, err = c.Get(ctx, "http://busy.test/")
	concErr(t, err)
	hold.Body.Close()
}

// R75: the adaptive limit's changes reach LimitChange and the snapshot;
// SetConcurrencyLimit sets it within Min and Max.
func TestConcurrency_R75_AdaptiveHookAndControl(t *testing.T) {
	var mu sync.Mutex
	var changes [][2]int
	c := concClient(t, &concRT{}, ConcurrencyLimit{Adaptive: concurrency.Adaptive{Window: 1, Max: 80}},
		WithHooks(Hooks{LimitChange: func(origin string, from, to int) {
			mu.Lock()
			defer mu.Unlock()
			if origin == "http://up.test:80" {
				changes = append(changes, [2]int{from, to})
			}
		}}))
	if err := c.SetConcurrencyLimit("http://up.test", 1000); err != nil {
		t.Fatal(err)
	}
	if s := inFlight(t, c); s.Limit != 80 {
		t.Errorf("SetConcurrencyLimit(1000) with Max 80: limit %d", s.Limit)
	}
	if err := c.SetConcurrencyLimit("http://up.test", 0); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("SetConcurrencyLimit(0): %v", err)
	}
	c.SetConcurrencyLimit("http://up.test", 4)
	// Four calls at once use the limit fully; fast answers grow it.
	for range 5 {
		var resps []*http.Response
		for range 4 {
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			resps = append(resps, resp)
		}
		for _, r := range resps {
			r.Body.Close()
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(changes) == 0 || changes[0][0] != 4 || changes[0][1] <= 4 {
		t.Errorf("LimitChange saw %v, want growth from 4", changes)
	}
	if s := inFlight(t, c); s.Limit != changes[len(changes)-1][1] {
		t.Errorf("snapshot limit %d, last change %v", s.Limit, changes[len(changes)-1])
	}
}

// R75: SetConcurrencyLimit and ConcurrencyLimit work with the breaker off;
// ConcurrencyLimit is a pure read that makes no state.
func TestConcurrency_R75_ControlsWithoutBreaker(t *testing.T) {
	c := concClient(t, &concRT{}, ConcurrencyLimit{Fixed: 7}, WithCircuitBreaker(0, 0))
	if s, err := c.ConcurrencyLimit("http://fresh.test"); err != nil || s.Limit != 7 || s.InFlight != 0 {
		t.Errorf("an origin with no state: %+v, %v", s, err)
	}
	if _, ok := c.ConcurrencyLimits()["http://fresh.test:80"]; ok {
		t.Error("ConcurrencyLimit made state")
	}
	if err := c.SetConcurrencyLimit("http://up.test", 3); err != nil {
		t.Fatalf("SetConcurrencyLimit with the breaker off: %v", err)
	}
	if s, err := c.ConcurrencyLimit("HTTP://UP.test:80/any/path"); err != nil || s.Limit != 3 {
		t.Errorf("after SetConcurrencyLimit(3): %+v, %v", s, err)
	}
	if _, err := c.ConcurrencyLimit("ftp://x"); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("ftp origin: %v", err)
	}
	a := concClient(t, &concRT{}, ConcurrencyLimit{Adaptive: concurrency.Adaptive{Max: 10}})
	if s, _ := a.ConcurrencyLimit("http://new.test"); s.Limit != 10 {
		t.Errorf("adaptive start under Max 10: %d", s.Limit)
	}
	i := concClient(t, &concRT{}, ConcurrencyLimit{Initial: 8})
	if s, _ := i.ConcurrencyLimit("http://new.test"); s.Limit != 8 {
		t.Errorf("adaptive start with Initial 8: %d", s.Limit)
	}
	if _, err := New("", WithConcurrencyLimit(ConcurrencyLimit{Initial: -1})); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Initial -1: %v", err)
	}
}

// R75: operator-set limits are bounded by the origin limit.
func TestConcurrency_R75_PinsBounded(t *testing.T) {
	c := concClient(t, &concRT{}, ConcurrencyLimit{Fixed: 7}, WithOriginLimit(2, time.Minute))
	for _, o := range []string{"http://a.test", "http://b.test", "http://a.test"} {
		if err := c.SetConcurrencyLimit(o, 3); err != nil {
			t.Fatalf("%s: %v", o, err)
		}
	}
	if err := c.SetConcurrencyLimit("http://c.test", 3); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("a third origin's limit: %v, want ErrInvalidRequest", err)
	}
	if s, _ := c.ConcurrencyLimit("http://c.test"); s.Limit != 7 {
		t.Errorf("refused pin changed the limit: %d", s.Limit)
	}
}
