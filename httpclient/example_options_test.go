package httpclient_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/ratelimit"
)

// The Examples of the client options (With...): each runs against a local
// httpclienttest upstream and checks its output.

// An upstream that sometimes stalls: the per-attempt timeout cuts the stalled
// attempt short, and the retry gets the answer, well before the caller's own
// patience would have run out.
func ExampleWithTimeout() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		{Delay: 5 * time.Second}, // stalls
		httpclienttest.OK("report"),
	})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL,
		httpclient.WithTimeout(50*time.Millisecond), // for the example; the default is 10s
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}),
		httpclient.WithHooks(httpclient.Hooks{
			AttemptDone: func(ctx context.Context, a httpclient.Attempt, r httpclient.AttemptResult) {
				if r.Err != nil {
					fmt.Printf("attempt %d: %s, timed out: %v\n", a.N, r.Class, errors.Is(r.Err, httpclient.ErrAttemptTimeout))
				}
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/report")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output:
	// attempt 1: attempt_timeout, timed out: true
	// 200 report
}

// One policy for the whole client: how many attempts, how long to wait
// between them. Attempts tells how the call went.
func ExampleWithRetryPolicy() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusServiceUnavailable),
		httpclienttest.Status(http.StatusBadGateway),
		httpclienttest.Status(http.StatusServiceUnavailable),
		httpclienttest.OK("report"),
	})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL, httpclient.WithRetryPolicy(httpclient.RetryPolicy{
		MaxAttempts:    4,                     // the first try and 3 retries (default 3 in all)
		BackoffInitial: time.Millisecond,      // then 2ms, 4ms, ... (default 500ms)
		BackoffMax:     10 * time.Millisecond, // no wait longer than this (default 8s)
	}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/report")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	n, why := httpclient.Attempts(resp, err)
	resp.Body.Close()
	fmt.Printf("%d after %d attempts (%s)\n", resp.StatusCode, n, why)
	// Output: 200 after 4 attempts (settled)
}

// A custom Backoff replaces the exponential waits: here a linear one, as
// some APIs ask of their clients. Its waits are used as they are, with no
// jitter (a Retry-After on 429 or 503 still wins).
func ExampleRetryPolicy_backoff() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusBadGateway)})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{
			MaxAttempts: 4,
			// a is the attempt that just failed: linear, 5ms per attempt.
			Backoff: func(a httpclient.Attempt, resp *http.Response, err error) time.Duration {
				return time.Duration(a.N) * 5 * time.Millisecond
			},
		}),
		httpclient.WithCircuitBreaker(0, 0), // off: this example shows waits only
		httpclient.WithHooks(httpclient.Hooks{
			Retry: func(ctx context.Context, e httpclient.RetryEvent) {
				fmt.Printf("attempt %d got %d: waiting %v\n", e.Attempt.N, e.Result.Status, e.Wait)
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/report")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	n, why := httpclient.Attempts(resp, err)
	resp.Body.Close()
	fmt.Printf("%d after %d attempts (%s)\n", resp.StatusCode, n, why)
	// Output:
	// attempt 1 got 502: waiting 5ms
	// attempt 2 got 502: waiting 10ms
	// attempt 3 got 502: waiting 15ms
	// 502 after 4 attempts (exhausted)
}

// WithBreaker sets the breaker in full. The failure-ratio mode opens on a
// share of failures rather than a run of them, which suits an upstream that
// fails half the time without ever failing five times in a row; several
// half-open probes must then succeed before the circuit closes.
func ExampleWithBreaker() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.OK(""),
		httpclienttest.Status(http.StatusInternalServerError),
		httpclienttest.OK(""),
		httpclienttest.Status(http.StatusInternalServerError),
		httpclienttest.OK(""), // from here on, the upstream has recovered
	})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}), // one outcome per call, for the count
		httpclient.WithBreaker(breaker.Settings{
			FailureRatio:      0.5, // open when half the attempts fail...
			MinimumThroughput: 4,   // ...out of at least 4 (default 20)...
			Window:            10 * time.Second,
			Recovery:          300 * time.Millisecond, // for the example; the default is 30s
			HalfOpenProbes:    2,                      // close after 2 good probes
		}),
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	call := func() {
		resp, err := client.Get(context.Background(), "/")
		if err == nil {
			resp.Body.Close()
		}
		s, _ := client.Breaker(upstream.URL)
		switch {
		case err != nil:
			fmt.Printf("%-17s -> %s\n", httpclient.ClassOf(err), s.State)
		case s.State == breaker.Closed:
			fmt.Printf("%-17d -> %s, %d of %d failed\n", resp.StatusCode, s.State, s.Failures, s.Calls)
		default:
			fmt.Printf("%-17d -> %s\n", resp.StatusCode, s.State)
		}
	}
	for range 5 {
		call()
	}
	time.Sleep(350 * time.Millisecond) // the break ends
	s, _ := client.Breaker(upstream.URL)
	fmt.Println("after the break:", s.State)
	call() // the first probe
	call() // the second closes the circuit
	// Output:
	// 200               -> closed, 0 of 1 failed
	// 500               -> closed, 1 of 2 failed
	// 200               -> closed, 1 of 3 failed
	// 500               -> open
	// circuit_open      -> open
	// after the break: half-open
	// 200               -> half-open
	// 200               -> closed, 0 of 0 failed
}

