package httpclient_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
)

// The Examples of the request options (what a call carries and how it is
// sent), of Attempts and of the error types.

// JSON encodes the value once, before the first attempt, and sets the
// Content-Type; the same bytes go out on every attempt.
func ExampleJSON() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{{Status: http.StatusCreated}})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	type Order struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	}
	resp, err := client.Post(context.Background(), "/orders",
		httpclient.JSON(Order{SKU: "shoe-42", Quantity: 2}),
		httpclient.Header("Idempotency-Key", "order-7"))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	r := upstream.Requests()[0]
	fmt.Println(resp.StatusCode, r.Header.Get("Content-Type"), string(r.Body))

	// A value that cannot be encoded ends the call before anything is sent.
	_, err = client.Post(context.Background(), "/orders", httpclient.JSON(map[string]any{"f": func() {}}))
	fmt.Println("sent:", err == nil, "hits:", upstream.Hits())
	// Output:
	// 201 application/json {"sku":"shoe-42","quantity":2}
	// sent: false hits: 1
}

// Form sends URL-encoded values, as an HTML form or an OAuth token endpoint
// expects.
func ExampleForm() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.OK(`{"access_token":"..."}`)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Post(context.Background(), "/oauth/token", httpclient.Form(url.Values{
		"grant_type": {"client_credentials"},
		"scope":      {"orders:read orders:write"},
	}))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	r := upstream.Requests()[0]
	fmt.Println(r.Header.Get("Content-Type"))
	fmt.Println(string(r.Body))
	// Output:
	// application/x-www-form-urlencoded
	// grant_type=client_credentials&scope=orders%3Aread+orders%3Awrite
}

// Body sends any bytes with a Content-Type. A *bytes.Reader, *bytes.Buffer
// or *strings.Reader is replayed on retries; any other reader is sent once
// (see ExampleHooks).
func ExampleBody() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusServiceUnavailable),
		httpclienttest.OK(""),
	})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	csv := []byte("sku,quantity\nshoe-42,2\n")
	resp, err := client.Put(context.Background(), "/inventory/2024-06.csv", httpclient.Body(bytes.NewReader(csv), "text/csv"))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	for _, r := range upstream.Requests() {
		fmt.Printf("%d %s %q\n", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	// Output:
	// 503 text/csv "sku,quantity\nshoe-42,2\n"
	// 200 text/csv "sku,quantity\nshoe-42,2\n"
}

// Header sets a header on one call; it wins over the client's default
// header of the same name.
func ExampleHeader() {
	upstream := httpclienttest.NewServer(nil)
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithDefaultHeaders(http.Header{"Accept": {"application/json"}}))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	for _, opts := range [][]httpclient.RequestOption{
		nil, // the default header
		{httpclient.Header("Accept", "text/csv")},                                             // this call's own
		{httpclient.Header("Accept", "text/csv"), httpclient.Header("If-None-Match", `"v7"`)}, // and another
	} {
		resp, err := client.Get(ctx, "/report", opts...)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		resp.Body.Close()
	}
	for _, r := range upstream.Requests() {
		fmt.Printf("Accept=%s If-None-Match=%s\n", r.Header.Get("Accept"), r.Header.Get("If-None-Match"))
	}
	// Output:
	// Accept=application/json If-None-Match=
	// Accept=text/csv If-None-Match=
	// Accept=text/csv If-None-Match="v7"
}

// Query appends parameters, escaped, after the query the URL already has,
// which is kept as written: user input cannot add parameters of its own.
func ExampleQuery() {
	upstream := httpclienttest.NewServer(nil)
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	userInput := "red & blue shoes&admin=1"
	resp, err := client.Get(context.Background(), "/search?page=2",
		httpclient.Query("q", userInput),
		httpclient.Query("tag", "sale"), httpclient.Query("tag", "new")) // repeats add
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	fmt.Println(upstream.Requests()[0].Path)
	// Output: /search?page=2&q=red+%26+blue+shoes%26admin%3D1&tag=sale&tag=new
}

