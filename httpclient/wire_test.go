package httpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/requestid"
)

// R1, R3: a relative path joins the base; Query and JSON shape the request.
func TestVerbs_R1_R3_Shape(t *testing.T) {
	eachProto(t, func(t *testing.T, opts []httpclienttest.Option) {
		srv, _ := upstream(t, nil, opts)
		c, err := New(srv.URL+"/v1?key=k", WithTransport(srv.Transport()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := context.Background()
		resp, err := c.Post(ctx, "/users?raw=%2F", JSON(map[string]int{"n": 1}), Query("q", "a b"), Header("X-A", "1"))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		for _, f := range []func(context.Context, string, ...RequestOption) (*http.Response, error){c.Get, c.Put, c.Patch, c.Delete} {
			resp, err := f(ctx, "items/1")
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, resp)
		}
		reqs := srv.Requests()
		if len(reqs) != 5 {
			t.Fatalf("%d requests", len(reqs))
		}
		r := reqs[0]
		if r.Method != "POST" || r.Path != "/v1/users?key=k&raw=%2F&q=a+b" {
			t.Errorf("POST went to %s %s", r.Method, r.Path)
		}
		if string(r.Body) != `{"n":1}` || r.Header.Get("Content-Type") != "application/json" || r.Header.Get("X-A") != "1" {
			t.Errorf("body %q, headers %v", r.Body, r.Header)
		}
		for i, m := range []string{"GET", "PUT", "PATCH", "DELETE"} {
			if reqs[i+1].Method != m || reqs[i+1].Path != "/v1/items/1?key=k" {
				t.Errorf("request %d: %s %s", i+1, reqs[i+1].Method, reqs[i+1].Path)
			}
		}
	})
}

// R3: a JSON encoding error ends the call before any attempt.
func TestJSON_R3_EncodingError(t *testing.T) {
	srv, c := upstream(t, nil, nil)
	_, err := c.Post(context.Background(), "/x", JSON(make(chan int)))
	var ue *url.Error
	if !errors.As(err, &ue) || srv.Hits() != 0 {
		t.Fatalf("err %v, hits %d", err, srv.Hits())
	}
}

// R6, R11, R12: a retryable status is retried; the upstream's connection is
// reused after each retry; the last retryable response comes back with a nil
// error and its body.
func TestRetry_R6_R11_R12_StatusAndReuse(t *testing.T) {
	eachProto(t, func(t *testing.T, opts []httpclienttest.Option) {
		srv, c := upstream(t, httpclienttest.Sequence{
			{Status: 503, Body: []byte("busy 1")}, {Status: 502, Body: []byte("busy 2")}, {Status: 500, Body: []byte("busy 3")},
		}, opts)
		var reused []bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = append(reused, i.Reused) },
		})
		resp, err := c.Get(ctx, "/")
		if err != nil {
			t.Fatalf("R12: last retryable status gave error %v", err)
		}
		if resp.StatusCode != 500 || readAll(t, resp) != "busy 3" {
			t.Errorf("got %d", resp.StatusCode)
		}
		if srv.Hits() != 3 {
			t.Errorf("hits = %d, want 3", srv.Hits())
		}
		if srv.Conns() != 1 {
			t.Errorf("R11: %d connections for 3 attempts, want 1", srv.Conns())
		}
		if len(reused) != 3 || !reused[1] || !reused[2] {
			t.Errorf("R11: GotConn reused = %v", reused)
		}
	})
}

// R6: statuses off the allow-list are returned at once.
func TestRetry_R6_NotRetriedStatuses(t *testing.T) {
	for _, code := range []int{200, 301, 400, 401, 404, 409, 501, 505} {
		srv, c := upstream(t, httpclienttest.Sequence{{Status: code, Header: http.Header{"Location": {"/x"}}}}, nil)
		c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if srv.Hits() != 1 {
			t.Errorf("%d: %d hits, want 1", code, srv.Hits())
		}
	}
}

