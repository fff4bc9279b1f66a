package httpclient_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
)

// The Examples of the operator controls and of Close.

// Breakers lists every origin's circuit, for a health or admin endpoint: it
// is a pure read, safe to call as often as a dashboard likes.
func ExampleClient_Breakers() {
	// One in-memory upstream plays two services: billing is down.
	upstream := httpclienttest.NewMemoryServer(httpclienttest.ScriptFunc(func(hit int, r *http.Request) httpclienttest.Response {
		if r.Host == "billing.internal" {
			return httpclienttest.Status(http.StatusServiceUnavailable)
		}
		return httpclienttest.OK("")
	}))
	defer upstream.Close()
	transport := upstream.Transport()
	defer transport.CloseIdleConnections()

	client, err := httpclient.New("",
		httpclient.WithTransport(transport),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}),
		httpclient.WithCircuitBreaker(3, time.Minute))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	for _, url := range []string{"http://billing.internal/invoices", "http://search.internal/q"} {
		resp, err := client.Get(context.Background(), url)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		resp.Body.Close()
	}

	breakers := client.Breakers() // origin (scheme://host:port) -> snapshot
	for _, origin := range slices.Sorted(maps.Keys(breakers)) {
		b := breakers[origin]
		fmt.Printf("%s %s", origin, b.State)
		if !b.Until.IsZero() {
			fmt.Printf(", half-opens in %v", time.Until(b.Until).Round(time.Minute))
		}
		fmt.Println()
	}
	// Output:
	// http://billing.internal:80 open, half-opens in 1m0s
	// http://search.internal:80 closed
}

// Breaker reads one origin's circuit, given any URL of that origin: how
// close it is to opening, say, for an alert before it does.
func ExampleClient_Breaker() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusInternalServerError)})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL+"/v1",
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}),
		httpclient.WithCircuitBreaker(3, time.Minute))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	s, err := client.Breaker(upstream.URL)
	fmt.Printf("before any call: %s (generation %d) %v\n", s.State, s.Generation, err)
	for range 3 {
		resp, err := client.Get(context.Background(), "/report")
		if err == nil {
			resp.Body.Close()
		}
		s, _ := client.Breaker(upstream.URL + "/v1/report") // any URL of the origin
		fmt.Printf("%s after %d consecutive failures (generation %d)\n", s.State, s.ConsecutiveFailures, s.Generation)
	}

	// An origin the client never called: closed, and no state is made for it.
	s, err = client.Breaker("https://elsewhere.example")
	fmt.Printf("elsewhere: %s (generation %d) %v\n", s.State, s.Generation, err)
	// Output:
	// before any call: closed (generation 1) <nil>
	// closed after 1 consecutive failures (generation 1)
	// closed after 2 consecutive failures (generation 1)
	// open after 0 consecutive failures (generation 2)
	// elsewhere: closed (generation 0) <nil>
}

// ResetBreaker closes a circuit at once: after a fix is deployed upstream,
// traffic resumes now instead of at the next probe, up to Recovery later.
func ExampleClient_ResetBreaker() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusBadGateway),
		httpclienttest.OK("fixed"),
	})
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}),
		httpclient.WithCircuitBreaker(1, 10*time.Minute))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	resp, err := client.Get(ctx, "/")
	if err == nil {
		resp.Body.Close()
	}
	_, err = client.Get(ctx, "/")
	fmt.Println("open:", errors.Is(err, httpclient.ErrCircuitOpen))

	// The upstream team says it is fixed: don't wait ten minutes.
	if err := client.ResetBreaker(upstream.URL); err != nil {
		panic(err)
	}
	resp, err = client.Get(ctx, "/")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	s, _ := client.Breaker(upstream.URL)
	fmt.Println(resp.StatusCode, s.State)
	// Output:
	// open: true
	// 200 closed
}

// Close the client once nothing uses it any more (after the HTTP server
// that uses it has shut down): later calls fail at once with ErrClosed.
func ExampleClient_Close() {
	upstream := httpclienttest.NewServer(nil)
	defer upstream.Close()
	client, err := httpclient.New(upstream.URL)
	if err != nil {
		panic(err)
	}

	resp, err := client.Get(context.Background(), "/")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()

	fmt.Println(client.Close()) // always nil; a second Close does nothing
	_, err = client.Get(context.Background(), "/")
	n, _ := httpclient.Attempts(nil, err)
	fmt.Println(errors.Is(err, httpclient.ErrClosed), httpclient.ClassOf(err), "attempts:", n, "hits:", upstream.Hits())
	// Output:
	// <nil>
	// true closed attempts: 0 hits: 1
}

// Budgets shows how much of each origin's retry budget is spent: an origin
// whose Available falls to 0 gets no more retries until its window moves
// on.
func ExampleClient_Budgets() {
	upstream := httpclienttest.NewMemoryServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusServiceUnavailable), httpclienttest.OK("ok"),
	})
	defer upstream.Close()
	transport := upstream.Transport()
	defer transport.CloseIdleConnections()

	client, err := httpclient.New("http://inventory.internal",
		httpclient.WithTransport(transport),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}),
		httpclient.WithRetryBudget(httpclient.RetryBudget{Ratio: 0.1, Reserve: 5, Window: time.Minute}))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	resp, err := client.Get(context.Background(), "/items")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()

	b := client.Budgets()["http://inventory.internal:80"]
	fmt.Printf("calls %d, retries %d, available %d\n", b.Calls, b.Retries, b.Available)
	// Output:
	// calls 1, retries 1, available 4
}

// RecentGiveUps lists the latest calls that stopped retrying early, and
// why, for an operator's page.
func ExampleClient_RecentGiveUps() {
	upstream := httpclienttest.NewMemoryServer(httpclienttest.ScriptFunc(func(int, *http.Request) httpclienttest.Response {
		return httpclienttest.Status(http.StatusServiceUnavailable)
	}))
	defer upstream.Close()
	transport := upstream.Transport()
	defer transport.CloseIdleConnections()

	client, err := httpclient.New("http://payments.internal", httpclient.WithTransport(transport))
	if err != nil {
		panic(err)
	}
	defer client.Close()
	// A 503 to a POST without an idempotency key is not retried.
	resp, err := client.Post(context.Background(), "/charges?card=secret", httpclient.JSON(map[string]int{"cents": 100}))
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()

	for _, g := range client.RecentGiveUps() {
		fmt.Println(g.Attempt.Method, g.Attempt.Origin+g.Attempt.Path, g.Stop)
	}
	// Output:
	// POST http://payments.internal:80/charges not_idempotent
}
