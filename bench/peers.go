// Package bench measures Tempest's httpclient side by side with raw net/http
// and the resilient HTTP clients Go users pick instead of it:
// hashicorp/go-retryablehttp, failsafe-go with failsafehttp, sony/gobreaker v2
// with a simple retry loop, and go-resty v2.
//
// It is a nested module so that the core module never requires the peers.
// Every client is built here by one constructor, configured alike from one
// Policy, and used through one small interface, Client, the way its own users
// call it. The benchmarks are in bench_test.go, the outage run in
// outage_test.go, and `make bench` turns their output into
// docs/benchmarks.md with cmd/benchreport.
package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/failsafe-go/failsafe-go/circuitbreaker"
	"github.com/failsafe-go/failsafe-go/failsafehttp"
	"github.com/go-resty/resty/v2"
	"github.com/hashicorp/go-retryablehttp"
	"github.com/sony/gobreaker/v2"

	"github.com/tempestsdk/tempest/httpclient"
)

// Policy is the resilience policy every client gets, each in its own
// library's terms.
type Policy struct {
	Attempts         int           // attempts per call, the first included
	BackoffInitial   time.Duration // wait before the second attempt; doubles after
	BackoffMax       time.Duration // cap of every wait
	FailureThreshold int           // consecutive failures that open a breaker
	Recovery         time.Duration // how long an open breaker stays open
	Timeout          time.Duration // the http.Client timeout (Tempest: per attempt)
}

// DefaultPolicy is the policy: 3 attempts, 0.5 s initial wait, 8 s
// cap, a breaker at 5 failures and 30 s, and raw net/http's 10 s timeout.
var DefaultPolicy = Policy{
	Attempts:         3,
	BackoffInitial:   500 * time.Millisecond,
	BackoffMax:       8 * time.Second,
	FailureThreshold: 5,
	Recovery:         30 * time.Second,
	Timeout:          10 * time.Second,
}

// Client is one HTTP client under test, used the way its own users use it.
type Client interface {
	// Get sends a GET to url, reads the response body to its end and closes
	// it, and returns the final status. A retryable status left after the
	// last attempt is a status with a nil error, as in net/http.
	Get(ctx context.Context, url string) (status int, err error)
	// PostJSON POSTs in encoded as JSON, checks for a 2xx status and
	// decodes the JSON response into out.
	PostJSON(ctx context.Context, url string, in any, out *Payload) error
	// Close releases what the client holds (never the transport it was
	// given).
	Close()
}

// Peer describes one client under test.
type Peer struct {
	Name string // the value of the benchmarks' client= key
	// Breaker is true when the library has a circuit breaker (configured
	// here at Policy.FailureThreshold and Policy.Recovery).
	Breaker bool
	// ErrOpen is what errors.Is matches when its breaker fails fast; nil
	// without a breaker.
	ErrOpen error
	// BaseURL is true when the library itself joins a base URL and a
	// relative path. The others are given the absolute URL, or join
	// base+path with a string concatenation, as their users do.
	BaseURL bool
	// New builds the client for base (scheme://host[/prefix], no trailing
	// slash) over rt, which the client never closes.
	New func(base string, rt http.RoundTripper, p Policy) (Client, error)
}

// Peers is every client under test; raw net/http comes first, as the
// baseline of every ratio.
var Peers = []Peer{
	{Name: "raw", New: newRaw},
	{Name: "tempest", Breaker: true, ErrOpen: httpclient.ErrCircuitOpen, BaseURL: true, New: newTempest},
	{Name: "retryablehttp", New: newRetryableHTTP},
	{Name: "failsafe", Breaker: true, ErrOpen: circuitbreaker.ErrOpen, New: newFailsafe},
	{Name: "gobreaker", Breaker: true, ErrOpen: gobreaker.ErrOpenState, New: newGobreaker},
	{Name: "resty", BaseURL: true, New: newResty},
}

// PeerByName returns the peer called name.
func PeerByName(name string) (Peer, bool) {
	for _, p := range Peers {
		if p.Name == name {
			return p, true
		}
	}
	return Peer{}, false
}

// breakerFailure is what every breaker here counts as a failure, as
// Tempest's does: a transport error, or a 5xx other than 501 and 505.
func breakerFailure(resp *http.Response, err error) bool {
	if err != nil {
		return true
	}
	return resp != nil && resp.StatusCode >= 500 &&
		resp.StatusCode != http.StatusNotImplemented && resp.StatusCode != http.StatusHTTPVersionNotSupported
}