// Default headers go on every request to the base URL's origin, and never to
// another origin, so that an API key does not leak to a host a call names
// (or a redirect leads to).
func ExampleWithDefaultHeaders() {
	api := httpclienttest.NewServer(nil)
	defer api.Close()
	elsewhere := httpclienttest.NewServer(nil)
	defer elsewhere.Close()

	client, err := httpclient.New(api.URL+"/v1", httpclient.WithDefaultHeaders(http.Header{
		"Authorization": {"Bearer s3cret"},
		"User-Agent":    {"billing-service/1.4"},
	}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	ctx := context.Background()
	for _, url := range []string{"/invoices", elsewhere.URL + "/avatar.png"} {
		resp, err := client.Get(ctx, url)
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		resp.Body.Close()
	}
	for _, r := range append(api.Requests(), elsewhere.Requests()...) {
		fmt.Printf("%s Authorization=%q User-Agent=%q\n", r.Path, r.Header.Get("Authorization"), r.Header.Get("User-Agent"))
	}
	// Output:
	// /v1/invoices Authorization="Bearer s3cret" User-Agent="billing-service/1.4"
	// /avatar.png Authorization="" User-Agent="Go-http-client/1.1"
}

// WithTransport puts the client over another RoundTripper: a transport
// with mTLS or a proxy (start from NewTransport), an instrumented one, or,
// in tests, one that reaches an in-memory upstream with no socket at all.
// The client never closes a transport passed in: its owner does.
func ExampleWithTransport() {
	upstream := httpclienttest.NewMemoryServer(httpclienttest.Sequence{httpclienttest.OK(`{"status":"paid"}`)})
	defer upstream.Close()
	transport := upstream.Transport()
	defer transport.CloseIdleConnections()

	client, err := httpclient.New("http://payments.internal", httpclient.WithTransport(transport))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/orders/7")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 {"status":"paid"}
}

// The client logs attempts at Debug, retries and early give-ups at Info and
// breaker changes at Warn, with method, origin, path, status, attempt,
// duration and error class, never a query or a header value. Here the time,
// origin and duration are dropped so that the output is the same on every
// run; a service would keep them, and log at Info.
func ExampleWithLogger() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusServiceUnavailable),
		httpclienttest.OK(""),
	})
	defer upstream.Close()

	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			switch a.Key {
			case slog.TimeKey, "origin", "duration":
				return slog.Attr{}
			}
			return a
		},
	}))
	client, err := httpclient.New(upstream.URL,
		httpclient.WithLogger(logger),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond, Jitter: -1}), // no jitter: the same wait every run
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/orders?token=not-logged")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	// Output:
	// level=DEBUG msg="httpclient: attempt" method=GET path=/orders attempt=1 class=status status=503
	// level=INFO msg="httpclient: retrying" method=GET path=/orders attempt=1 wait=1ms status=503 class=status
	// level=DEBUG msg="httpclient: attempt" method=GET path=/orders attempt=2 status=200
}

