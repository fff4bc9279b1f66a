package httpclient_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/requestid"
)

// The Examples that docs/*.md quote: each runs against a local
// httpclienttest upstream and checks its output, and the docs check that
// what they quote is here.

// printOutcome prints a call's outcome and how many hits it cost the upstream.
func printOutcome(resp *http.Response, err error, upstream *httpclienttest.Server, before int) {
	if err != nil {
		fmt.Printf("error (%s) after %d attempts\n", httpclient.ClassOf(err), upstream.Hits()-before)
		return
	}
	resp.Body.Close()
	fmt.Printf("%d after %d attempts\n", resp.StatusCode, upstream.Hits()-before)
}

// docs/retries.md: a POST is retried only when it is safe to repeat.
func ExampleClient_Post_idempotencyKey() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusServiceUnavailable)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}),
		httpclient.WithCircuitBreaker(0, 0), // off: this example counts attempts only
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()
	order := map[string]int{"amount": 100}

	// No key: the upstream may have processed the order, so no retry.
	n := upstream.Hits()
	resp, err := client.Post(ctx, "/orders", httpclient.JSON(order))
	printOutcome(resp, err, upstream, n)

	// An Idempotency-Key lets the upstream recognise a repeat: retried, and
	// the same key goes out on every attempt.
	n = upstream.Hits()
	resp, err = client.Post(ctx, "/orders", httpclient.JSON(order),
		httpclient.Header("Idempotency-Key", "order-7"))
	printOutcome(resp, err, upstream, n)

	// An operation that is idempotent by nature can say so.
	n = upstream.Hits()
	resp, err = client.Post(ctx, "/orders/7/cancel", httpclient.Idempotent())
	printOutcome(resp, err, upstream, n)

	// A GET (or HEAD, OPTIONS, TRACE, PUT, DELETE) needs nothing.
	n = upstream.Hits()
	resp, err = client.Get(ctx, "/orders/7")
	printOutcome(resp, err, upstream, n)
	// Output:
	// 503 after 1 attempts
	// 503 after 3 attempts
	// 503 after 3 attempts
	// 503 after 3 attempts
}

// docs/retries.md: RetryIf decides for every outcome of a request that may
// be sent again; here it narrows the rules for one client.
func ExampleRetryPolicy_retryIf() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusTooManyRequests)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL, httpclient.WithRetryPolicy(httpclient.RetryPolicy{
		BackoffInitial: time.Millisecond,
		// This API's quota resets hourly: a 429 will not clear within a call.
		RetryIf: func(a httpclient.Attempt, resp *http.Response, err error, retryable bool) bool {
			return retryable && (resp == nil || resp.StatusCode != http.StatusTooManyRequests)
		},
	}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	n := upstream.Hits()
	resp, err := client.Get(context.Background(), "/quota")
	printOutcome(resp, err, upstream, n)
	// Output: 429 after 1 attempts
}