// retryableStatus is the retry loop's (gobreaker) and resty's set of
// retryable statuses, go-retryablehttp's and failsafehttp's default: 429 and
// any 5xx but 501.
func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || (code >= 500 && code != http.StatusNotImplemented)
}

// consume reads a response body to its end and closes it.
func consume(resp *http.Response, err error) (int, error) {
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if cerr := resp.Body.Close(); err == nil {
		err = cerr
	}
	return resp.StatusCode, err
}

// StatusError is the error of PostJSON for a non-2xx status, for the clients
// whose library has none of its own.
type StatusError struct{ StatusCode int }

func (e *StatusError) Error() string { return fmt.Sprintf("bench: status %d", e.StatusCode) }

// decodeJSON is encoding/json's part of PostJSON for the clients that return
// a plain *http.Response: check the status, decode, drain and close.
func decodeJSON(resp *http.Response, err error, out *Payload) error {
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		io.Copy(io.Discard, resp.Body)
		return &StatusError{StatusCode: resp.StatusCode}
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// join is the string concatenation with which users of a library that has
// no base URL turn a relative path into a URL.
func join(base, url string) string {
	if strings.HasPrefix(url, "/") {
		return base + url
	}
	return url
}

// newJSONRequest is the request every net/http-based client below builds for
// PostJSON: json.Marshal, a *bytes.Reader body (so net/http sets GetBody and
// Content-Length) and a Content-Type.
func newJSONRequest(ctx context.Context, url string, in any) (*http.Request, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	return req, nil
}

// raw net/http: an http.Client with the 10 s timeout and requests built
// with http.NewRequestWithContext. One attempt, no breaker.

type rawClient struct {
	hc   *http.Client
	base string
}

func newRaw(base string, rt http.RoundTripper, p Policy) (Client, error) {
	return &rawClient{hc: &http.Client{Timeout: p.Timeout, Transport: rt}, base: base}, nil
}

func (c *rawClient) Get(ctx context.Context, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, join(c.base, url), nil)
	if err != nil {
		return 0, err
	}
	return consume(c.hc.Do(req))
}

func (c *rawClient) PostJSON(ctx context.Context, url string, in any, out *Payload) error {
	req, err := newJSONRequest(ctx, join(c.base, url), in)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	return decodeJSON(resp, err, out)
}

func (c *rawClient) Close() {}

// Tempest: httpclient.New with the policy; its other settings are its
// defaults (jitter 0.2, a retry budget, request-ID propagation, which adds no
// header when the context carries no ID).

type tempestClient struct{ c *httpclient.Client }

func newTempest(base string, rt http.RoundTripper, p Policy) (Client, error) {
	c, err := httpclient.New(base,
		httpclient.WithTransport(rt),
		httpclient.WithTimeout(p.Timeout),
		httpclient.WithRetryPolicy(httpclient.RetryPolicy{
			MaxAttempts:    p.Attempts,
			BackoffInitial: p.BackoffInitial,
			BackoffMax:     p.BackoffMax,
		}),
		httpclient.WithCircuitBreaker(p.FailureThreshold, p.Recovery))
	if err != nil {
		return nil, err
	}
	return &tempestClient{c: c}, nil
}

func (c *tempestClient) Get(ctx context.Context, url string) (int, error) {
	return consume(c.c.Get(ctx, url))
}

func (c *tempestClient) PostJSON(ctx context.Context, url string, in any, out *Payload) error {
	v, err := httpclient.Decode[Payload](c.c.Post(ctx, url, httpclient.JSON(in)))
	if err != nil {
		return err
	}
	*out = v
	return nil
}

func (c *tempestClient) Close() { c.c.Close() }

// hashicorp/go-retryablehttp: RetryMax is a count of retries, so
// Attempts-1; its DefaultBackoff (exponential, no jitter, Retry-After
// honoured) and DefaultRetryPolicy (errors, 429, 5xx but 501). No logger (the
// default one writes a line per request to stderr), and the
// PassthroughErrorHandler so that the last response comes back as net/http
// returns it, instead of its default "giving up after N attempts" error that
// closes the response. No breaker.