// R7: methods and idempotency.
func TestRetry_R7_Methods(t *testing.T) {
	cases := []struct {
		name   string
		method string
		opts   []RequestOption
		hits   int
	}{
		{"POST", "POST", nil, 1},
		{"PATCH", "PATCH", nil, 1},
		{"POST with Idempotency-Key", "POST", []RequestOption{Header("Idempotency-Key", "k1")}, 3},
		{"POST with X-Idempotency-Key", "POST", []RequestOption{Header("X-Idempotency-Key", "k1")}, 3},
		{"POST Idempotent()", "POST", []RequestOption{Idempotent()}, 3},
		{"PUT", "PUT", nil, 3},
		{"DELETE", "DELETE", nil, 3},
		{"OPTIONS", "OPTIONS", nil, 3},
		{"HEAD", "HEAD", nil, 3},
		{"GET NoRetry", "GET", []RequestOption{NoRetry()}, 1},
		{"GET Retry(5)", "GET", []RequestOption{Retry(RetryPolicy{MaxAttempts: 5, BackoffInitial: time.Millisecond})}, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := upstream(t, httpclienttest.Sequence{{Status: 503}}, nil)
			resp, err := c.Request(context.Background(), tc.method, "/", append(tc.opts, Body(strings.NewReader("payload"), "text/plain"))...)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if srv.Hits() != tc.hits {
				t.Errorf("hits = %d, want %d", srv.Hits(), tc.hits)
			}
			for _, r := range srv.Requests() {
				if tc.method != "HEAD" && string(r.Body) != "payload" {
					t.Errorf("R13: attempt %d sent body %q", r.Hit, r.Body)
				}
				if tc.hits > 1 && tc.opts != nil && r.Header.Get("Idempotency-Key") != "" && r.Header.Get("Idempotency-Key") != "k1" {
					t.Errorf("R7: key changed")
				}
			}
		})
	}
}

// R7: a POST whose connection is reset after sending is not retried; a GET is.
func TestRetry_R7_R32_ResetAfterSend(t *testing.T) {
	eachProto(t, func(t *testing.T, opts []httpclienttest.Option) {
		srv, c := upstream(t, httpclienttest.Sequence{{Fault: httpclienttest.ResetBeforeResponse}}, opts)
		_, err := c.Post(context.Background(), "/", Body(strings.NewReader("x"), ""))
		if err == nil {
			t.Fatal("no error")
		}
		if srv.Hits() != 1 {
			t.Errorf("POST: %d hits, want 1 (nothing sent twice)", srv.Hits())
		}
		var ue *url.Error
		if !errors.As(err, &ue) {
			t.Errorf("R32: %T is not a *url.Error", err)
		}
		srv2, c2 := upstream(t, httpclienttest.Sequence{{Fault: httpclienttest.ResetBeforeResponse}, {Fault: httpclienttest.ResetBeforeResponse}, httpclienttest.OK("ok")}, opts)
		resp, err := c2.Get(context.Background(), "/")
		if err != nil {
			t.Fatalf("GET after resets: %v", err)
		}
		if readAll(t, resp) != "ok" || srv2.Hits() < 3 {
			t.Errorf("GET: hits %d", srv2.Hits())
		}
	})
}

// R7, R12: a refused connection proves nothing was sent, so even a POST is
// retried; the last failure comes back wrapping the *net.OpError.
func TestRetry_R7_R12_RefusedIsRetriedForPost(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var rec recorder
	c, err := New("http://"+addr, WithRetryPolicy(fastRetry), WithHooks(rec.hooks()), WithCircuitBreaker(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Post(context.Background(), "/charge", JSON(1))
	var op *net.OpError
	if !errors.As(err, &op) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("R12: error %v does not reach *net.OpError/ECONNREFUSED", err)
	}
	if rec.nAttempts() != 3 {
		t.Errorf("attempts = %d, want 3", rec.nAttempts())
	}
}

// notSentTransport fails like a custom transport that never sent anything.
type notSentTransport struct{ n atomic.Int32 }

func (t *notSentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	if r.Body != nil {
		r.Body.Close()
	}
	return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("refused by policy")}
}

// R7: a custom transport is trusted only through ErrNotSent.
func TestRetry_R7_R36_R38_CustomTransportTrustedOnlyThroughErrNotSent(t *testing.T) {
	ns := &notSentTransport{}
	c, _ := New("http://example.invalid", WithTransport(ns), WithRetryPolicy(fastRetry), WithCircuitBreaker(0, 0))
	defer c.Close()
	if _, err := c.Post(context.Background(), "/", JSON(1)); err == nil {
		t.Fatal("no error")
	}
	if ns.n.Load() != 1 {
		t.Errorf("custom dial error: %d attempts of a POST, want 1", ns.n.Load())
	}
	wrapped := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		ns.n.Add(1)
		return nil, fmt.Errorf("rate limited locally: %w", ErrNotSent)
	})
	ns.n.Store(0)
	c2, _ := New("http://example.invalid", WithTransport(wrapped), WithRetryPolicy(fastRetry), WithCircuitBreaker(0, 0))
	defer c2.Close()
	_, err := c2.Post(context.Background(), "/", JSON(1))
	if !errors.Is(err, ErrNotSent) {
		t.Errorf("error %v", err)
	}
	if ns.n.Load() != 3 {
		t.Errorf("ErrNotSent: %d attempts of a POST, want 3", ns.n.Load())
	}
}

