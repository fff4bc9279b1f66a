// Package httpclient is a resilient outbound HTTP client over net/http:
// retries with jittered exponential backoff, a circuit breaker per origin,
// per-attempt timeouts, default headers and X-Request-ID propagation, behind
// typed verbs and a plain *http.Client.
//
// Build one Client at start-up, share it (it is safe for concurrent use and
// keeps one connection pool), and Close it after the server that uses it has
// shut down:
//
//	c, err := httpclient.New("https://api.example.com/v1",
//		httpclient.WithTimeout(5*time.Second),
//		httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 3}),
//		httpclient.WithCircuitBreaker(5, 30*time.Second))
//	...
//	user, err := httpclient.Decode[User](c.Get(ctx, httpclient.Path("users", id)))
//
// Words: a call is one use of a verb (Get, Post, ...) or of Do. net/http
// follows its redirects, each one request of its own; each request makes
// one or more attempts (one RoundTrip each), retried in the request's retry
// loop; a hedge is an extra copy of an attempt, raced beside it.
//
// What is retried: the statuses 429, 500, 502, 503 and 504, and transport
// failures known to be transient (connection refused or reset, timeouts,
// EOF before the response). GET, HEAD, OPTIONS, TRACE, PUT and DELETE are
// retried on any of them; POST and PATCH only with an Idempotency-Key header,
// the Idempotent option, or a failure that proves nothing was sent. A
// Retry-After on 429 and 503 replaces the computed wait, and one asking for
// more than BackoffMax ends the call with that response.
//
// The breaker opens after a run of consecutive failures (5xx other than 501
// and 505, timeouts, transport errors); calls then fail at once with a
// *CircuitOpenError (errors.Is(err, ErrCircuitOpen)) until the recovery time
// passes, when exactly one probe is let through (WithBreaker offers a
// failure-ratio mode, slow calls, growing breaks and more probes).
//
// In addition: a per-origin retry budget (on by default) so retries cannot
// multiply the load on a struggling upstream, an optional total deadline,
// optional hedging of slow idempotent requests, an optional attempt header,
// and operator controls (Breakers, Breaker, Isolate, ResetBreaker).
//
// To watch it: WithHooks gives each attempt, retry, early stop and breaker
// change as a value, WithLogger logs them, ClassOf names an error's kind for
// a metric label, and Attempts tells how many attempts a call made and why
// its retry loop stopped.
//
// Every error a call returns is a *url.Error wrapping its cause, as
// net/http's client returns, so errors.Is and errors.As reach ErrClosed,
// ErrAttemptTimeout, context.DeadlineExceeded, *net.OpError and the rest.
// The project's repository holds every rule the client follows, numbered,
// in docs/semantics.md; the tests name the rule they check.
package httpclient
