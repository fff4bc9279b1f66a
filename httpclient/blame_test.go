package httpclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/requestid"
)

// wantClosed fails the test unless origin's circuit is closed with no
// failure counted: nothing of what happened was blamed on the upstream.
func wantClosed(t *testing.T, c *Client, origin string) {
	t.Helper()
	s, err := c.Breaker(origin)
	if err != nil {
		t.Fatal(err)
	}
	if s.State != breaker.Closed || s.ConsecutiveFailures != 0 {
		t.Fatalf("breaker %v with %d failures: the caller's or the machine's fault was counted against the upstream", s.State, s.ConsecutiveFailures)
	}
}

// countAttempts returns hooks counting attempts, and the counter.
func countAttempts() (Hooks, *atomic.Int32) {
	var n atomic.Int32
	return Hooks{AttemptDone: func(context.Context, Attempt, AttemptResult) { n.Add(1) }}, &n
}

// R25, R56: a request ID from requestid.NewContext that is not a valid
// header value (CR/LF) is not sent; the call goes out without it and the
// breaker counts nothing.
func TestRequestID_InvalidPropagatedIDNotSent(t *testing.T) {
	eachProto(t, func(t *testing.T, sopts []httpclienttest.Option) {
		srv, c := upstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, sopts, WithCircuitBreaker(1, time.Hour))
		ctx := requestid.NewContext(context.Background(), "abc\r\nX-Evil: 1")
		for range 3 {
			resp, err := c.Get(ctx, "/")
			if err != nil {
				t.Fatalf("a bad propagated ID failed the call: %v", err)
			}
			resp.Body.Close()
		}
		for _, r := range srv.Requests() {
			if v, ok := r.Header["X-Request-Id"]; ok || r.Header.Get("X-Evil") != "" {
				t.Fatalf("sent %q", v)
			}
		}
		wantClosed(t, c, srv.URL)
	})
}

// errReader fails after giving some bytes.
type errReader struct {
	n   int
	err error
}

func (r *errReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		k := min(r.n, len(p))
		for i := range k {
			p[i] = 'x'
		}
		r.n -= k
		return k, nil
	}
	return 0, r.err
}

// R56: the caller's request body failing to read is the caller's fault: the
// call returns an error reaching the reader's own, class request_body, it
// is not retried (even for a replayable PUT), and nothing is counted
// against the upstream.
func TestRequestBody_R56_ReaderErrorIsCallersFault(t *testing.T) {
	boom := errors.New("disk on fire")
	eachProto(t, func(t *testing.T, sopts []httpclienttest.Option) {
		for _, size := range []int{0, 100, 200 << 10} { // before, with and after the headers are written
			hooks, attempts := countAttempts()
			srv, c := upstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, sopts, WithCircuitBreaker(1, time.Hour), WithHooks(hooks))
			req, _ := http.NewRequest(http.MethodPut, srv.URL+"/", nil)
			req.Body = io.NopCloser(&errReader{n: size, err: boom})
			req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(&errReader{n: size, err: boom}), nil }
			_, err := c.Do(req)
			if !errors.Is(err, boom) {
				t.Fatalf("size %d: err %v, want the reader's error", size, err)
			}
			if cl := ClassOf(err); cl != "request_body" {
				t.Errorf("size %d: class %q, want request_body", size, cl)
			}
			if n := attempts.Load(); n != 1 {
				t.Errorf("size %d: %d attempts: a broken request body is not retried", size, n)
			}
			wantClosed(t, c, srv.URL)
			resp, err := c.Get(context.Background(), "/") // the upstream is healthy
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			wantClosed(t, c, srv.URL)
		}
	})
}

// R56: a ContentLength that does not match the body (shorter or longer) is
// an invalid request: ErrInvalidRequest, not retried, nothing in the
// breaker.
func TestRequestBody_R56_ContentLengthMismatchIsInvalidRequest(t *testing.T) {
	eachProto(t, func(t *testing.T, sopts []httpclienttest.Option) {
		for _, tc := range []struct {
			body string
			cl   int64
		}{{"abc", 10}, {"abcdefgh", 2}} {
			hooks, attempts := countAttempts()
			srv, c := upstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, sopts, WithCircuitBreaker(1, time.Hour), WithHooks(hooks))
			req, _ := http.NewRequest(http.MethodPut, srv.URL+"/", strings.NewReader(tc.body))
			req.ContentLength = tc.cl
			resp, err := c.Do(req)
			switch {
			case err == nil:
				// The upstream answered what it got before net/http
				// noticed (HTTP/2 sends a short body; HTTP/1 may get
				// the response before it finds the extra bytes): that
				// answer stands.
				resp.Body.Close()
			case !errors.Is(err, ErrInvalidRequest):
				t.Fatalf("body %d bytes, ContentLength %d: err %v, want ErrInvalidRequest", len(tc.body), tc.cl, err)
			}
			if n := attempts.Load(); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
			wantClosed(t, c, srv.URL)
		}
	})
}