// R11: a retryable response with a body over 64 KiB is returned at once,
// body intact.
func TestRetry_R11_LargeBodyNotRetried(t *testing.T) {
	big := bytes.Repeat([]byte("x"), maxRetryBody+100)
	srv, c := upstream(t, httpclienttest.Sequence{{Status: 503, Body: big}, httpclienttest.OK("ok")}, nil)
	resp, err := c.Get(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, resp); got != string(big) || resp.StatusCode != 503 {
		t.Errorf("status %d, body %d bytes, want 503 and %d", resp.StatusCode, len(got), len(big))
	}
	if srv.Hits() != 1 {
		t.Errorf("hits = %d", srv.Hits())
	}
}

// R9: a Retry-After over BackoffMax returns that response at once.
func TestRetry_R9_RetryAfterOverCap(t *testing.T) {
	srv, c := upstream(t, httpclienttest.Sequence{httpclienttest.Status(429, "Retry-After", "3600")}, nil)
	resp, err := c.Get(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || srv.Hits() != 1 {
		t.Errorf("status %d hits %d", resp.StatusCode, srv.Hits())
	}
}

// R13: a body that cannot be replayed is sent once.
func TestRetry_R13_UnreplayableBodySentOnce(t *testing.T) {
	srv, c := upstream(t, httpclienttest.Sequence{{Status: 503}}, nil)
	body := io.MultiReader(strings.NewReader("once")) // not replayable
	resp, err := c.Put(context.Background(), "/", Body(body, "text/plain"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if srv.Hits() != 1 {
		t.Errorf("hits = %d, want 1", srv.Hits())
	}
	// Do with GetBody is replayed.
	srv2, c2 := upstream(t, httpclienttest.Sequence{{Status: 503}, httpclienttest.OK("")}, nil)
	req, _ := http.NewRequest("PUT", srv2.URL+"/", bytes.NewReader([]byte("again")))
	resp, err = c2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reqs := srv2.Requests()
	if len(reqs) != 2 || string(reqs[1].Body) != "again" {
		t.Errorf("Do replay: %d requests", len(reqs))
	}
}

// R4: invalid requests fail before any attempt, are not retried and do not
// count in the breaker.
func TestValidation_R4(t *testing.T) {
	srv, c := upstream(t, nil, nil, WithCircuitBreaker(1, time.Hour))
	ctx := context.Background()
	bad := []func() error{
		func() error { _, err := c.Get(ctx, "/", Header("Bad Name", "x")); return err },
		func() error { _, err := c.Get(ctx, "/", Header("X-A", "a\nb")); return err },
		func() error { _, err := c.Request(ctx, "BAD METHOD", "/"); return err },
		func() error { _, err := c.Get(ctx, "http:///x"); return err },
		func() error { _, err := c.Get(ctx, "../x"); return err },
	}
	for i, f := range bad {
		err := f()
		var ue *url.Error
		if err == nil || !errors.As(err, &ue) {
			t.Errorf("case %d: error %v is not a *url.Error", i, err)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Get(cctx, "/"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if srv.Hits() != 0 {
		t.Errorf("hits = %d", srv.Hits())
	}
	resp, err := c.Get(ctx, "/")
	if err != nil {
		t.Fatalf("R4: the breaker counted caller errors: %v", err)
	}
	resp.Body.Close()
}

// R17, R18: consecutive failures open the circuit; calls then fail fast with
// a *CircuitOpenError naming the normalised origin, without a hit.
func TestBreaker_R17_R18_OpensAndFailsFast(t *testing.T) {
	eachProto(t, func(t *testing.T, opts []httpclienttest.Option) {
		var rec recorder
		srv, c := upstream(t, httpclienttest.Sequence{{Status: 500}}, opts, WithCircuitBreaker(3, time.Hour), WithHooks(rec.hooks()))
		ctx := context.Background()
		resp, err := c.Get(ctx, "/a") // 3 attempts, 3 failures
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, err = c.Get(ctx, "/b")
		var coe *CircuitOpenError
		if !errors.As(err, &coe) || !errors.Is(err, ErrCircuitOpen) {
			t.Fatalf("error %v is not a *CircuitOpenError", err)
		}
		u, _ := url.Parse(srv.URL)
		if coe.Origin != "http://"+u.Host || coe.Until.IsZero() {
			t.Errorf("origin %q until %v", coe.Origin, coe.Until)
		}
		var ue *url.Error
		if !errors.As(err, &ue) || ue.Op != "Get" {
			t.Errorf("R32: %#v", err)
		}
		// Through Do and StandardClient too (R31), and another spelling of the origin (R16).
		if _, err := c.StandardClient().Get(strings.Replace(srv.URL, "127.0.0.1", "127.0.0.1", 1) + "/c"); !errors.Is(err, ErrCircuitOpen) {
			t.Errorf("StandardClient: %v", err)
		}
		if srv.Hits() != 3 {
			t.Errorf("hits = %d, want 3", srv.Hits())
		}
		_, err2 := c.Get(ctx, "/d")
		var coe2 *CircuitOpenError
		errors.As(err2, &coe2)
		if coe2 != coe {
			t.Error("one *CircuitOpenError is not shared within an open period")
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.changes) != 1 || rec.changes[0].To.String() != "open" {
			t.Errorf("state changes %+v", rec.changes)
		}
	})
}

// R17: 429 and 4xx are successes; an unknown error is a failure.
func TestBreaker_R17_Accounting(t *testing.T) {
	srv, c := upstream(t, httpclienttest.Sequence{{Status: 429}, {Status: 404}, {Status: 429}, {Status: 400}}, nil,
		WithCircuitBreaker(2, time.Hour), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	for range 4 {
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatalf("circuit opened on 4xx: %v", err)
		}
		resp.Body.Close()
	}
	_ = srv
}

// R23, R25: default headers go only to the base origin; the request ID goes on
// every attempt and hop; precedence is call header, request ID, default.
func TestHeaders_R23_R25_DefaultsAndRequestID(t *testing.T) {
	eachProto(t, func(t *testing.T, opts []httpclienttest.Option) {
		other := httpclienttest.NewServer(nil, opts...)
		defer other.Close()
		srv := httpclienttest.NewServer(httpclienttest.Sequence{{Status: 503}, httpclienttest.Redirect(302, other.URL+"/landed")}, opts...)
		defer srv.Close()
		tr := srv.Transport()
		defer tr.CloseIdleConnections()
		otr := other.Transport()
		defer otr.CloseIdleConnections()
		// One transport reaching both servers (same protocol settings).
		rt := RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host == strings.TrimPrefix(other.URL, "http://") {
				return otr.RoundTrip(r)
			}
			return tr.RoundTrip(r)
		})
		c, err := New(srv.URL, WithTransport(rt), WithRetryPolicy(fastRetry),
			WithDefaultHeaders(http.Header{"X-Api-Key": {"secret"}, "X-Request-Id": {"default-id"}, "X-Both": {"default"}}))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		ctx := requestid.NewContext(context.Background(), "req-123")
		resp, err := c.Get(ctx, "/start", Header("X-Both", "call"))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		reqs := srv.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests to base", len(reqs))
		}
		for _, r := range reqs {
			if r.Header.Get("X-Api-Key") != "secret" || r.Header.Get("X-Request-ID") != "req-123" || r.Header.Get("X-Both") != "call" {
				t.Errorf("R23/R25 base attempt %d headers: %v", r.Hit, r.Header)
			}
		}
		or := other.Requests()
		if len(or) != 1 {
			t.Fatalf("%d requests to other", len(or))
		}
		if or[0].Header.Get("X-Api-Key") != "" {
			t.Error("R23: default header followed a redirect to another origin")
		}
		if or[0].Header.Get("X-Request-ID") != "req-123" {
			t.Error("R25: request ID missing on the redirect hop")
		}
		// The call's own X-Request-ID wins; no ID in the context, none sent
		// (but the default header applies).
		resp, _ = c.Get(ctx, "/x", Header("X-Request-ID", "mine"), NoRetry())
		resp.Body.Close()
		resp, _ = c.Get(context.Background(), "/y", NoRetry())
		resp.Body.Close()
		reqs = srv.Requests()
		if got := reqs[len(reqs)-2].Header.Get("X-Request-ID"); got != "mine" {
			t.Errorf("call header lost to %q", got)
		}
		if got := reqs[len(reqs)-1].Header.Get("X-Request-ID"); got != "default-id" {
			t.Errorf("without a context ID: %q", got)
		}
	})
}

// R25: propagation off sends no ID.
func TestHeaders_R25_PropagationOff(t *testing.T) {
	srv, c := upstream(t, nil, nil, WithRequestIDPropagation(false))
	resp, err := c.Get(requestid.NewContext(context.Background(), "abc"), "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if v := srv.Requests()[0].Header.Get("X-Request-ID"); v != "" {
		t.Errorf("sent %q", v)
	}
}

// R24: a redirect loop ends with an error that is not retried.
func TestRedirect_R24_Loop(t *testing.T) {
	srv, c := upstream(t, httpclienttest.Sequence{httpclienttest.Redirect(302, "/loop")}, nil, WithCircuitBreaker(1, time.Hour))
	_, err := c.Get(context.Background(), "/loop")
	if err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Fatalf("err = %v", err)
	}
	if srv.Hits() != 10 {
		t.Errorf("hits = %d, want 10", srv.Hits())
	}
}

// R21: a redirect to an origin whose circuit is open ends with that origin's
// *CircuitOpenError.
func TestRedirect_R21_ToOpenOrigin(t *testing.T) {
	down := httpclienttest.NewServer(httpclienttest.Sequence{{Status: 503}})
	defer down.Close()
	srv := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Redirect(302, down.URL+"/")})
	defer srv.Close()
	c, _ := New(srv.URL, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}), WithCircuitBreaker(1, time.Hour))
	defer c.Close()
	resp, err := c.Get(context.Background(), down.URL+"/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, err = c.Get(context.Background(), "/go")
	var coe *CircuitOpenError
	if !errors.As(err, &coe) || !strings.HasSuffix(coe.Origin, strings.TrimPrefix(down.URL, "http://")) {
		t.Fatalf("err = %v", err)
	}
	if down.Hits() != 1 || srv.Hits() != 1 {
		t.Errorf("hits down %d srv %d", down.Hits(), srv.Hits())
	}
}