// Path builds a relative URL from segments, escaping each one, so that user
// data stays one segment: it cannot climb out of the base path or add a
// query. A segment that is "." or ".." is refused by the call.
func ExamplePath() {
	upstream := httpclienttest.NewServer(nil)
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL + "/v1")
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	fmt.Println(httpclient.Path("users", "a/b?c", "files"))
	resp, err := client.Get(ctx, httpclient.Path("users", "a/b?c", "files"))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	fmt.Println("upstream got:", upstream.Requests()[0].Path)

	_, err = client.Get(ctx, httpclient.Path("users", ".."))
	fmt.Println("invalid request:", errors.Is(err, httpclient.ErrInvalidRequest), "hits:", upstream.Hits())
	// Output:
	// /users/a%2Fb%3Fc/files
	// upstream got: /v1/users/a%2Fb%3Fc/files
	// invalid request: true hits: 1
}

// Timeout gives one call its own per-attempt timeout: an export endpoint
// that is slow by design gets longer than the client's tight default.
func ExampleTimeout() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		{Delay: 5 * time.Second},
		{Delay: 30 * time.Millisecond, Body: []byte("export.csv")},
	})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithTimeout(20*time.Millisecond), // tight, for the example's sake
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	_, err = client.Get(ctx, "/export")
	fmt.Println("client timeout:", httpclient.ClassOf(err))

	resp, err := client.Get(ctx, "/export", httpclient.Timeout(2*time.Second))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println("Timeout(2s):", resp.StatusCode, string(body))
	// Output:
	// client timeout: attempt_timeout
	// Timeout(2s): 200 export.csv
}

// The attempt timeout covers the reading of the body, so a stream that
// outlasts it is cut off. NoTimeout lifts it for one call; the caller's
// context still bounds the call.
func ExampleNoTimeout() {
	events := httpclienttest.Response{
		Body:  []byte("event: 1\nevent: 2\nevent: 3\n"),
		Fault: httpclienttest.SlowBody, BodyChunks: 3, BodyDelay: 200 * time.Millisecond, // whole after 400ms
	}
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{events})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL, httpclient.WithTimeout(100*time.Millisecond))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // the stream's own bound
	defer cancel()

	for _, opts := range [][]httpclient.RequestOption{nil, {httpclient.NoTimeout()}} {
		resp, err := client.Get(ctx, "/events", opts...)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			fmt.Println("read cut off by the attempt timeout:", errors.Is(err, httpclient.ErrAttemptTimeout))
			continue
		}
		fmt.Printf("NoTimeout: read %d events\n", bytes.Count(body, []byte("\n")))
	}
	// Output:
	// read cut off by the attempt timeout: true
	// NoTimeout: read 3 events
}

// TotalTimeout bounds one call, its retries and waits included: a request
// made while serving a user's request must answer within that request's
// budget. A wait that would outlast what is left is not started: the last
// outcome comes back at once.
func ExampleTotalTimeout() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusServiceUnavailable)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: 2 * time.Second}),
		httpclient.WithHooks(httpclient.Hooks{
			GiveUp: func(ctx context.Context, a httpclient.Attempt, why httpclient.Stop) {
				fmt.Printf("no wait after attempt %d: %s\n", a.N, why)
			},
		}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	start := time.Now()
	resp, err := client.Get(context.Background(), "/recommendations", httpclient.TotalTimeout(300*time.Millisecond))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, "at once:", time.Since(start) < 300*time.Millisecond)
	// Output:
	// no wait after attempt 1: deadline
	// 503 at once: true
}

// Idempotent tells the client that a POST is safe to send again (a cancel
// is the same cancel twice), so it is retried like a PUT. Prefer an
// Idempotency-Key header when the upstream supports one.
func ExampleIdempotent() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusServiceUnavailable),
		httpclienttest.Status(http.StatusServiceUnavailable),
		httpclienttest.OK("cancelled"),
	})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	for _, opts := range [][]httpclient.RequestOption{nil, {httpclient.Idempotent()}} {
		resp, err := client.Post(ctx, "/orders/7/cancel", opts...)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		n, why := httpclient.Attempts(resp, err)
		resp.Body.Close()
		fmt.Printf("%d after %d attempts (%s)\n", resp.StatusCode, n, why)
	}
	// Output:
	// 503 after 1 attempts (not_idempotent)
	// 200 after 2 attempts (settled)
}