// R56: request shapes net/http refuses are rejected before the first
// attempt (nothing sent, nothing counted), and an upper-case scheme given
// to Do is sent as its lower case.
func TestRequestShape_R4_R56_CallersMistakesNeverReachTheBreaker(t *testing.T) {
	eachProto(t, func(t *testing.T, sopts []httpclienttest.Option) {
		srv, c := upstream(t, httpclienttest.Sequence{httpclienttest.OK("ok")}, sopts, WithCircuitBreaker(1, time.Hour))
		bad := map[string]func(*http.Request){
			"invalid trailer name":        func(r *http.Request) { r.Trailer = http.Header{"Bad Name": nil} },
			"invalid trailer value":       func(r *http.Request) { r.Trailer = http.Header{"X-T": {"a\nb"}} },
			"invalid Host":                func(r *http.Request) { r.Host = "bad host" },
			"port out of range":           func(r *http.Request) { r.URL.Host = "127.0.0.1:99999" },
			"port zero":                   func(r *http.Request) { r.URL.Host = "127.0.0.1:0" },
			"control character in query":  func(r *http.Request) { r.URL.RawQuery = "a=\x01" },
			"ContentLength with no body":  func(r *http.Request) { r.ContentLength = 5 },
			"control character in header": func(r *http.Request) { r.Header.Set("X-A", "a\rb") },
		}
		for name, mutate := range bad {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
			mutate(req)
			_, err := c.Do(req)
			if !errors.Is(err, ErrInvalidRequest) {
				t.Errorf("%s: err %v, want ErrInvalidRequest", name, err)
			}
		}
		if n := srv.Hits(); n != 0 {
			t.Errorf("%d requests reached the upstream", n)
		}
		wantClosed(t, c, srv.URL)

		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
		req.URL.Scheme = "HTTP"
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("upper-case scheme: %v", err)
		}
		resp.Body.Close()
		if req.URL.Scheme != "HTTP" {
			t.Error("Do mutated the caller's request")
		}
		wantClosed(t, c, srv.URL)
	})
}

// R57: a dial that fails for lack of local descriptors (or ports) counts for
// nothing in the breaker, and, as a dial error of a net/http transport,
// proves nothing was sent: retried for any method.
func TestLocalResourceErrors_R57_NotBlamedOnUpstream(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.EADDRNOTAVAIL} {
		t.Run(errno.Error(), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }))
			defer srv.Close()
			var fail atomic.Int32
			fail.Store(4)
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if fail.Add(-1) >= 0 {
					return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("socket", errno)}
				}
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}
			defer tr.CloseIdleConnections()
			hooks, attempts := countAttempts()
			c, err := New(srv.URL, WithTransport(tr), WithCircuitBreaker(1, time.Hour), WithHooks(hooks),
				WithRetryPolicy(RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond}))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_, err = c.Post(context.Background(), "/", Body(bytes.NewReader([]byte("x")), ""))
			if err == nil || ClassOf(err) != "local" {
				t.Fatalf("err %v class %q, want class local", err, ClassOf(err))
			}
			if attempts.Load() != 3 {
				t.Errorf("%d attempts: a POST whose dial failed locally is retried as not sent", attempts.Load())
			}
			wantClosed(t, c, srv.URL)
			resp, err := c.Post(context.Background(), "/", Body(bytes.NewReader([]byte("x")), ""))
			if err != nil {
				t.Fatalf("once descriptors are back: %v", err)
			}
			resp.Body.Close()
		})
	}
}

