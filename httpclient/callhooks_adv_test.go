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
)

// advCounter counts CallStart and CallDone and the Calls they saw.
type advCounter struct {
	starts, dones atomic.Int64
	mu            sync.Mutex
	methods       []string
}

func (a *advCounter) hooks() Hooks {
	return Hooks{
		CallStart: func(ctx context.Context, _ *http.Request, c Call) context.Context {
			a.starts.Add(1)
			a.mu.Lock()
			a.methods = append(a.methods, c.Method)
			a.mu.Unlock()
			return ctx
		},
		CallDone: func(context.Context, Call, CallResult) { a.dones.Add(1) },
	}
}

// R64 / creed: a CallStart that returns a context not derived from ctx
// (documented as a must, but a one-line mistake in a tracing hook) makes
// the call ignore the caller's deadline: the caller asked for 1s, the call
// runs on for as long as the attempt timeouts and retries allow. The layer
// could keep the caller's cancellation (e.g. take only the returned
// context's values) instead of silently dropping it.
func TestAdv_R64_CallStartBackgroundKeepsCallerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := memUpstream(t, httpclienttest.Sequence{{Delay: time.Hour}, {Delay: time.Hour}, {Delay: time.Hour}},
			WithHooks(Hooks{
				CallStart: func(context.Context, *http.Request, Call) context.Context { return context.Background() },
			}))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		resp, err := c.Get(ctx, "/")
		if err == nil {
			resp.Body.Close()
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("the caller's deadline was 1s; the call returned after %v (err %v)", took, err)
		}
	})
}

// R64: "an invalid request gets neither" hook. With the origin's circuit
// open, the verbs' fast path (refusedCall) runs both hooks for a request
// that is invalid (a method that is not a token) before it is validated,
// and reports it as a CircuitOpenError: the hooks (and any metric built on
// them) see a bogus method, and the caller's mistake is reported as the
// upstream's open circuit.
func TestAdv_R64_InvalidRequestOnOpenCircuitGetsNoHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a advCounter
		srv, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, WithCircuitBreaker(1, time.Minute), WithHooks(a.hooks()))
		if err := c.Isolate(srv.URL, time.Minute); err != nil {
			t.Fatal(err)
		}
		_, err := c.Request(context.Background(), "BAD METHOD\n", "/")
		if a.starts.Load() != 0 || a.dones.Load() != 0 {
			t.Errorf("an invalid request got CallStart %d times, CallDone %d times (methods %q); R64: neither",
				a.starts.Load(), a.dones.Load(), a.methods)
		}
		if !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("err %v: the caller's invalid method is reported as the upstream's open circuit", err)
		}
	})
}

// R64: Call.Method is the method as given: methods are case-sensitive, and
// "get" is not GET.
func TestAdv_R64_CallMethodAsGiven(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a advCounter
		_, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, WithHooks(a.hooks()))
		resp, err := c.Request(context.Background(), "get", "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		a.mu.Lock()
		defer a.mu.Unlock()
		if len(a.methods) != 1 || a.methods[0] != "get" {
			t.Errorf("Call.Method %q, documented as given", a.methods)
		}
	})
}