// Hooks observe every attempt, for metrics or tracing: here AttemptDone
// prints each attempt's status and class ("" for a success).
func ExampleWithHooks() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusTooManyRequests, "Retry-After", "0"),
		httpclienttest.Status(http.StatusNotFound),
	})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}),
		httpclient.WithHooks(httpclient.Hooks{
			AttemptDone: func(ctx context.Context, a httpclient.Attempt, r httpclient.AttemptResult) {
				// e.g. attempts.WithLabelValues(a.Method, strconv.Itoa(r.Status), string(r.Class)).Inc()
				fmt.Printf("%s %s attempt %d of %d: status %d, class %q, breaker %s\n",
					a.Method, a.Path, a.N, a.Max, r.Status, r.Class, r.Outcome)
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/users/9")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	// Output:
	// GET /users/9 attempt 1 of 3: status 429, class "status", breaker success
	// GET /users/9 attempt 2 of 3: status 404, class "status", breaker success
}

// GiveUp hears of a request that was not retried although its outcome was
// one to retry, and why: worth a counter, since each one is a failure the
// caller saw that retries might have hidden.
func ExampleHooks() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusServiceUnavailable)})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}),
		httpclient.WithHooks(httpclient.Hooks{
			GiveUp: func(ctx context.Context, a httpclient.Attempt, why httpclient.Stop) {
				fmt.Printf("%s %s: gave up after attempt %d: %s\n", a.Method, a.Path, a.N, why)
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	ctx := context.Background()

	// A POST with no Idempotency-Key may have been processed.
	resp, err := client.Post(ctx, "/orders", httpclient.JSON(map[string]int{"amount": 100}))
	if err == nil {
		resp.Body.Close()
	}
	// A body read from a stream cannot be sent again.
	upload := io.MultiReader(strings.NewReader("col1,col2\n"), strings.NewReader("1,2\n"))
	resp, err = client.Put(ctx, "/reports/7", httpclient.Body(upload, "text/csv"))
	if err == nil {
		resp.Body.Close()
	}
	// Output:
	// POST /orders: gave up after attempt 1: not_idempotent
	// PUT /reports/7: gave up after attempt 1: body_not_replayable
}

// The retry budget caps retries per origin at a share of the calls, so that
// during an outage a fleet of clients does not multiply the load on the
// upstream by MaxAttempts. The default (20% of calls plus 100 a window) never
// binds a caller in ordinary conditions; a tiny one shows it at work.
// CallStart and CallDone wrap a whole call: its attempts, waits and
// hedges. The context CallStart returns is the parent of every attempt's,
// which is how a tracer makes one span per call with a child per attempt.
func ExampleHooks_call() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusServiceUnavailable, "Retry-After", "0"),
		httpclienttest.OK("done"),
	})
	defer upstream.Close()

	type callKey struct{}
	client, err := httpclient.New(upstream.URL,
		httpclient.WithHooks(httpclient.Hooks{
			CallStart: func(ctx context.Context, _ *http.Request, c httpclient.Call) context.Context {
				return context.WithValue(ctx, callKey{}, c.Method+" "+c.Path)
			},
			AttemptStart: func(ctx context.Context, _ *http.Request, a httpclient.Attempt) context.Context {
				fmt.Printf("%v: attempt %d\n", ctx.Value(callKey{}), a.N)
				return ctx
			},
			CallDone: func(ctx context.Context, _ httpclient.Call, r httpclient.CallResult) {
				fmt.Printf("%v: status %d after %d attempts (%s)\n", ctx.Value(callKey{}), r.Status, r.Attempts, r.Stop)
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/orders/7")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	// Output:
	// GET /orders/7: attempt 1
	// GET /orders/7: attempt 2
	// GET /orders/7: status 200 after 2 attempts (settled)
}

// A rate limit of 2 requests per second per origin, failing fast: the
// third call in the same instant is refused at once, with when to retry.
// Without FailFast it would wait for its slot (never past its deadline).
func ExampleWithRateLimit() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.OK("ok")})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL, httpclient.WithRateLimit(httpclient.RateLimit{
		PerOrigin: ratelimit.Limit{Rate: 2, Per: time.Second, Burst: 2},
		FailFast:  true,
	}))
	if err != nil {
		panic(err)
	}
	defer client.Close()

	for i := range 3 {
		resp, err := client.Get(context.Background(), "/quota")
		var rle *httpclient.RateLimitError
		if errors.As(err, &rle) {
			fmt.Printf("call %d: rate limited, retry after about %v\n", i+1, rle.RetryAfter.Round(100*time.Millisecond))
			continue
		}
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		resp.Body.Close()
		fmt.Printf("call %d: %d\n", i+1, resp.StatusCode)
	}
	// Output:
	// call 1: 200
	// call 2: 200
	// call 3: rate limited, retry after about 500ms
}