// R6, R17: an untrusted certificate is not retried and counts as a failure.
func TestTLS_R6_CertificateNotRetried(t *testing.T) {
	srv := httpclienttest.NewServer(nil, httpclienttest.WithTLS())
	defer srv.Close()
	var rec recorder
	c, _ := New(srv.URL, WithRetryPolicy(fastRetry), WithCircuitBreaker(1, time.Hour), WithHooks(rec.hooks()))
	defer c.Close()
	_, err := c.Get(context.Background(), "/")
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Fatalf("err = %v", err)
	}
	if rec.nAttempts() != 1 {
		t.Errorf("attempts = %d, want 1", rec.nAttempts())
	}
	if _, err := c.Get(context.Background(), "/"); !errors.Is(err, ErrCircuitOpen) {
		t.Errorf("R17: certificate failure did not count: %v", err)
	}
	// The server's own transport trusts it, over HTTP/2 too.
	srv2 := httpclienttest.NewServer(nil, httpclienttest.WithTLS(), httpclienttest.WithHTTP2())
	defer srv2.Close()
	tr := srv2.Transport()
	defer tr.CloseIdleConnections()
	c2, _ := New(srv2.URL, WithTransport(tr))
	defer c2.Close()
	resp, err := c2.Get(context.Background(), "/")
	if err != nil || resp.ProtoMajor != 2 {
		t.Fatalf("TLS h2: %v", err)
	}
	resp.Body.Close()
}