// R57: with NewTransport's bound on connections per host, an attempt that
// times out still queued for a connection slot was never sent and waited
// on the local machine: it answers ErrAttemptTimeout and ErrNotSent, class
// local, is retried as not sent, and counts for nothing in the breaker.
// The upstream sees only the call that held the connection.
func TestConnSlotWait_R57_LocalNotUpstream(t *testing.T) {
	release := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			<-release
		}
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	defer close(release)
	tr := NewTransport()
	tr.MaxConnsPerHost = 1
	defer tr.CloseIdleConnections()
	hooks, attempts := countAttempts()
	c, err := New(srv.URL, WithTransport(tr), WithCircuitBreaker(1, time.Hour), WithHooks(hooks),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BackoffInitial: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.slots == nil {
		t.Fatal("a NewTransport with its dialer is not slot-aware")
	}
	holder := make(chan error, 1)
	go func() {
		resp, err := c.Get(context.Background(), "/hold", NoTimeout())
		if err == nil {
			resp.Body.Close()
		}
		holder <- err
	}()
	for hits.Load() == 0 { // the holder has the only connection
		select {
		case err := <-holder:
			t.Fatalf("holder ended: %v", err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	_, err = c.Post(context.Background(), "/", Timeout(20*time.Millisecond), Body(bytes.NewReader([]byte("x")), ""))
	if !errors.Is(err, ErrAttemptTimeout) || !errors.Is(err, ErrNotSent) || ClassOf(err) != "local" {
		t.Fatalf("err %v (class %q), want an attempt timeout, not sent, class local", err, ClassOf(err))
	}
	if n := attempts.Load(); n != 2 {
		t.Errorf("%d attempts: a POST that never got a connection is retried as not sent", n)
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("the upstream saw %d requests, want only the holder's", n)
	}
	wantClosed(t, c, srv.URL)
	release <- struct{}{}
	if err := <-holder; err != nil {
		t.Fatal(err)
	}
}

// R57: how an attempt tells a slow dial or a slow upstream from a wait for
// a slot: until a dial made for it (NewTransport's dialer finds the attempt
// in the dial's context) or a connection it got, it was queued; it is the
// local machine's when that was most of its time. A trace of the caller's
// own still runs beside it.
func TestAttemptTrace_R57_DialOrConnIsNotASlotWait(t *testing.T) {
	at := traced(context.Background())
	if q, sent := at.slotWait(); !q || sent {
		t.Fatal("no connection and no dial: want a slot wait, not sent")
	}
	if httptrace.ContextClientTrace(at) != &at.trace {
		t.Fatal("net/http would not find the attempt's trace")
	}
	d := &ownDialer{d: &net.Dialer{}, counts: new(slotCounts)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := d.DialContext(context.WithoutCancel(at), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if at.dialAfter.Load() == 0 {
		t.Fatal("the dialer did not note the dial")
	}
	for _, tc := range []struct {
		name            string
		got, dial, ends time.Duration // after the start; 0: never
		queued, sent    bool
	}{
		{"dial at once, ends in it", 0, time.Microsecond, time.Second, false, false},
		{"connection at once", time.Microsecond, 0, time.Second, false, true},
		{"queued 99ms, dial, ends at 100ms", 0, 99 * time.Millisecond, 100 * time.Millisecond, true, false},
		{"queued 99ms, connection, ends at 100ms", 99 * time.Millisecond, 0, 100 * time.Millisecond, true, true},
		{"dial at 10ms, connection at 99ms", 99 * time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond, false, true},
		{"queued 40ms of 100ms", 40 * time.Millisecond, 0, 100 * time.Millisecond, false, true},
	} {
		at := traced(context.Background())
		at.start = time.Now().Add(-tc.ends)
		at.gotAfter.Store(int64(tc.got))
		at.dialAfter.Store(int64(tc.dial))
		if q, sent := at.slotWait(); q != tc.queued || sent != tc.sent {
			t.Errorf("%s: queued %v, sent %v; want %v, %v", tc.name, q, sent, tc.queued, tc.sent)
		}
	}
	at2 := traced(context.Background())
	at2.trace.GotConn(httptrace.GotConnInfo{})
	at2.start = at2.start.Add(-time.Second)
	if q, sent := at2.slotWait(); q || !sent {
		t.Fatal("it got a connection at once: not a slot wait, and maybe sent")
	}
	if q, _ := (*attemptTrace)(nil).slotWait(); q {
		t.Fatal("no trace: never a slot wait")
	}
	var mine atomic.Bool
	user := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { mine.Store(true) }})
	at3 := traced(user)
	httptrace.ContextClientTrace(at3).GotConn(httptrace.GotConnInfo{})
	at3.start = at3.start.Add(-time.Second)
	if q, _ := at3.slotWait(); !mine.Load() || q {
		t.Fatal("the caller's own trace and the attempt's must both run")
	}
}
