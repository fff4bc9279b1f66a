package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"

	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/requestid"
)

// R5: attempts are counted per hop of a redirect chain.
func TestRetry_R5_AttemptsPerHop(t *testing.T) {
	eachProto(t, func(t *testing.T, opts []httpclienttest.Option) {
		srv, c := upstream(t, httpclienttest.Sequence{
			{Status: 503}, httpclienttest.Redirect(302, "/next"), // hop 1: 2 attempts
			{Status: 503}, {Status: 503}, httpclienttest.OK("done"), // hop 2: 3 attempts
		}, opts, WithCircuitBreaker(0, 0))
		resp, err := c.Get(context.Background(), "/start")
		if err != nil {
			t.Fatal(err)
		}
		if readAll(t, resp) != "done" || srv.Hits() != 5 {
			t.Errorf("hits %d, want 5", srv.Hits())
		}
	})
}

// R6, R7: a DNS failure during the dial is retried, also for a POST, since
// nothing was sent.
func TestRetry_R6_R7_DNSFailure(t *testing.T) {
	var dials int
	var mu sync.Mutex
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dials++
		mu.Unlock()
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "api.invalid", IsNotFound: true}}
	}}
	defer tr.CloseIdleConnections()
	c, _ := New("http://api.invalid", WithTransport(tr), WithRetryPolicy(fastRetry), WithCircuitBreaker(0, 0))
	defer c.Close()
	_, err := c.Post(context.Background(), "/", JSON(1))
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || ClassOf(err) != "dns" {
		t.Fatalf("err = %v", err)
	}
	if dials != 3 {
		t.Errorf("dials = %d, want 3", dials)
	}
}

// R11: when buffering a retryable response fails, the outcome is that
// failure, retried as one.
func TestRetry_R11_BufferingFailure(t *testing.T) {
	srv, c := upstream(t, httpclienttest.Sequence{{Status: 503, Body: []byte("0123456789"), Fault: httpclienttest.TruncatedBody}}, nil,
		WithCircuitBreaker(0, 0))
	resp, err := c.Get(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	// The last attempt's response is the caller's, body error included (R12).
	_, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("status %d, body error %v", resp.StatusCode, err)
	}
	if srv.Hits() != 3 {
		t.Errorf("hits = %d, want 3", srv.Hits())
	}
}

// R23: with no base URL, default headers go to the first hop's origin only.
func TestHeaders_R23_NoBaseFirstHopOrigin(t *testing.T) {
	other := httpclienttest.NewServer(nil)
	defer other.Close()
	srv := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Redirect(307, other.URL+"/x")})
	defer srv.Close()
	c, _ := New("", WithDefaultHeaders(http.Header{"X-Api-Key": {"k"}}))
	defer c.Close()
	resp, err := c.Get(context.Background(), srv.URL+"/a")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if srv.Requests()[0].Header.Get("X-Api-Key") != "k" {
		t.Error("first hop lacks the default header")
	}
	if other.Requests()[0].Header.Get("X-Api-Key") != "" {
		t.Error("R23: default header followed the redirect to another origin")
	}
}

