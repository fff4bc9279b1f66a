package httpclient

// Adversarial tests of the SharedBreakers seam (R72).

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// advStore is a SharedBreakers that counts its calls, can block or panic
// in Probe, and hands its Watch function to the test.
type advStore struct {
	opened, closed, probes, learns atomic.Int64
	probeBlock                     chan struct{} // Probe waits on it, ignoring ctx, when non-nil
	probeAnswer                    atomic.Bool
	mu                             sync.Mutex
	watch                          func(origin string, open bool, d time.Duration)
}

func newAdvStore(answer bool) *advStore {
	s := &advStore{}
	s.probeAnswer.Store(answer)
	return s
}

func (s *advStore) Opened(string, time.Duration) { s.opened.Add(1) }
func (s *advStore) Closed(string)                { s.closed.Add(1) }
func (s *advStore) Learn(string)                 { s.learns.Add(1) }
func (s *advStore) Probe(ctx context.Context, origin string, ttl time.Duration) bool {
	s.probes.Add(1)
	if s.probeBlock != nil {
		<-s.probeBlock // a store that ignores the context
	}
	return s.probeAnswer.Load()
}
func (s *advStore) Watch(f func(string, bool, time.Duration)) {
	s.mu.Lock()
	s.watch = f
	s.mu.Unlock()
}
func (s *advStore) f() func(string, bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.watch
}
func (s *advStore) total() int64 {
	return s.opened.Load() + s.closed.Load() + s.probes.Load() + s.learns.Load()
}

// advTransport answers 200 with an empty body, in memory, or 503 while fail
// is set.
type advTransport struct{ fail atomic.Bool }

func (t *advTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		r.Body.Close()
	}
	code := 200
	if t.fail.Load() {
		code = 503
	}
	return &http.Response{StatusCode: code, Status: http.StatusText(code), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: http.NoBody, ContentLength: 0, Request: r}, nil
}