// docs/retries.md: Retry-After replaces the computed wait, and a
// Retry-After longer than BackoffMax ends the call with that response.
func ExampleRetryPolicy_retryAfter() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusServiceUnavailable, "Retry-After", "3600"),
		httpclienttest.Status(http.StatusTooManyRequests, "Retry-After", "0"),
		httpclienttest.OK("done"),
	})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffMax: 8 * time.Second}),
		httpclient.WithHooks(httpclient.Hooks{
			Retry: func(ctx context.Context, e httpclient.RetryEvent) {
				fmt.Printf("  retry after %d: wait %v (from Retry-After: %v)\n", e.Result.Status, e.Wait, e.RetryAfter)
			},
			GiveUp: func(ctx context.Context, a httpclient.Attempt, why httpclient.Stop) {
				fmt.Printf("  gave up: %s\n", why)
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	// An hour is over the 8s cap: the 503 comes back at once, with its
	// Retry-After for the caller to act on.
	n := upstream.Hits()
	resp, err := client.Get(ctx, "/report")
	fmt.Println("Retry-After:", resp.Header.Get("Retry-After"))
	printOutcome(resp, err, upstream, n)

	// "0" means no wait.
	n = upstream.Hits()
	resp, err = client.Get(ctx, "/report")
	printOutcome(resp, err, upstream, n)
	// Output:
	//   gave up: retry_after
	// Retry-After: 3600
	// 503 after 1 attempts
	//   retry after 429: wait 0s (from Retry-After: true)
	// 200 after 2 attempts
}

// docs/retries.md: the caller's deadline bounds the call, waits included:
// a wait that would outlast it is not started.
func ExampleClient_Get_deadline() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusBadGateway)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL, httpclient.WithRetryPolicy(httpclient.RetryPolicy{
		BackoffInitial: 5 * time.Second,
	}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	n := upstream.Hits()
	resp, err := client.Get(ctx, "/report")
	printOutcome(resp, err, upstream, n)
	fmt.Println("returned before the deadline:", time.Since(start) < time.Second)
	// Output:
	// 502 after 1 attempts
	// returned before the deadline: true
}

// getWithRetries is the hand-rolled loop that docs/migration.md replaces. It
// works, mostly; the comments say where it does not.
func getWithRetries(ctx context.Context, hc *http.Client, url string) (*http.Response, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 10 * time.Millisecond) // no jitter, deaf to ctx
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := hc.Do(req)
		if err != nil {
			lastErr = err // every error is retried: a bad certificate, a cancelled ctx
			continue
		}
		if resp.StatusCode >= 500 {
			resp.Body.Close()                                     // not drained: the connection may not be reused
			lastErr = fmt.Errorf("server error: %s", resp.Status) // the last response is lost
			continue
		}
		return resp, nil
	}
	return nil, lastErr
}

// docs/migration.md: the loop above, before.
func Example_handRolledLoop() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusServiceUnavailable),
		httpclienttest.Status(http.StatusServiceUnavailable),
		httpclienttest.OK("report"),
	})
	defer upstream.Close()
	hc := &http.Client{Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()

	resp, err := getWithRetries(context.Background(), hc, upstream.URL+"/report")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 report
}

// docs/migration.md: the same call, after.
func Example_replaceTheLoop() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusServiceUnavailable),
		httpclienttest.Status(http.StatusServiceUnavailable),
		httpclienttest.OK("report"),
	})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL, httpclient.WithTimeout(10*time.Second),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 3, BackoffInitial: 10 * time.Millisecond}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/report")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 report
}

// docs/migration.md: go-retryablehttp's NewClient defaults, field by field.
func Example_fromRetryablehttp() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.OK("pong")})
	defer upstream.Close()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	transport := httpclient.NewTransport() // HTTPClient: the tuned pooled transport
	defer transport.CloseIdleConnections() // a transport passed in is yours to close

	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{
			MaxAttempts:    5,                // RetryMax: 4, plus the first try
			BackoffInitial: 1 * time.Second,  // RetryWaitMin
			BackoffMax:     30 * time.Second, // RetryWaitMax, and the longest Retry-After honoured
			RetryIf: func(a httpclient.Attempt, resp *http.Response, err error, retryable bool) bool { // CheckRetry; a POST is still never retried
				return retryable && (resp == nil || resp.StatusCode != http.StatusTooManyRequests) // here, no retry on 429
			},
		}),
		httpclient.WithTransport(transport),
		httpclient.WithLogger(logger),                    // Logger
		httpclient.WithCircuitBreaker(5, 30*time.Second), // new; WithCircuitBreaker(0, 0) turns it off
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	hc := client.StandardClient() // StandardClient, for code that takes an *http.Client
	resp, err := hc.Get(upstream.URL + "/ping")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 pong
}