// R28: logs carry method, origin, path, status, attempt, duration and class,
// never a query or a header value other than the request ID.
func TestLogging_R28_NoSecrets(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(lockedWriter{&buf, &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, c := upstream(t, httpclienttest.Sequence{{Status: 503}, httpclienttest.OK("")}, nil,
		WithLogger(logger), WithDefaultHeaders(http.Header{"Authorization": {"Bearer default-secret"}}))
	ctx := requestid.NewContext(context.Background(), "rid-9")
	resp, err := c.Get(ctx, "/users/42?token=query-secret", Header("X-Api-Key", "call-secret"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	for _, secret := range []string{"query-secret", "call-secret", "default-secret", "token="} {
		if strings.Contains(out, secret) {
			t.Errorf("log holds %q:\n%s", secret, out)
		}
	}
	var attempt map[string]any
	for line := range strings.Lines(out) {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "httpclient: attempt" {
			attempt = m
			break
		}
	}
	for _, k := range []string{"method", "origin", "path", "status", "attempt", "duration", "class"} {
		if _, ok := attempt[k]; !ok {
			t.Errorf("attempt record lacks %q: %v", k, attempt)
		}
	}
	if attempt["path"] != "/users/42" {
		t.Errorf("path %v", attempt["path"])
	}
	if !strings.Contains(out, `"msg":"httpclient: retrying"`) {
		t.Errorf("no retry record:\n%s", out)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// R29: one client shared by many goroutines, one pool.
func TestConcurrency_R29_SharedClient(t *testing.T) {
	eachProto(t, func(t *testing.T, opts []httpclienttest.Option) {
		srv, c := upstream(t, httpclienttest.ScriptFunc(func(hit int, _ *http.Request) httpclienttest.Response {
			if hit%3 == 0 {
				return httpclienttest.Response{Status: 503}
			}
			return httpclienttest.OK("ok")
		}), opts, WithCircuitBreaker(0, 0))
		if len(opts) == 0 {
			// HTTP/1: the client's own tuned transport, not the test server's
			// (Go's default keeps 2 idle connections per host).
			var err error
			if c, err = New(srv.URL, WithRetryPolicy(fastRetry), WithCircuitBreaker(0, 0)); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
		}
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				for i := range 20 {
					resp, err := c.Get(requestid.NewContext(context.Background(), "g"), Path("g", string(rune('a'+g)), string(rune('a'+i))))
					if err != nil {
						t.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		if srv.Hits() < 320 {
			t.Errorf("hits %d", srv.Hits())
		}
		if srv.Conns() > 32 { // a waiting request may dial one that another frees first
			t.Errorf("%d connections for 16 goroutines: the pool is not shared", srv.Conns())
		}
	})
}

// R30: Close closes the idle connections of the transport the client made.
func TestClose_R30_ClosesOwnIdleConnections(t *testing.T) {
	srv := httpclienttest.NewServer(nil)
	defer srv.Close()
	c, _ := New(srv.URL)
	resp, err := c.Get(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	own := c.ownTransport
	c.Close()
	var reused bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/", nil)
	resp, err = own.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	own.CloseIdleConnections()
	if reused {
		t.Error("R30: an idle connection survived Close")
	}
}

// R33: Decode's limits and its handling of 204 and empty bodies.
func TestDecode_R33_R39(t *testing.T) {
	type T struct{ A int }
	mk := func(code int, body string) *http.Response {
		return &http.Response{StatusCode: code, Status: http.StatusText(code), Body: io.NopCloser(strings.NewReader(body)),
			Request: &http.Request{Method: "GET", URL: mustURL(t, "https://u:p@x.test/a?secret=1")}}
	}
	if v, err := Decode[T](mk(200, `{"A":1}`), nil); err != nil || v.A != 1 {
		t.Errorf("ok: %v %v", v, err)
	}
	if v, err := Decode[T](mk(204, ""), nil); err != nil || v.A != 0 {
		t.Errorf("204: %v %v", v, err)
	}
	if _, err := Decode[T](mk(200, "  "), nil); err != nil {
		t.Errorf("empty body: %v", err)
	}
	if _, err := Decode[T](mk(200, "{"), nil); err == nil {
		t.Error("bad JSON decoded")
	}
	if _, err := DecodeLimit[T](3)(mk(200, `{"A":1}`), nil); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("limit: %v", err)
	}
	sentinel := errors.New("boom")
	if _, err := Decode[T](nil, sentinel); err != sentinel {
		t.Errorf("error passed through as %v", err)
	}
	_, err := Decode[T](mk(500, strings.Repeat("é", 1000)), nil)
	var se *StatusError
	if !errors.As(err, &se) || se.StatusCode != 500 || len(se.Body) > 1024 || len(se.Body) < 1022 {
		t.Fatalf("StatusError %v", err)
	}
	if ClassOf(err) != "status" {
		t.Errorf("ClassOf(*StatusError) = %q", ClassOf(err))
	}
	if se.URL != "https://x.test/a" || strings.Contains(se.Error(), "secret") {
		t.Errorf("R28: StatusError URL %q", se.URL)
	}
}

// Closing a body of a response retried past leaves no goroutine behind, and
// reading a returned body after its attempt succeeded works (R14).
func TestBody_R14_ReadAfterReturn(t *testing.T) {
	eachProto(t, func(t *testing.T, opts []httpclienttest.Option) {
		_, c := upstream(t, httpclienttest.Sequence{{Status: 503}, httpclienttest.OK(strings.Repeat("x", 100000))}, opts)
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		if n := len(readAll(t, resp)); n != 100000 {
			t.Errorf("body %d bytes", n)
		}
	})
}