func ExampleWithRetryBudget() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusServiceUnavailable)})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL,
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}),
		httpclient.WithRetryBudget(httpclient.RetryBudget{
			Ratio:   0.1, // retries may be 10% of the calls...
			Reserve: 1,   // ...plus 1, over the window
			Window:  10 * time.Second,
		}),
		httpclient.WithCircuitBreaker(0, 0), // off: this example counts retries only
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	for range 3 {
		resp, err := client.Get(context.Background(), "/report")
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		n, why := httpclient.Attempts(resp, err)
		resp.Body.Close()
		fmt.Printf("%d after %d attempts (%s)\n", resp.StatusCode, n, why)
	}
	fmt.Println("upstream hits:", upstream.Hits(), "for 3 calls")
	// Output:
	// 503 after 2 attempts (budget)
	// 503 after 1 attempts (budget)
	// 503 after 1 attempts (budget)
	// upstream hits: 4 for 3 calls
}

// Hedging cuts tail latency: when an idempotent request has no answer after
// Delay (about the upstream's p95), a second copy goes out and the first
// answer wins; the loser is cancelled. Here the first attempt stalls, and
// the hedge answers.
func ExampleWithHedging() {
	upstream := httpclienttest.NewServer(httpclienttest.ScriptFunc(func(hit int, r *http.Request) httpclienttest.Response {
		if strings.Contains(r.Header.Get("X-Attempt"), "hedge=") {
			return httpclienttest.OK("from the hedge")
		}
		return httpclienttest.Response{Delay: 2 * time.Second, Body: []byte("from the first attempt")} // a stalled replica
	}))
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL,
		httpclient.WithHedging(httpclient.HedgePolicy{Delay: 20 * time.Millisecond}),
		httpclient.WithAttemptHeader("X-Attempt"), // lets the upstream (and this script) tell a hedge
		httpclient.WithHooks(httpclient.Hooks{
			AttemptStart: func(ctx context.Context, req *http.Request, a httpclient.Attempt) context.Context {
				fmt.Printf("sent attempt %d, hedge %d\n", a.N, a.Hedge)
				return ctx
			},
		}),
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	start := time.Now()
	resp, err := client.Get(context.Background(), "/search?q=shoes")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	fmt.Println("well before the stalled answer:", time.Since(start) < time.Second)
	// Output:
	// sent attempt 1, hedge 0
	// sent attempt 1, hedge 1
	// 200 from the hedge
	// well before the stalled answer: true
}

// A total timeout bounds the whole call, every attempt and wait included,
// where WithTimeout bounds one attempt: the caller gets an answer within it
// however the retries go. Its error is told apart from an attempt's timeout.
func ExampleWithTotalTimeout() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{{Delay: 5 * time.Second}})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL,
		httpclient.WithTimeout(2*time.Second),
		httpclient.WithTotalTimeout(50*time.Millisecond), // for the example; say 5s in a service
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	_, err = client.Get(context.Background(), "/report")
	fmt.Println("total timeout:", errors.Is(err, httpclient.ErrTotalTimeout))
	fmt.Println("attempt timeout:", errors.Is(err, httpclient.ErrAttemptTimeout))
	fmt.Println("deadline exceeded:", errors.Is(err, context.DeadlineExceeded))
	fmt.Println("class:", httpclient.ClassOf(err))
	// Output:
	// total timeout: true
	// attempt timeout: false
	// deadline exceeded: true
	// class: timeout
}

