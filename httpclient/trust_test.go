package httpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// closeTracker records whether it was closed.
type closeTracker struct {
	io.Reader
	closed atomic.Bool
}

func (b *closeTracker) Close() error { b.closed.Store(true); return nil }

// A RoundTripper that breaks its contract never makes the client panic, on
// the caller's goroutine or on a hedge's (STYLE 15, golang/go#38095): (nil,
// nil) and a panic become errors that are not retried and count for nothing
// in the breaker; a nil Body or Header becomes an empty one; a response
// that comes with an error is closed and dropped.
func TestMisbehavingTransport_R55_NeverPanics(t *testing.T) {
	body := &closeTracker{Reader: strings.NewReader("dropped")}
	shapes := []struct {
		name     string
		rt       RoundTripperFunc
		wantErr  bool
		wantBody string
	}{
		{"nil response, nil error", func(*http.Request) (*http.Response, error) { return nil, nil }, true, ""},
		{"panic", func(*http.Request) (*http.Response, error) { panic("transport bug") }, true, ""},
		{"panic with an error value", func(*http.Request) (*http.Response, error) { panic(io.EOF) }, true, ""},
		{"nil body", func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Header: http.Header{}}, nil
		}, false, ""},
		{"nil header", func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 503, Body: io.NopCloser(strings.NewReader("x"))}, nil
		}, false, "x"},
		{"nil body and header on a retryable status", func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 503}, nil
		}, false, ""},
		{"response with an error", func(*http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 200, Body: body}, errors.New("both")
		}, true, ""},
	}
	for _, hedged := range []bool{false, true} {
		for _, sh := range shapes {
			t.Run(fmt.Sprintf("%s/hedged=%v", sh.name, hedged), func(t *testing.T) {
				var calls atomic.Int32
				rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
					calls.Add(1)
					return sh.rt(r)
				})
				opts := []Option{WithTransport(rt), WithCircuitBreaker(1, time.Hour),
					WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BackoffInitial: time.Millisecond})}
				if hedged {
					opts = append(opts, WithHedging(HedgePolicy{Delay: time.Hour}))
				}
				c, err := New("http://up.example", opts...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				resp, err := c.Get(context.Background(), "/")
				if sh.wantErr {
					if err == nil || resp != nil {
						t.Fatalf("got %v, %v; want an error and no response", resp, err)
					}
					if n := calls.Load(); n != 1 {
						t.Errorf("%d attempts: a broken RoundTripper is not retried", n)
					}
					if s, _ := c.Breaker("http://up.example"); s.State != breaker.Closed && sh.name != "response with an error" {
						t.Errorf("breaker %v: the local RoundTripper's fault was counted against the upstream", s.State)
					}
					return
				}
				if err != nil {
					t.Fatalf("err %v", err)
				}
				if resp.Header == nil {
					t.Error("nil Header reached the caller")
				}
				if got := readAll(t, resp); got != sh.wantBody {
					t.Errorf("body %q, want %q", got, sh.wantBody)
				}
			})
		}
	}
	if !body.closed.Load() {
		t.Error("the body of a response returned with an error was not closed")
	}
}

// R22: a panicking hook or logger handler never breaks a call, with or
// without a logger; the call's outcome is as if the hook were absent.
func TestPanickingHooksAndLogger_NeverBreakACall(t *testing.T) {
	boom := func() { panic("hook bug") }
	hooks := Hooks{
		AttemptStart: func(context.Context, *http.Request, Attempt) context.Context { boom(); return nil },
		AttemptDone:  func(context.Context, Attempt, AttemptResult) { boom() },
		Retry:        func(context.Context, RetryEvent) { boom() },
		GiveUp:       func(context.Context, Attempt, Stop) { boom() },
		StateChange:  func(string, breaker.Change) { boom() },
	}
	var buf bytes.Buffer
	loggers := map[string]*slog.Logger{
		"no logger":        nil,
		"logger":           slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		"panicking logger": slog.New(panicHandler{}),
	}
	for name, lg := range loggers {
		t.Run(name, func(t *testing.T) {
			var n atomic.Int32
			rt := RoundTripperFunc(func(*http.Request) (*http.Response, error) {
				if n.Add(1) == 1 {
					return &http.Response{StatusCode: 503, Body: http.NoBody}, nil
				}
				return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok"))}, nil
			})
			opts := []Option{WithTransport(rt), WithHooks(hooks), WithCircuitBreaker(1, time.Millisecond),
				WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: 2 * time.Millisecond, RetryIf: func(_ Attempt, _ *http.Response, _ error, retryable bool) bool { return retryable }})}
			if lg != nil {
				opts = append(opts, WithLogger(lg))
			}
			c, err := New("http://up.example", opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, resp); got != "ok" {
				t.Fatalf("body %q", got)
			}
			if n.Load() != 2 {
				t.Fatalf("%d attempts, want 2", n.Load())
			}
		})
	}
	if !strings.Contains(buf.String(), "recovered a panic") {
		t.Errorf("the logger did not record the recovered panics:\n%s", buf.String())
	}
}