type retryableClient struct {
	c    *retryablehttp.Client
	base string
}

func newRetryableHTTP(base string, rt http.RoundTripper, p Policy) (Client, error) {
	c := retryablehttp.NewClient()
	c.HTTPClient = &http.Client{Timeout: p.Timeout, Transport: rt}
	c.Logger = nil
	c.RetryMax = p.Attempts - 1
	c.RetryWaitMin = p.BackoffInitial
	c.RetryWaitMax = p.BackoffMax
	c.ErrorHandler = retryablehttp.PassthroughErrorHandler
	return &retryableClient{c: c, base: base}, nil
}

func (c *retryableClient) Get(ctx context.Context, url string) (int, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, join(c.base, url), nil)
	if err != nil {
		return 0, err
	}
	return consume(c.c.Do(req))
}

func (c *retryableClient) PostJSON(ctx context.Context, url string, in any, out *Payload) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, join(c.base, url), b)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.c.Do(req)
	return decodeJSON(resp, err, out)
}

func (c *retryableClient) Close() {}

// failsafe-go: failsafehttp.NewRoundTripper(rt, retryPolicy, circuitBreaker)
// under an http.Client with the timeout, which then bounds the whole call
// (failsafe's own timeout policy would stop at the response headers). The
// retry policy is failsafehttp's (errors, 429, 5xx but 501, Retry-After in
// seconds) with the attempts and backoff; it returns the last response rather
// than an ExceededError, and it aborts on an open circuit, or it would wait
// out its backoff in front of an open breaker. The breaker counts what
// breakerFailure counts; its half-open state admits up to FailureThreshold
// trial executions, failsafe's default for this configuration.

func newFailsafe(base string, rt http.RoundTripper, p Policy) (Client, error) {
	rp := failsafehttp.NewRetryPolicyBuilder().
		WithMaxAttempts(p.Attempts).
		WithBackoff(p.BackoffInitial, p.BackoffMax).
		AbortOnErrors(circuitbreaker.ErrOpen).
		ReturnLastFailure().
		Build()
	cb := circuitbreaker.NewBuilder[*http.Response]().
		HandleIf(breakerFailure).
		WithFailureThreshold(uint(p.FailureThreshold)).
		WithDelay(p.Recovery).
		Build()
	hc := &http.Client{Timeout: p.Timeout, Transport: failsafehttp.NewRoundTripper(rt, rp, cb)}
	return &rawClient{hc: hc, base: base}, nil
}

// sony/gobreaker v2: a CircuitBreaker[*http.Response] that trips at
// FailureThreshold consecutive failures and stays open Recovery (one trial
// request when half-open, its default), inside a simple retry loop:
// Attempts attempts, waits from BackoffInitial doubling up to BackoffMax, no
// jitter, stop at once on an open breaker. Each attempt is one http.Client.Do
// with the timeout.

type gobreakerClient struct {
	hc   *http.Client
	cb   *gobreaker.CircuitBreaker[*http.Response]
	base string
	p    Policy
}

// errFailureStatus tells gobreaker that a response is a failure.
var errFailureStatus = errors.New("bench: failure status")

func newGobreaker(base string, rt http.RoundTripper, p Policy) (Client, error) {
	threshold := uint32(p.FailureThreshold)
	cb := gobreaker.NewCircuitBreaker[*http.Response](gobreaker.Settings{
		Name:        "upstream",
		Timeout:     p.Recovery,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= threshold },
	})
	return &gobreakerClient{hc: &http.Client{Timeout: p.Timeout, Transport: rt}, cb: cb, base: base, p: p}, nil
}

// do runs the retry loop; body, when not nil, is sent with contentType on
// every attempt.
func (c *gobreakerClient) do(ctx context.Context, method, url string, body []byte, contentType string) (*http.Response, error) {
	wait := c.p.BackoffInitial
	for attempt := 1; ; attempt++ {
		resp, err := c.cb.Execute(func() (*http.Response, error) {
			var r io.Reader
			if body != nil {
				r = bytes.NewReader(body)
			}
			req, err := http.NewRequestWithContext(ctx, method, url, r)
			if err != nil {
				return nil, err
			}
			if contentType != "" {
				req.Header.Set("Content-Type", contentType)
			}
			resp, err := c.hc.Do(req)
			if breakerFailure(resp, err) && err == nil {
				return resp, errFailureStatus
			}
			return resp, err
		})
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			return nil, err
		}
		retry := err != nil || retryableStatus(resp.StatusCode)
		if !retry || attempt >= c.p.Attempts || ctx.Err() != nil {
			if errors.Is(err, errFailureStatus) {
				err = nil
			}
			return resp, err
		}
		if resp != nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		wait = min(2*wait, c.p.BackoffMax)
	}
}