// R17: errors while the caller reads the body count for nothing.
func TestBreaker_R17_BodyErrorsCountForNothing(t *testing.T) {
	eachProto(t, func(t *testing.T, opts []httpclienttest.Option) {
		_, c := upstream(t, httpclienttest.Sequence{{Body: []byte("0123456789"), Fault: httpclienttest.ResetMidBody}}, opts,
			WithCircuitBreaker(1, time.Hour))
		for range 3 {
			resp, err := c.Get(context.Background(), "/")
			if err != nil {
				t.Fatalf("circuit counted body errors: %v", err)
			}
			if _, err := io.ReadAll(resp.Body); err == nil {
				t.Error("no body error")
			}
			resp.Body.Close()
		}
	})
}

// closeCounter counts CloseIdleConnections.
type closeCounter struct {
	http.RoundTripper
	n atomic.Int32
}

func (c *closeCounter) CloseIdleConnections() { c.n.Add(1) }

// R30: Close fails later calls with ErrClosed, and never closes a transport
// passed in.
func TestClose_R30(t *testing.T) {
	srv := httpclienttest.NewServer(nil)
	defer srv.Close()
	tr := srv.Transport()
	defer tr.CloseIdleConnections()
	cc := &closeCounter{RoundTripper: tr}
	c, _ := New(srv.URL, WithTransport(cc))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if cc.n.Load() != 0 {
		t.Error("Close closed a transport passed in")
	}
	_, err := c.Get(context.Background(), "/")
	var ue *url.Error
	if !errors.Is(err, ErrClosed) || !errors.As(err, &ue) {
		t.Errorf("Get after Close: %v", err)
	}
	if _, err := c.StandardClient().Get(srv.URL); !errors.Is(err, ErrClosed) {
		t.Errorf("R31 after Close: %v", err)
	}
	if srv.Hits() != 0 {
		t.Errorf("hits %d", srv.Hits())
	}
}