// Retry gives one call its own policy: here a client that does not retry,
// and the one call that must get through. Zero fields of the policy take
// the package defaults, not the client's.
func ExampleRetry() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusBadGateway),
		httpclienttest.Status(http.StatusBadGateway),
		httpclienttest.Status(http.StatusBadGateway),
		httpclienttest.OK("ok"),
	})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Put(context.Background(), "/settlement/2024-06",
		httpclient.Retry(httpclient.RetryPolicy{MaxAttempts: 5, BackoffInitial: time.Millisecond}))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	n, _ := httpclient.Attempts(resp, err)
	resp.Body.Close()
	fmt.Printf("%d after %d attempts\n", resp.StatusCode, n)
	// Output: 200 after 4 attempts
}

// NoRetry makes a call a single attempt: for a caller that retries on its
// own (a job queue), or a health check that must report what it saw.
func ExampleNoRetry() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusServiceUnavailable)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/healthz", httpclient.NoRetry())
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, "hits:", upstream.Hits())
	// Output: 503 hits: 1
}

// NoHedge turns hedging off for one call: a request that is slow by nature
// (a report) would only double its own load.
func ExampleNoHedge() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		{Delay: 60 * time.Millisecond, Body: []byte("report")},
	})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithHedging(httpclient.HedgePolicy{Delay: 10 * time.Millisecond}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/reports/2024", httpclient.NoHedge())
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body), "hits:", upstream.Hits())
	// Output: 200 report hits: 1
}

// Code that only takes an *http.Client (a generated SDK, say) gets the
// client's retries and breaker through StandardClient; the sending options
// of a call travel in its context.
func ExampleWithRequestOptions() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusServiceUnavailable)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	// thirdPartyFetch stands for code you cannot change.
	thirdPartyFetch := func(ctx context.Context, hc *http.Client, url string) (int, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		return resp.StatusCode, nil
	}

	hc := client.StandardClient()
	ctx := httpclient.WithRequestOptions(context.Background(),
		httpclient.Timeout(2*time.Second), // this call's attempt timeout
		httpclient.NoRetry(),              // and a single attempt
	)
	status, err := thirdPartyFetch(ctx, hc, upstream.URL+"/quote")
	fmt.Println(status, err, "hits:", upstream.Hits())
	// Output: 503 <nil> hits: 1
}

// SendOption is the part of RequestOption that says how a call is sent, not
// what it carries. Only SendOptions can ride in a context (for Do and
// StandardClient), so a set of them can be kept and used both ways.
func ExampleSendOption() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusServiceUnavailable)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	// How calls to the pricing endpoint are sent, wherever they are made.
	pricing := []httpclient.SendOption{httpclient.Timeout(time.Second), httpclient.NoRetry()}

	// In a context, for Do (and StandardClient). Something like
	// WithRequestOptions(ctx, httpclient.JSON(v)) does not compile: the body,
	// headers and query go on the *http.Request itself.
	ctx := httpclient.WithRequestOptions(context.Background(), pricing...)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, upstream.URL+"/prices", nil)
	resp, err := client.Do(req)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()

	// With a verb: every SendOption is a RequestOption.
	opts := []httpclient.RequestOption{httpclient.Query("sku", "shoe-42")}
	for _, o := range pricing {
		opts = append(opts, o)
	}
	resp, err = client.Get(context.Background(), "/prices", opts...)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	fmt.Println("hits:", upstream.Hits(), "for 2 calls")
	// Output: hits: 2 for 2 calls
}

// CheckStatus turns a non-2xx response into a *StatusError, for a body that
// is not JSON (Decode does the same check, then decodes).
func ExampleCheckStatus() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.OK("sku,quantity\nshoe-42,2\n"),
		{Status: http.StatusNotFound, Body: []byte("no such report")},
	})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	for _, month := range []string{"2024-06", "2031-01"} {
		resp, err := httpclient.CheckStatus(client.Get(ctx, httpclient.Path("reports", month+".csv")))
		var se *httpclient.StatusError
		switch {
		case errors.As(err, &se): // the body was read (1 KiB at most) and closed
			fmt.Printf("%s: %d %s\n", month, se.StatusCode, se.Body)
		case err != nil:
			fmt.Println("error:", err)
		default: // a 2xx: the body is the caller's to read and close
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Printf("%s: %q\n", month, body)
		}
	}
	// Output:
	// 2024-06: "sku,quantity\nshoe-42,2\n"
	// 2031-01: 404 no such report
}