// R64: CallDone exactly once per CallStart, whatever ends the call. (These
// held up; kept as regression tests.)
func TestAdv_R64_CallDoneOncePerCallStart(t *testing.T) {
	type tc struct {
		name   string
		script httpclienttest.Script
		opts   []Option
		run    func(t *testing.T, c *Client)
	}
	get := func(ctx context.Context, c *Client, url string) {
		resp, err := c.Get(ctx, url)
		if err == nil {
			resp.Body.Close()
		}
	}
	cases := []tc{
		{"hedge", httpclienttest.Sequence{{Delay: time.Hour}, httpclienttest.OK("x")},
			[]Option{WithHedging(HedgePolicy{Delay: 10 * time.Millisecond})},
			func(t *testing.T, c *Client) { get(context.Background(), c, "/") }},
		{"cancel mid-wait", httpclienttest.Sequence{httpclienttest.Status(503)}, nil,
			func(t *testing.T, c *Client) {
				ctx, cancel := context.WithCancel(context.Background())
				go func() { time.Sleep(time.Millisecond); cancel() }()
				get(ctx, c, "/")
			}},
		{"close mid-wait", httpclienttest.Sequence{httpclienttest.Status(503)}, nil,
			func(t *testing.T, c *Client) {
				go func() { time.Sleep(time.Millisecond); c.Close() }()
				get(context.Background(), c, "/")
			}},
		{"total timeout", httpclienttest.Sequence{{Delay: time.Hour}}, []Option{WithTotalTimeout(time.Second)},
			func(t *testing.T, c *Client) { get(context.Background(), c, "/") }},
		{"redirects", httpclienttest.ScriptFunc(func(hit int, r *http.Request) httpclienttest.Response {
			if hit < 3 {
				return httpclienttest.Redirect(302, fmt.Sprintf("/r%d", hit+1))
			}
			return httpclienttest.OK("x")
		}), nil, func(t *testing.T, c *Client) { get(context.Background(), c, "/") }},
		{"standard client", httpclienttest.Sequence{httpclienttest.Status(503), httpclienttest.OK("x")}, nil,
			func(t *testing.T, c *Client) {
				resp, err := c.StandardClient().Get(c.base.origin + "/")
				if err == nil {
					resp.Body.Close()
				}
			}},
		{"hook closes client", httpclienttest.Sequence{httpclienttest.Status(503)}, nil,
			func(t *testing.T, c *Client) { get(context.Background(), c, "/") }},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var a advCounter
				h := a.hooks()
				var c *Client
				if k.name == "hook closes client" {
					h.AttemptDone = func(context.Context, Attempt, AttemptResult) { c.Close() }
				}
				_, c = memUpstream(t, k.script, append([]Option{WithHooks(h)}, k.opts...)...)
				k.run(t, c)
				synctest.Wait()
				if s, d := a.starts.Load(), a.dones.Load(); s == 0 || s != d {
					t.Errorf("CallStart %d, CallDone %d", s, d)
				}
			})
		})
	}
}

// R64: a panicking transport, re-entrant calls from CallStart, and a
// CallStart returning an already-cancelled context (whose values alone
// count): no panic, no deadlock, CallDone once per CallStart.
func TestAdv_R64_ReentrantAndCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var a advCounter
		var c *Client
		var depth atomic.Int32
		h := a.hooks()
		start := h.CallStart
		h.CallStart = func(ctx context.Context, req *http.Request, call Call) context.Context {
			ctx = start(ctx, req, call)
			if depth.Add(1) == 1 {
				resp, err := c.Get(ctx, "/inner")
				if err == nil {
					resp.Body.Close()
				}
			}
			depth.Add(-1)
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			return cctx
		}
		_, c = memUpstream(t, httpclienttest.Sequence{httpclienttest.OK("x")}, WithHooks(h))
		// Only the returned context's values count (R64): the call is
		// not cancelled by the hook.
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Errorf("err %v: a hook's cancelled context ended the call", err)
		} else {
			resp.Body.Close()
		}
		if s, d := a.starts.Load(), a.dones.Load(); s != 2 || d != 2 {
			t.Errorf("CallStart %d, CallDone %d", s, d)
		}

		var b advCounter
		pc, err := New("http://p.test", WithTransport(panicRT{}), WithHooks(b.hooks()))
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		if _, err := pc.Get(context.Background(), "/"); err == nil {
			t.Error("no error from a panicking transport")
		}
		if s, d := b.starts.Load(), b.dones.Load(); s != 1 || d != 1 {
			t.Errorf("panicking transport: CallStart %d, CallDone %d", s, d)
		}
	})
}

type panicRT struct{}

func (panicRT) RoundTrip(*http.Request) (*http.Response, error) { panic("boom") }
