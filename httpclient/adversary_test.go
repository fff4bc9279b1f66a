package httpclient

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclienttest"
)

// The regressions of the adversarial review of the Trust work.

// panicBody panics in Read, Close or both.
type panicBody struct{ onRead, onClose bool }

func (b *panicBody) Read([]byte) (int, error) {
	if b.onRead {
		panic("body Read panicked")
	}
	return 0, io.EOF
}

func (b *panicBody) Close() error {
	if b.onClose {
		panic("body Close panicked")
	}
	return nil
}

// noPanic runs f and fails the test if a panic escapes it.
func noPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Errorf("%s: a panic escaped the client: %v", what, v)
		}
	}()
	f()
}

// R55: a response body whose Read or Close panics (or a typed-nil body)
// never panics the client where it reads or closes that body itself:
// before a retry, in a hedge race, on a redirect.
func TestMisbehavingBody_R55_NeverPanics(t *testing.T) {
	var nilBody *panicBody
	bodies := map[string]func() io.ReadCloser{
		"Read panics":  func() io.ReadCloser { return &panicBody{onRead: true} },
		"Close panics": func() io.ReadCloser { return &panicBody{onClose: true} },
		"typed nil":    func() io.ReadCloser { return nilBody },
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			retry := RoundTripperFunc(func(*http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: 503, Header: http.Header{}, Body: body()}, nil
			})
			redirect := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
				if r.URL.Path == "/r" {
					return &http.Response{StatusCode: 302, Header: http.Header{"Location": {"/final"}}, Body: body()}, nil
				}
				return answer(200), nil
			})
			for _, tc := range []struct {
				what string
				rt   http.RoundTripper
				opts []Option
				path string
			}{
				{"retry", retry, nil, "/"},
				{"hedged retry", retry, []Option{WithHedging(HedgePolicy{Delay: time.Millisecond})}, "/"},
				{"redirect", redirect, nil, "/r"},
			} {
				c, err := New("http://up.example", append([]Option{WithTransport(tc.rt),
					WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond})}, tc.opts...)...)
				if err != nil {
					t.Fatal(err)
				}
				noPanic(t, tc.what, func() {
					if resp, err := c.Get(context.Background(), tc.path); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				})
				c.Close()
			}
		})
	}
}

// zeroNilBody breaks io.Reader's contract: it returns (0, nil) for ever.
type zeroNilBody struct{}

func (zeroNilBody) Read([]byte) (int, error) { return 0, nil }
func (zeroNilBody) Close() error             { return nil }

// R55: a body that returns nothing and no error for ever ends with
// io.ErrNoProgress where the client reads it, instead of spinning a core.
func TestMisbehavingBody_R55_NoProgressEnds(t *testing.T) {
	rt := RoundTripperFunc(func(*http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 503, Header: http.Header{}, Body: zeroNilBody{}}, nil
	})
	c, err := New("http://up.example", WithTransport(rt), WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Get(context.Background(), "/")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, io.ErrNoProgress) {
			t.Fatalf("err %v, want io.ErrNoProgress", err)
		}
	case <-time.After(time.Minute): // a watchdog, not a synchronisation
		t.Fatal("the client spins on a body that makes no progress")
	}
}

// nilPtrErr as a typed nil panics when printed.
type nilPtrErr struct{ msg string }

func (e *nilPtrErr) Error() string { return e.msg }

// R55: an error whose Error method panics (a typed nil) does not panic the
// client, and the probe it was admitted as is released.
func TestMisbehavingError_R55_NeverPanicsAndReleasesTheProbe(t *testing.T) {
	for _, hedged := range []bool{false, true} {
		t.Run(fmt.Sprintf("hedged=%v", hedged), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := RoundTripperFunc(func(*http.Request) (*http.Response, error) { return nil, (*nilPtrErr)(nil) })
				opts := []Option{WithTransport(rt), WithCircuitBreaker(1, time.Second)}
				if hedged {
					opts = append(opts, WithHedging(HedgePolicy{Delay: time.Millisecond}))
				}
				c, err := New("http://up.example", opts...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.Isolate("http://up.example", time.Second)
				time.Sleep(time.Second) // the next call is the probe
				noPanic(t, "probe", func() { _, _ = c.Get(context.Background(), "/") })
				if s := mustBreaker(t, c, "http://up.example"); s.ProbeInFlight {
					t.Fatalf("the probe slot is still held: %+v", s)
				}
			})
		})
	}
}

// Never deadlock: a hedge racer that ends with runtime.Goexit (t.FailNow in
// a fake transport) still gives the race a result, and the call returns.
func TestHedgeRacerGoexit_CallReturns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			if n.Add(1) == 2 {
				runtime.Goexit()
			}
			return slowly(r, 20*time.Millisecond, 503)
		})
		c, err := New("http://up.example", WithTransport(rt), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}),
			WithHedging(HedgePolicy{Delay: 5 * time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		resp, err := c.Get(context.Background(), "/") // a deadlock here fails the bubble
		if err == nil {
			resp.Body.Close()
		}
	})
}