// DecodeLimit is Decode with a read limit of its own (Decode's is 10 MiB):
// an endpoint that answers a few bytes should not be able to make the
// caller read megabytes.
func ExampleDecodeLimit() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.OK(`{"count":3}`),
		httpclienttest.OK(`{"count":3,"padding":"` + strings.Repeat("x", 4096) + `"}`),
	})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	type Count struct {
		Count int `json:"count"`
	}
	for range 2 {
		c, err := httpclient.DecodeLimit[Count](1024)(client.Get(ctx, "/cart/count"))
		fmt.Println(c.Count, errors.Is(err, httpclient.ErrBodyTooLarge))
	}
	// Output:
	// 3 false
	// 0 true
}

// Attempts tells why a call ended as it did: "exhausted" (every attempt was
// made) from an early stop such as "not_idempotent" (a POST that may have
// been processed is not sent again). A log line or a metric label each.
func ExampleAttempts() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusServiceUnavailable)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	resp, err := client.Get(ctx, "/orders/7")
	n, why := httpclient.Attempts(resp, err) // before the body is replaced or closed
	fmt.Println(resp.StatusCode, n, why)
	resp.Body.Close()

	resp, err = client.Post(ctx, "/orders", httpclient.JSON(map[string]int{"amount": 100}))
	n, why = httpclient.Attempts(resp, err)
	fmt.Println(resp.StatusCode, n, why)
	resp.Body.Close()
	// Output:
	// 503 3 exhausted
	// 503 1 not_idempotent
}

// A *StatusError carries what a log line or a retry decision needs: the
// method, the URL without its query (which may hold secrets), the status,
// the headers and the start of the body.
func ExampleStatusError() {
	upstream := httpclienttest.NewMemoryServer(httpclienttest.Sequence{{
		Status: http.StatusTooManyRequests,
		Header: http.Header{"Retry-After": {"120"}},
		Body:   []byte(`{"error":"quota exceeded"}`),
	}})
	defer upstream.Close()
	transport := upstream.Transport() // an in-memory upstream, so that the URL below is stable
	defer transport.CloseIdleConnections()
	client, err := httpclient.New("http://api.example.test", httpclient.WithTransport(transport),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	_, err = httpclient.CheckStatus(client.Get(context.Background(), "/search?api_key=s3cret&q=shoes"))
	var se *httpclient.StatusError
	if errors.As(err, &se) {
		fmt.Println(se)
		fmt.Println(se.Method, se.URL, se.StatusCode, se.Header.Get("Retry-After"))
	}
	// Output:
	// httpclient: GET http://api.example.test/search: 429 Too Many Requests: {"error":"quota exceeded"}
	// GET http://api.example.test/search 429 120
}

// A call refused by an open circuit fails fast with a *CircuitOpenError;
// its Until says when the circuit lets a probe through, which a server can
// pass on to its own callers as a Retry-After.
func ExampleCircuitOpenError() {
	upstream := httpclienttest.NewMemoryServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusInternalServerError)})
	defer upstream.Close()
	transport := upstream.Transport() // an in-memory upstream, so that the origin below is stable
	defer transport.CloseIdleConnections()
	client, err := httpclient.New("http://inventory.internal",
		httpclient.WithTransport(transport),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}),
		httpclient.WithCircuitBreaker(1, time.Minute)) // open at the first failure, for a minute
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	resp, err := client.Get(ctx, "/stock/shoe-42")
	if err == nil {
		resp.Body.Close()
	}
	_, err = client.Get(ctx, "/stock/shoe-42")
	var coe *httpclient.CircuitOpenError
	if errors.As(err, &coe) {
		retryAfter := time.Until(coe.Until).Round(time.Second)
		fmt.Println(coe.Origin, "open; Retry-After:", int(retryAfter.Seconds()))
	}
	fmt.Println(errors.Is(err, httpclient.ErrCircuitOpen), "hits:", upstream.Hits())
	// Output:
	// http://inventory.internal:80 open; Retry-After: 60
	// true hits: 1
}