// docs/migration.md: what a retryablehttp caller branched on, in Tempest.
func ExampleClassOf() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusInternalServerError)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 2, BackoffInitial: time.Millisecond}),
		httpclient.WithCircuitBreaker(2, time.Minute))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	// Retries used up on a status: the last response, with a nil error.
	resp, err := client.Get(ctx, "/report")
	if err == nil {
		fmt.Println("last response:", resp.Status)
		resp.Body.Close()
	}

	// The circuit opened after those two failures: fail fast.
	_, err = client.Get(ctx, "/report")
	var ue *url.Error
	fmt.Println(errors.Is(err, httpclient.ErrCircuitOpen), errors.As(err, &ue), httpclient.ClassOf(err))
	// Output:
	// last response: 500 Internal Server Error
	// true true circuit_open
}

// docs/breaker.md: watching the breaker, for alerts and dashboards.
func ExampleHooks_stateChange() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusInternalServerError)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}),
		httpclient.WithCircuitBreaker(2, time.Minute),
		httpclient.WithHooks(httpclient.Hooks{
			StateChange: func(origin string, ch breaker.Change) {
				// Export a gauge or page someone; it runs outside every lock.
				fmt.Printf("breaker %s -> %s (%s), generation %d\n", ch.From, ch.To, ch.Cause, ch.Generation)
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	for range 3 {
		resp, err := client.Get(context.Background(), "/")
		if err != nil {
			fmt.Println("error class:", httpclient.ClassOf(err))
			continue
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// 500
	// breaker closed -> open (failures), generation 2
	// 500
	// error class: circuit_open
}

// docs/request-id.md: which ID goes out.
func ExampleWithRequestIDPropagation() {
	upstream := httpclienttest.NewServer(nil)
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	quiet, err := httpclient.New(upstream.URL, httpclient.WithRequestIDPropagation(false))
	if err != nil {
		panic(err)
	}
	defer quiet.Close()

	call := func(c *httpclient.Client, ctx context.Context, opts ...httpclient.RequestOption) {
		resp, err := c.Get(ctx, "/", opts...)
		if err == nil {
			resp.Body.Close()
		}
	}
	ctx := requestid.NewContext(context.Background(), "abc-1")
	call(client, ctx)                                             // the context's ID
	call(client, ctx, httpclient.Header(requestid.Header, "own")) // the call's own header wins
	call(client, context.Background())                            // no ID in the context: none sent
	call(quiet, ctx)                                              // propagation turned off
	for _, r := range upstream.Requests() {
		fmt.Printf("%q\n", r.Header.Get(requestid.Header))
	}
	// Output:
	// "abc-1"
	// "own"
	// ""
	// ""
}

// docs/defaults.md: the default transport, and how to add to it.
func ExampleNewTransport() {
	t := httpclient.NewTransport()
	fmt.Println(t.MaxIdleConnsPerHost, t.MaxIdleConns, t.IdleConnTimeout, t.TLSHandshakeTimeout, t.ForceAttemptHTTP2)

	// Add what your network needs without losing the tuning.
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS13}
	t.Proxy = http.ProxyURL(&url.URL{Scheme: "http", Host: "proxy.internal:3128"})
	client, err := httpclient.New("https://api.example.com", httpclient.WithTransport(t))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	defer t.CloseIdleConnections() // Close leaves a transport passed in to its owner
	// Output: 256 1024 1m30s 5s true
}

// docs/breaker.md: the operator controls.
func ExampleClient_Isolate() {
	upstream := httpclienttest.NewServer(nil)
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	// Take the upstream out of rotation for a maintenance window.
	if err := client.Isolate(upstream.URL, 10*time.Minute); err != nil {
		panic(err)
	}
	_, err = client.Get(ctx, "/")
	fmt.Println("fails fast:", errors.Is(err, httpclient.ErrCircuitOpen), "hits:", upstream.Hits())

	// What a health endpoint would show.
	for _, b := range client.Breakers() {
		fmt.Println(b.State, "half-opens in", time.Until(b.Until).Round(time.Minute))
	}

	// Maintenance is over: close the circuit now rather than at the probe.
	if err := client.ResetBreaker(upstream.URL); err != nil {
		panic(err)
	}
	resp, err := client.Get(ctx, "/")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, "hits:", upstream.Hits())
	// Output:
	// fails fast: true hits: 0
	// open half-opens in 10m0s
	// 200 hits: 1
}