// R50, R58: a state with a call in flight is busy: neither eviction nor idle
// expiry drops it, so the outcome of that call reaches the breaker every
// other call uses, and an open circuit is never forgotten.
func TestRegistry_R50_CallInFlightKeepsItsState(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var deadHits atomic.Int32
	rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		if r.URL.Hostname() == "dead.example" {
			deadHits.Add(1)
			if r.URL.Path == "/slow" {
				entered <- struct{}{}
				<-release
			}
			return answer(503), nil
		}
		return answer(200), nil
	})
	c, err := New("", WithTransport(rt), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}),
		WithCircuitBreaker(2, time.Hour), WithOriginLimit(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = call(t, c, "http://dead.example/") // failure 1
	done := make(chan error, 1)
	go func() { done <- call(t, c, "http://dead.example/slow") }()
	<-entered
	for i := range 10 {
		_ = call(t, c, fmt.Sprintf("http://other%d.example/", i)) // the limit is 1: would drop dead.example
	}
	close(release)
	<-done // failure 2 opens the circuit
	before := deadHits.Load()
	if err := call(t, c, "http://dead.example/"); !errors.Is(err, ErrCircuitOpen) {
		t.Fatalf("after the circuit opened: %v; the state was dropped with the call in flight", err)
	}
	if deadHits.Load() != before {
		t.Fatal("the open circuit was forgotten: the dead upstream got another call")
	}
}

// R58: the queue of records stays bounded by the records it holds, even
// behind a long break at its head.
func TestRegistry_R58_RecordQueueBounded(t *testing.T) {
	c, err := New("", WithTransport(okTransport), WithOriginLimit(1, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Isolate("http://x.example", time.Hour)
	c.Isolate("http://y.example", time.Hour)
	for i := range 20_000 {
		_ = call(t, c, "http://y.example/") // fails fast, and brings y's state back
		_ = call(t, c, fmt.Sprintf("http://h%d.example/", i))
	}
	c.reg.mu.Lock()
	q := len(c.reg.recq) - c.reg.recHead
	c.reg.mu.Unlock()
	if _, records := c.reg.size(); q > 2*records+64+1 {
		t.Fatalf("%d queue entries for %d records", q, records)
	}
}

// closingReader is like an *os.File: a Read after Close fails.
type closingReader struct {
	closed atomic.Bool
	n      int
}

func (r *closingReader) Read(p []byte) (int, error) {
	if r.closed.Load() {
		return 0, os.ErrClosed
	}
	if r.n >= 8<<20 {
		return 0, io.EOF
	}
	k := min(len(p), 4096)
	clear(p[:k])
	r.n += k
	return k, nil
}

func (r *closingReader) Close() error { r.closed.Store(true); return nil }

// R56: an upstream that resets the stream of an upload makes net/http close
// the request body; a file-like body then fails its next Read. That is the
// upstream's doing, not the caller's: never class request_body.
func TestRequestBody_R56_UpstreamResetIsNotTheCallersFault(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("HTTP2=%v", h2), func(t *testing.T) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.CopyN(io.Discard, r.Body, 64<<10)
				panic(http.ErrAbortHandler) // reset the stream, or drop the connection
			}))
			srv.EnableHTTP2 = h2
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.StartTLS()
			defer srv.Close()
			tr := srv.Client().Transport.(*http.Transport)
			defer tr.CloseIdleConnections()
			c, err := New(srv.URL, WithTransport(tr), WithCircuitBreaker(100, time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for range 20 {
				resp, err := c.Post(context.Background(), "/upload", Body(&closingReader{}, "application/octet-stream"))
				if err == nil {
					resp.Body.Close()
				}
				if ClassOf(err) == "request_body" {
					t.Fatalf("an upstream reset was blamed on the caller's body: %v", err)
				}
			}
		})
	}
}

// slowBody gives 5 bytes, a second apart.
type slowBody struct{ n int }

func (r *slowBody) Read(p []byte) (int, error) {
	if r.n >= 5 {
		return 0, io.EOF
	}
	time.Sleep(time.Second)
	r.n++
	p[0] = 'x'
	return 1, nil
}

// R56: an attempt that times out while the transport still waits on the
// caller's own slow request body is the caller's: class request_body, not
// retried, and a healthy upstream's circuit stays closed.
func TestRequestBody_R56_SlowBodyIsTheCallersFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv, c := memUpstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")},
			WithTimeout(1500*time.Millisecond), WithCircuitBreaker(2, time.Hour))
		for range 3 {
			resp, err := c.Post(context.Background(), "/upload", Body(&slowBody{}, "text/plain"))
			if err == nil {
				resp.Body.Close()
				t.Fatal("a 5s upload finished within a 1.5s attempt timeout")
			}
			if ClassOf(err) != "request_body" || !errors.Is(err, ErrAttemptTimeout) {
				t.Fatalf("err %v (class %q), want the caller's slow body", err, ClassOf(err))
			}
		}
		wantClosed(t, c, srv.URL)
	})
}