// R31: StandardClient applies retries; options travel in the context.
func TestStandardClient_R31(t *testing.T) {
	srv, c := upstream(t, httpclienttest.Sequence{{Status: 503}}, nil, WithCircuitBreaker(0, 0))
	hcl := c.StandardClient()
	if hcl.Timeout != 0 || hcl.Jar != nil || hcl == c.StandardClient() {
		t.Error("StandardClient must be a new client with no Timeout and no jar")
	}
	resp, err := hcl.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if srv.Hits() != 3 {
		t.Errorf("hits = %d, want 3", srv.Hits())
	}
	req, _ := http.NewRequestWithContext(WithRequestOptions(context.Background(), NoRetry()), "GET", srv.URL+"/", nil)
	resp, err = hcl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if srv.Hits() != 4 {
		t.Errorf("NoRetry through the context: hits = %d, want 4", srv.Hits())
	}
	req, _ = http.NewRequestWithContext(WithRequestOptions(context.Background(), Idempotent()), "POST", srv.URL+"/", strings.NewReader("p"))
	resp, err = hcl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if srv.Hits() != 7 {
		t.Errorf("Idempotent through the context: hits = %d, want 7", srv.Hits())
	}
}

// R22: a panicking hook never breaks a call.
func TestHooks_R22_PanicRecovered(t *testing.T) {
	boom := func() { panic("boom") }
	srv, c := upstream(t, httpclienttest.Sequence{{Status: 503}, httpclienttest.OK("ok")}, nil, WithHooks(Hooks{
		AttemptStart: func(ctx context.Context, _ *http.Request, _ Attempt) context.Context { boom(); return ctx },
		AttemptDone:  func(context.Context, Attempt, AttemptResult) { boom() },
		Retry:        func(context.Context, RetryEvent) { boom() },
	}))
	resp, err := c.Get(context.Background(), "/")
	if err != nil || readAll(t, resp) != "ok" || srv.Hits() != 2 {
		t.Fatalf("err %v hits %d", err, srv.Hits())
	}
}

// Hooks: AttemptStart can set a header on the attempt's own request (for
// tracing) without touching the caller's.
func TestHooks_AttemptStartSetsHeader(t *testing.T) {
	srv, c := upstream(t, httpclienttest.Sequence{{Status: 503}, httpclienttest.OK("")}, nil, WithHooks(Hooks{
		AttemptStart: func(ctx context.Context, r *http.Request, a Attempt) context.Context {
			r.Header.Set("Traceparent", fmt.Sprintf("attempt-%d", a.N))
			return ctx
		},
	}))
	req, _ := http.NewRequest("GET", srv.URL+"/", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	reqs := srv.Requests()
	if reqs[0].Header.Get("Traceparent") != "attempt-1" || reqs[1].Header.Get("Traceparent") != "attempt-2" {
		t.Errorf("headers %v / %v", reqs[0].Header, reqs[1].Header)
	}
	if req.Header.Get("Traceparent") != "" {
		t.Error("the caller's request was mutated")
	}
}

// RoundTripperFunc adapts a function to http.RoundTripper in tests.
type RoundTripperFunc func(*http.Request) (*http.Response, error)

func (f RoundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