// The attempt header tells the upstream which attempt it is serving, so that
// its logs can tell a retry from a new request (and shed retries first under
// load).
func ExampleWithAttemptHeader() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusBadGateway),
		httpclienttest.OK(""),
	})
	defer upstream.Close()

	client, err := httpclient.New(upstream.URL,
		httpclient.WithAttemptHeader("X-Attempt"),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{BackoffInitial: time.Millisecond}),
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	resp, err := client.Get(context.Background(), "/report")
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	resp.Body.Close()
	for _, r := range upstream.Requests() {
		fmt.Printf("%d X-Attempt: %s\n", r.Status, r.Header.Get("X-Attempt"))
	}
	// Output:
	// 502 X-Attempt: attempt=1; max=3
	// 200 X-Attempt: attempt=2; max=3
}

// A client that calls many hosts (webhooks, say) keeps a breaker and a retry
// budget per origin; WithOriginLimit bounds them, so that memory does not
// grow with every host ever called. Past the limit the least recently used
// origin's state goes.
func ExampleWithOriginLimit() {
	// One in-memory upstream answers for every host name.
	upstream := httpclienttest.NewMemoryServer(nil)
	defer upstream.Close()
	transport := upstream.Transport()
	defer transport.CloseIdleConnections()

	client, err := httpclient.New("",
		httpclient.WithTransport(transport),
		httpclient.WithOriginLimit(2, time.Hour), // defaults: 1024 origins, 10 minutes
	)
	if err != nil {
		panic(err)
	}
	defer client.Close()

	for _, hook := range []string{"http://a.example", "http://b.example", "http://c.example"} {
		resp, err := client.Post(context.Background(), hook+"/hook", httpclient.JSON(map[string]string{"event": "paid"}))
		if err != nil {
			fmt.Println("error:", err)
			return
		}
		resp.Body.Close()
	}
	// The least recently used, a.example, has gone.
	fmt.Println(slices.Sorted(maps.Keys(client.Breakers())))
	// Output: [http://b.example:80 http://c.example:80]
}

// localFleet stands in for a store shared across replicas (the redisstore
// module's Breakers, over Redis): here two clients in one process.
type localFleet struct {
	mu      sync.Mutex
	watches []func(origin string, open bool, d time.Duration)
}

type localMember struct {
	f  *localFleet
	me int
}

func (m localMember) others() []func(string, bool, time.Duration) {
	m.f.mu.Lock()
	defer m.f.mu.Unlock()
	var out []func(string, bool, time.Duration)
	for i, w := range m.f.watches {
		if i != m.me {
			out = append(out, w)
		}
	}
	return out
}

func (m localMember) Opened(origin string, d time.Duration) {
	for _, w := range m.others() {
		w(origin, true, d)
	}
}

func (m localMember) Closed(origin string) {
	for _, w := range m.others() {
		w(origin, false, 0)
	}
}

func (localMember) Probe(context.Context, string, time.Duration) bool { return true }
func (localMember) Learn(string)                                      {}
func (m localMember) Watch(f func(origin string, open bool, d time.Duration)) {
	m.f.mu.Lock()
	m.f.watches = append(m.f.watches, f)
	m.f.mu.Unlock()
}

// Two replicas share their breakers: the circuit the first one opens is
// open on the second at once, before it sends anything.
func ExampleWithSharedBreakers() {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.OK("a"), httpclienttest.OK("b"), httpclienttest.Status(http.StatusServiceUnavailable),
	})
	defer upstream.Close()

	fleet := &localFleet{}
	var replicas []*httpclient.Client
	for i := range 2 {
		c, err := httpclient.New(upstream.URL,
			httpclient.WithCircuitBreaker(1, time.Minute),
			httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}),
			httpclient.WithSharedBreakers(localMember{f: fleet, me: i}))
		if err != nil {
			panic(err)
		}
		defer c.Close()
		replicas = append(replicas, c)
	}
	get := func(c *httpclient.Client) string {
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			return string(httpclient.ClassOf(err))
		}
		resp.Body.Close()
		return resp.Status
	}
	fmt.Println("first replica: ", get(replicas[0]))
	fmt.Println("second replica:", get(replicas[1]))
	fmt.Println("first replica: ", get(replicas[0])) // the upstream fails: its circuit opens
	fmt.Println("second replica:", get(replicas[1])) // open here too: nothing sent
	fmt.Println("requests the upstream got:", upstream.Hits())
	// Output:
	// first replica:  200 OK
	// second replica: 200 OK
	// first replica:  503 Service Unavailable
	// second replica: circuit_open
	// requests the upstream got: 3
}