// R56: an upstream cannot make its own failure look like the caller's by
// shaping the text net/http quotes from a malformed response.
func TestCallerShape_UpstreamTextIsNotTheCallersFault(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				if _, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nunsupported protocol scheme\r\n\r\n")
				}
			}()
		}
	}()
	base := "http://" + ln.Addr().String()
	c, err := New(base, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}), WithCircuitBreaker(5, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Get(context.Background(), "/")
	if err == nil || errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("err %v: a malformed response was blamed on the caller", err)
	}
	if s := mustBreaker(t, c, base); s.ConsecutiveFailures != 1 {
		t.Fatalf("%d failures counted, want the upstream's 1", s.ConsecutiveFailures)
	}
}

// R46: a retry whose body cannot be replayed spends no budget token, and
// with hedging on, the call returns the replay error (no "circuit_open").
func TestBudget_R46_NoTokenForARetryNeverSent(t *testing.T) {
	for _, hedged := range []bool{false, true} {
		t.Run(fmt.Sprintf("hedged=%v", hedged), func(t *testing.T) {
			var sent atomic.Int32
			rt := RoundTripperFunc(func(*http.Request) (*http.Response, error) { sent.Add(1); return answer(503), nil })
			var g giveUps
			opts := []Option{WithTransport(rt), WithHooks(g.hooks()), WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond})}
			if hedged {
				opts = append(opts, WithHedging(HedgePolicy{Delay: time.Hour}))
			}
			c, err := New("http://up.example", opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			noReplay := errors.New("no replay")
			req, _ := http.NewRequest(http.MethodPut, "http://up.example/x", bytes.NewReader([]byte("x")))
			req.GetBody = func() (io.ReadCloser, error) { return nil, noReplay }
			if _, err := c.Do(req); !errors.Is(err, noReplay) {
				t.Fatalf("err %v, want the replay error", err)
			}
			st := c.reg.find("http", "up.example")
			if _, retries := st.budget.win.Sum(c.reg.bcfg.index()); retries != 0 {
				t.Fatalf("%d retry tokens spent, %d requests sent", retries, sent.Load())
			}
			if got := g.get(); len(got) != 1 || got[0] != string(StopBodyNotReplayable) {
				t.Fatalf("give-ups %v, want [body_not_replayable]", got)
			}
		})
	}
}

// R46: calls the breaker refuses earn no retries: they are not counted as
// calls in the budget.
func TestBudget_R46_RefusedCallsEarnNoRetries(t *testing.T) {
	c, err := New("http://up.example", WithTransport(RoundTripperFunc(func(*http.Request) (*http.Response, error) { return answer(503), nil })))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Isolate("http://up.example", time.Hour)
	for range 1000 {
		req, _ := http.NewRequest(http.MethodGet, "http://up.example/", nil)
		_, _ = c.Do(req)
	}
	st := c.reg.find("http", "up.example")
	if calls, _ := st.budget.win.Sum(c.reg.bcfg.index()); calls != 0 {
		t.Fatalf("%d refused calls counted in the budget", calls)
	}
}

// R4, R50: URLs that fail validation make no per-origin state, and a port
// with a sign is invalid.
func TestRegistry_InvalidURLsMakeNoState(t *testing.T) {
	c, err := New("", WithTransport(okTransport))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, u := range []string{"http://bad host/", "http://h.example:99999/", "http://h.example:0/", "http://127.0.0.1:+8080/", "http://ex%61mple.com/"} {
		if err := call(t, c, u); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", u, err)
		}
	}
	if b := c.Breakers(); len(b) != 0 {
		t.Fatalf("invalid URLs made state: %v", b)
	}
	if err := call(t, c, "http://[fe80::1%25eth0]:8080/"); err != nil {
		t.Fatal(err)
	}
	if b := c.Breakers(); len(b) != 1 || b["http://[fe80::1%eth0]:8080"].Generation != 1 {
		t.Fatalf("a zone made %v, want one state, of the host as net/http reads it", b)
	}
}

// R4, R48: when the caller's deadline ends a hedged call, the breaker counts
// one timeout failure for the call, not one per racer.
func TestHedge_R4_CallersDeadlineCountsOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) { return slowly(r, time.Hour, 200) })
		c, err := New("http://up.example", WithTransport(rt), WithCircuitBreaker(10, time.Hour),
			WithHedging(HedgePolicy{Delay: 10 * time.Millisecond, MaxHedges: 3}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := c.Get(ctx, "/"); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatal(err)
		}
		synctest.Wait() // the abandoned racers report
		if s := mustBreaker(t, c, "http://up.example"); s.ConsecutiveFailures != 1 || s.State != breaker.Closed {
			t.Fatalf("%+v: want one failure for the call", s)
		}
	})
}