func advClient(t testing.TB, tr http.RoundTripper, opts ...Option) *Client {
	t.Helper()
	c, err := New("http://adv.test", append([]Option{WithTransport(tr), WithRetryPolicy(RetryPolicy{MaxAttempts: 1})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func advGet(ctx context.Context, c *Client) error {
	resp, err := c.Get(ctx, "/x")
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// R72: the success path of a closed breaker makes no store call after the
// origin's first use, and costs no allocation over a client without a
// store.
func TestAdv_R72_SuccessPathAllocsAndNoStoreCalls(t *testing.T) {
	ctx := context.Background()
	s := newAdvStore(true)
	with := advClient(t, &advTransport{}, WithCircuitBreaker(5, time.Second), WithSharedBreakers(s))
	without := advClient(t, &advTransport{}, WithCircuitBreaker(5, time.Second))
	for _, c := range []*Client{with, without} {
		for range 10 {
			if err := advGet(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	if s.learns.Load() != 1 || s.total() != 1 {
		t.Fatalf("store calls after warm-up: learn %d, total %d; want one Learn", s.learns.Load(), s.total())
	}
	aw := testing.AllocsPerRun(200, func() { _ = advGet(ctx, with) })
	ao := testing.AllocsPerRun(200, func() { _ = advGet(ctx, without) })
	if aw > ao {
		t.Errorf("allocs per successful call: %v with WithSharedBreakers, %v without", aw, ao)
	}
	if s.total() != 1 {
		t.Errorf("the success path called the store: %d calls in all (1 Learn expected)", s.total())
	}
}

// R72 / creed: a store's Probe is user code; the call that probes gets the
// caller's context. A store that ignores it must not hold the call past
// its deadline by more than a bounded amount (the layer must never become
// the fault).
func TestAdv_R72_ProbeIgnoringContextDoesNotHoldTheCall(t *testing.T) {
	tr := &advTransport{}
	block := make(chan struct{})
	s := newAdvStore(true)
	s.probeBlock = block
	c := advClient(t, tr, WithCircuitBreaker(1, 20*time.Millisecond), WithSharedBreakers(s))
	t.Cleanup(func() { close(block) })
	tr.fail.Store(true)
	_ = advGet(context.Background(), c) // opens
	tr.fail.Store(false)
	deadline := time.Now().Add(2 * time.Second)
	for {
		snap, err := c.Breaker("http://adv.test:80")
		if err == nil && snap.State == breaker.HalfOpen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the circuit did not half-open: %+v %v", snap, err)
		}
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- advGet(ctx, c) }()
	select {
	case err := <-done:
		t.Logf("the probing call returned after %v: %v", time.Since(start), err)
	case <-time.After(3 * time.Second):
		t.Errorf("a call with a 200ms deadline is still held by the store's Probe after 3s: the client waits for user code past the caller's deadline")
	}
}

// R72: what the store reports through Watch, however odd, never panics,
// never creates state for an origin the client does not know, and a
// non-positive or absurd break does not misbehave.
func TestAdv_R72_RemoteOddReports(t *testing.T) {
	s := newAdvStore(true)
	var changes atomic.Int64
	c := advClient(t, &advTransport{}, WithCircuitBreaker(5, time.Second), WithSharedBreakers(s),
		WithHooks(Hooks{StateChange: func(string, breaker.Change) { changes.Add(1) }}))
	if err := advGet(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	f := s.f()
	if f == nil {
		t.Fatal("Watch was not called")
	}
	origin := "http://adv.test:80"
	before, _ := c.reg.size()
	for _, o := range []string{"http://unknown.test:80", "", "\x00", strings.Repeat("x", 1<<20), "http://{a}b}:80"} {
		f(o, true, time.Minute)
		f(o, false, 0)
	}
	if after, recs := c.reg.size(); after != before || recs != 0 {
		t.Errorf("reports of unknown origins created state: %d states (was %d), %d records", after, before, recs)
	}
	for _, d := range []time.Duration{0, -1, math.MinInt64} {
		f(origin, true, d)
		if s := stateOf(t, c, origin); s.State != breaker.Closed {
			t.Errorf("remote open with d=%v: circuit %v", d, s.State)
		}
	}
	f(origin, true, math.MaxInt64) // must not panic; far future is accepted as given
	f(origin, false, 0)
	if s := stateOf(t, c, origin); s.State != breaker.Closed {
		t.Errorf("remote close: %v", s.State)
	}
	// Many goroutines report opens and closes of one origin at once.
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				f(origin, (i+j)%2 == 0, time.Duration(j+1)*time.Millisecond)
				_ = c.Breakers()
			}
		}()
	}
	wg.Wait()
	f(origin, false, 0)
	// After the client's Close, the store may still report (the store is
	// closed after the client).
	c.Close()
	f(origin, true, time.Second)
	f(origin, false, 0)
	f("http://unknown.test:80", true, time.Second)
}

// R72: a StateChange hook that calls back into the client while a remote
// report is being applied (on the store's goroutine) does not deadlock.
func TestAdv_R72_HookReentersOnRemote(t *testing.T) {
	s := newAdvStore(true)
	var c *Client
	var calls atomic.Int64
	c = advClient(t, &advTransport{}, WithCircuitBreaker(5, time.Second), WithSharedBreakers(s),
		WithHooks(Hooks{StateChange: func(origin string, ch breaker.Change) {
			if calls.Add(1) > 50 {
				return
			}
			_ = c.Breakers()
			if ch.To == breaker.Open {
				_ = c.ResetBreaker(origin)
			} else {
				_ = c.Isolate(origin, time.Millisecond)
			}
		}}))
	if err := advGet(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.f()("http://adv.test:80", true, time.Second)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a remote report whose hook re-enters the client did not return")
	}
	if err := advGet(context.Background(), c); err != nil && !errors.Is(err, ErrCircuitOpen) {
		t.Fatal(err)
	}
}

// R72: when the store says another replica probes, the call fails fast and
// the ticket is given back: no leak of the probe slot, no hang, and the
// store is asked again once the hold ends.
func TestAdv_R72_ProbeDeniedFailsFast(t *testing.T) {
	tr := &advTransport{}
	s := newAdvStore(false)
	// The hold is the probe's bound, the attempt timeout: 100ms here.
	c := advClient(t, tr, WithCircuitBreaker(1, 20*time.Millisecond), WithTimeout(100*time.Millisecond), WithSharedBreakers(s))
	tr.fail.Store(true)
	_ = advGet(context.Background(), c)
	tr.fail.Store(false)
	deadline := time.Now().Add(3 * time.Second)
	for s.probes.Load() < 3 {
		err := advGet(context.Background(), c)
		if err != nil && !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("a call while another replica probes: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store was asked %d times in 3s; the hold never ended", s.probes.Load())
		}
		time.Sleep(time.Millisecond)
	}
	s.probeAnswer.Store(true)
}