func (c *gobreakerClient) Get(ctx context.Context, url string) (int, error) {
	return consume(c.do(ctx, http.MethodGet, join(c.base, url), nil, ""))
}

func (c *gobreakerClient) PostJSON(ctx context.Context, url string, in any, out *Payload) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, http.MethodPost, join(c.base, url), b, "application/json")
	return decodeJSON(resp, err, out)
}

func (c *gobreakerClient) Close() {}

// go-resty v2: resty.New (its defaults: a cookie jar, a User-Agent header,
// the response read into memory) with SetTransport, SetTimeout, the base URL
// and the retries: SetRetryCount is a count of retries, so Attempts-1; its
// wait is capped exponential backoff with jitter between WaitTime and
// MaxWaitTime. By default resty retries only transport errors, so a retry
// condition adds go-retryablehttp's statuses. No breaker.

type restyClient struct{ c *resty.Client }

func newResty(base string, rt http.RoundTripper, p Policy) (Client, error) {
	c := resty.New().
		SetTransport(rt).
		SetTimeout(p.Timeout).
		SetBaseURL(base).
		SetRetryCount(p.Attempts - 1).
		SetRetryWaitTime(p.BackoffInitial).
		SetRetryMaxWaitTime(p.BackoffMax).
		AddRetryCondition(func(r *resty.Response, err error) bool {
			return err != nil || retryableStatus(r.StatusCode())
		})
	return &restyClient{c: c}, nil
}

func (c *restyClient) Get(ctx context.Context, url string) (int, error) {
	resp, err := c.c.R().SetContext(ctx).Get(url)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode(), nil
}

func (c *restyClient) PostJSON(ctx context.Context, url string, in any, out *Payload) error {
	resp, err := c.c.R().SetContext(ctx).SetBody(in).SetResult(out).Post(url)
	if err != nil {
		return err
	}
	if resp.IsError() {
		return &StatusError{StatusCode: resp.StatusCode()}
	}
	return nil
}

func (c *restyClient) Close() {}

// Payload is the JSON body of the JSON benchmark: about 1 KiB encoded.
type Payload struct {
	ID       int64             `json:"id"`
	Name     string            `json:"name"`
	Email    string            `json:"email"`
	Active   bool              `json:"active"`
	Tags     []string          `json:"tags"`
	Labels   map[string]string `json:"labels"`
	Items    []Item            `json:"items"`
	Comment  string            `json:"comment"`
	Created  time.Time         `json:"created"`
	Balance  float64           `json:"balance"`
	Previous *int64            `json:"previous,omitempty"`
}

// Item is a line of a Payload.
type Item struct {
	SKU      string  `json:"sku"`
	Name     string  `json:"name"`
	Quantity int     `json:"quantity"`
	Price    float64 `json:"price"`
}

// NewPayload returns the benchmark's payload, 1 KiB give or take a few bytes
// when encoded.
func NewPayload() *Payload {
	p := &Payload{
		ID:      4242,
		Name:    "Ada Lovelace",
		Email:   "ada@example.com",
		Active:  true,
		Tags:    []string{"analytical", "engine", "notes", "bernoulli", "poetical-science"},
		Labels:  map[string]string{"region": "eu-west-1", "tier": "gold", "team": "payments"},
		Comment: "The Analytical Engine weaves algebraic patterns just as the Jacquard loom weaves flowers and leaves.",
		Created: time.Date(1843, 7, 10, 12, 0, 0, 0, time.UTC),
		Balance: 1234.56,
	}
	for i := range 8 {
		p.Items = append(p.Items, Item{
			SKU:      fmt.Sprintf("SKU-%04d-%04d", 1000+i, 7*i),
			Name:     fmt.Sprintf("Difference engine part %d", i),
			Quantity: i + 1,
			Price:    9.99 * float64(i+1),
		})
	}
	return p
}