// A RetryIf that panics means "do not retry"; the call returns its outcome.
func TestPanickingRetryIf_StopsRetrying(t *testing.T) {
	var n atomic.Int32
	rt := RoundTripperFunc(func(*http.Request) (*http.Response, error) {
		n.Add(1)
		return &http.Response{StatusCode: 503, Body: http.NoBody}, nil
	})
	c, err := New("http://up.example", WithTransport(rt),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond, RetryIf: func(Attempt, *http.Response, error, bool) bool { panic("x") }}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	resp, err := c.Get(context.Background(), "/")
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
	if n.Load() != 1 {
		t.Fatalf("%d attempts after RetryIf panicked, want 1", n.Load())
	}
}

type panicHandler struct{}

func (panicHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (panicHandler) Handle(context.Context, slog.Record) error { panic("handler bug") }
func (h panicHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h panicHandler) WithGroup(string) slog.Handler           { return h }

// Client.Breaker is a pure read: asking about an origin makes no state.
func TestBreakerQuery_R51_R54_MakesNoState(t *testing.T) {
	c, err := New("", WithTransport(okTransport))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 100 {
		s, err := c.Breaker(fmt.Sprintf("http://never%d.example", i))
		if err != nil || s.State != breaker.Closed || s.Generation != 0 {
			t.Fatalf("unknown origin: %+v %v; want Closed, generation 0", s, err)
		}
		if err := c.ResetBreaker(fmt.Sprintf("http://never%d.example/x", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.Breakers()); n != 0 {
		t.Fatalf("100 queries made %d origins' state", n)
	}
}

// No user code runs under a lock of the client or the breaker, and queries
// never move a breaker: every hook, the logger and StateChange call every
// query of the client under concurrent traffic to new and known origins,
// with sweeps on each new origin and half-open probes outliving their bound.
// A watchdog turns a deadlock into a failure with every goroutine's stack.
func TestHooksCallingQueries_R54_NoDeadlock(t *testing.T) {
	var c *Client
	var queries atomic.Int64
	query := func() {
		queries.Add(1)
		for origin := range c.Breakers() {
			if _, err := c.Breaker(origin); err != nil {
				panic(err)
			}
		}
		_, _ = c.Breaker("http://unknown.example")
	}
	hooks := Hooks{
		AttemptStart: func(ctx context.Context, _ *http.Request, _ Attempt) context.Context { query(); return ctx },
		AttemptDone:  func(context.Context, Attempt, AttemptResult) { query() },
		Retry:        func(context.Context, RetryEvent) { query() },
		GiveUp:       func(context.Context, Attempt, Stop) { query() },
		StateChange:  func(string, breaker.Change) { query() },
	}
	// Origins fail, hang past the attempt timeout (so that probes outlive
	// their bound) or answer, by a per-origin count.
	var hits sync.Map
	rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		v, _ := hits.LoadOrStore(r.URL.Host, new(atomic.Int32))
		switch v.(*atomic.Int32).Add(1) % 4 {
		case 1, 2:
			return &http.Response{StatusCode: 503, Body: http.NoBody}, nil
		case 3:
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
		return &http.Response{StatusCode: 200, Body: http.NoBody}, nil
	})
	for _, hedged := range []bool{false, true} {
		t.Run(fmt.Sprintf("hedged=%v", hedged), func(t *testing.T) {
			opts := []Option{WithTransport(rt), WithHooks(hooks), WithLogger(slog.New(queryHandler{query})),
				WithTimeout(2 * time.Millisecond), WithCircuitBreaker(2, 2*time.Millisecond),
				WithOriginLimit(8, time.Millisecond),
				WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond, BackoffMax: 2 * time.Millisecond})}
			if hedged {
				opts = append(opts, WithHedging(HedgePolicy{Delay: time.Millisecond}))
			}
			var err error
			if c, err = New("", opts...); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			done := make(chan struct{})
			go func() {
				defer close(done)
				var wg sync.WaitGroup
				for g := range 8 {
					wg.Go(func() {
						for i := range 150 {
							host := fmt.Sprintf("http://h%d.example/", (g*150+i)%40) // 40 origins over a limit of 8
							if resp, err := c.Get(context.Background(), host); err == nil {
								resp.Body.Close()
							}
						}
					})
				}
				wg.Wait()
			}()
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				buf := make([]byte, 1<<20)
				t.Fatalf("deadlock: traffic did not finish\n%s", buf[:runtime.Stack(buf, true)])
			}
			if queries.Load() == 0 {
				t.Fatal("no hook ran")
			}
		})
	}
}

// queryHandler is a logger handler that calls back into the client.
type queryHandler struct{ query func() }

func (queryHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h queryHandler) Handle(context.Context, slog.Record) error {
	h.query()
	return nil
}
func (h queryHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h queryHandler) WithGroup(string) slog.Handler      { return h }
