package httpclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
)

// Client is a resilient HTTP client: retries with jittered exponential
// backoff, a circuit breaker per origin, per-attempt timeouts, default headers
// and request-ID propagation, over one shared connection pool. It is safe for
// concurrent use: build it once, pass it where needed, and Close it after the
// HTTP server that uses it has shut down.
type Client struct {
	base      *baseURL
	baseState *originState // the base origin's state, nil with no base URL

	config                     // resolved: the defaults applied, the policies validated
	breaker   breaker.Settings // per origin; OnStateChange added per origin
	callHooks bool             // CallStart or CallDone is set
	timed     bool             // an attempt's duration is wanted: hooks, a logger or slow calls

	// slots: the transport is NewTransport's, so an attempt can tell a wait
	// for a connection slot (local) from a slow dial; nil otherwise.
	slots *slotCounts

	rt           *transport
	hc           *http.Client
	ownTransport *http.Transport // closed by Close; nil when WithTransport was used
	attemptBody  bodyKind        // of a timed attempt's body; own set with ownTransport

	closed  atomic.Bool
	closeCh chan struct{}
	// closeCtx ends at Close, for waits that take a context (a queue
	// for a concurrency slot).
	closeCtx    context.Context
	closeCancel context.CancelFunc
	giveUps     giveUpRing // the latest give-ups, for RecentGiveUps
	closeOnce   sync.Once

	reg registry
}

// New returns a Client for baseURL ("" when every call names an absolute URL).
// Invalid configuration is an error wrapping ErrInvalidConfig, never a panic;
// all problems found are joined in it.
func New(baseURL string, opts ...Option) (*Client, error) {
	cfg := config{
		timeout:     defaultTimeout,
		propagateID: true,
		maxOrigins:  defaultMaxOrigins,
		idleExpiry:  defaultIdleExpiry,
	}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	errs := cfg.errs
	base, err := parseBaseURL(baseURL)
	if err != nil {
		errs = append(errs, err)
	}
	retry, err := cfg.retry.resolve()
	if err != nil {
		errs = append(errs, err)
	}
	budget, err := cfg.budget.resolve()
	if err != nil {
		errs = append(errs, err)
	}
	rate, err := cfg.rate.resolve()
	if err != nil {
		errs = append(errs, err)
	}
	var conc *concurrency.Settings
	if cfg.conc != nil {
		s, err := cfg.conc.resolve()
		if err != nil {
			errs = append(errs, err)
		}
		conc = &s
	}
	if cfg.shared != nil && cfg.breakerOff {
		errs = append(errs, fmt.Errorf("%w: WithSharedBreakers needs the circuit breaker on", ErrInvalidConfig))
	}
	settings := cfg.breakerCfg
	if !cfg.breakerOff {
		if err := settings.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%w: %w", ErrInvalidConfig, err))
		}
	}
	for k, vs := range cfg.defaultHeaders {
		if err := validHeader(k, vs); err != nil {
			errs = append(errs, fmt.Errorf("%w: default header: %v", ErrInvalidConfig, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	cfg.retry, cfg.budget, cfg.errs = retry, budget, nil
	cfg.maxOrigins = max(cfg.maxOrigins, 1)
	c := &Client{
		config:  cfg,
		base:    base,
		breaker: settings,
		closeCh: make(chan struct{}),
	}
	c.reg.rate, c.reg.conc = rate, conc
	c.closeCtx, c.closeCancel = context.WithCancel(context.Background())
	if c.shared != nil {
		c.safely("SharedBreakers.Watch", func() { c.shared.Watch(c.remote) })
	}
	c.callHooks = cfg.hooks.CallStart != nil || cfg.hooks.CallDone != nil
	c.timed = cfg.hooks.AttemptDone != nil || cfg.logger != nil || settings.SlowCall > 0
	if err := c.reg.init(c); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	c.attemptBody.wrap = asAttemptTimeout
	rt := cfg.transport
	if rt == nil {
		c.ownTransport = NewTransport()
		c.attemptBody.own = c
		rt = c.ownTransport
	}
	_, trustDial := rt.(*http.Transport)
	if c.slots = transportSlots(rt); c.slots != nil {
		c.slots.lower(rt.(*http.Transport).MaxConnsPerHost)
	}
	c.rt = &transport{c: c, base: rt, trustDial: trustDial}
	c.hc = &http.Client{Transport: c.rt}
	if base != nil {
		c.baseState = c.reg.get(base.scheme, base.host)
	}
	return c, nil
}

// Get sends a GET. url is absolute (http:// or https://) or relative to the
// base URL.
func (c *Client) Get(ctx context.Context, url string, opts ...RequestOption) (*http.Response, error) {
	return c.Request(ctx, http.MethodGet, url, opts...)
}

// Post sends a POST. It is retried only with an Idempotency-Key header, the
// Idempotent option, or a failure that proves nothing was sent.
func (c *Client) Post(ctx context.Context, url string, opts ...RequestOption) (*http.Response, error) {
	return c.Request(ctx, http.MethodPost, url, opts...)
}

// Put sends a PUT.
func (c *Client) Put(ctx context.Context, url string, opts ...RequestOption) (*http.Response, error) {
	return c.Request(ctx, http.MethodPut, url, opts...)
}

// Patch sends a PATCH, retried under the same conditions as Post.
func (c *Client) Patch(ctx context.Context, url string, opts ...RequestOption) (*http.Response, error) {
	return c.Request(ctx, http.MethodPatch, url, opts...)
}

// Delete sends a DELETE.
func (c *Client) Delete(ctx context.Context, url string, opts ...RequestOption) (*http.Response, error) {
	return c.Request(ctx, http.MethodDelete, url, opts...)
}

// Request sends a request with any method. Errors are *url.Error values
// wrapping the cause. A retryable status on the last attempt is a
// response with a nil error, as in net/http; the caller must close the
// body of every response.
func (c *Client) Request(ctx context.Context, method, rawURL string, opts ...RequestOption) (*http.Response, error) {
	if c.closed.Load() {
		return nil, &url.Error{Op: urlErrorOp(method), URL: redactRaw(rawURL), Err: ErrClosed}
	}
	target, st, err := c.resolve(rawURL)
	if err != nil {
		return nil, &url.Error{Op: urlErrorOp(method), URL: redactRaw(rawURL), Err: err}
	}
	// R18: an open circuit fails the call before anything is built; an
	// invalid method is the caller's mistake, which NewRequest reports.
	if st != nil && st.br != nil && (method == "" || isToken(method)) {
		if oe := st.br.Peek(); oe != nil {
			err := &url.Error{Op: urlErrorOp(method), URL: redactRaw(target), Err: st.circuitError(oe)}
			if c.callHooks {
				c.refusedCall(ctx, method, target, st, err)
			}
			return nil, err
		}
	}

	if len(opts) == 0 { // the common call: nothing to apply, nothing to allocate
		req, err := http.NewRequestWithContext(ctx, method, target, nil)
		if err != nil {
			return nil, &url.Error{Op: urlErrorOp(method), URL: redactRaw(target), Err: fmt.Errorf("%w: %v", ErrInvalidRequest, redactURLError(err, target))}
		}
		return c.Do(req)
	}
	req, err := c.build(ctx, method, target, opts)
	if err != nil {
		return nil, err
	}
	return c.Do(req)
}

// Do sends req through the client's retry loop and breaker, with net/http's
// redirect handling. req.URL is used as it is: an absolute http or https
// URL (the base URL applies to the verbs only). A request body is replayed
// on retries through GetBody; without GetBody the request gets a single
// attempt.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	total := c.totalTimeout
	if so := sendOptionsFrom(req.Context()); so != nil {
		// Checked here, before a total deadline of 30ns can expire: the
		// transport knows only Timeout(d <= 0). (The StandardClient path
		// does not come through Do.)
		err := so.timeoutErr
		if err == nil {
			err = so.totalErr
		}
		if err != nil {
			closeRequestBody(req)
			return nil, &url.Error{Op: urlErrorOp(req.Method), URL: redactedReqURL(req), Err: err}
		}
		if so.total > 0 {
			total = so.total
		}
	}
	if total <= 0 {
		return c.hc.Do(req)
	}
	return c.doTotal(req, total)
}

// doTotal is Do under a total deadline (R47): one context for every hop,
// attempt and wait, alive until the body is read or closed.
func (c *Client) doTotal(req *http.Request, total time.Duration) (*http.Response, error) {
	parent := req.Context()
	ctx, cancel := context.WithTimeoutCause(parent, total, ErrTotalTimeout)
	resp, err := c.hc.Do(req.WithContext(ctx))
	if err != nil {
		cancel()
		if parent.Err() == nil && context.Cause(ctx) == ErrTotalTimeout {
			var ue *url.Error
			if errors.As(err, &ue) {
				ue.Err = &totalTimeoutError{err: ue.Err}
			}
		}
		return nil, err
	}
	resp.Body = &deadlineBody{rc: resp.Body, cancel: cancel, outer: parent, inner: ctx, kind: &totalBody}
	return resp, nil
}

// refusedCall reports a call the open circuit refused before a request was
// built to the call hooks, as the retry loop reports one it refuses (R64).
func (c *Client) refusedCall(ctx context.Context, method, target string, st *originState, err error) {
	call := Call{Method: method, Origin: st.origin}
	if call.Method == "" {
		call.Method = http.MethodGet
	}
	if u, perr := url.Parse(target); perr == nil {
		call.Path = u.EscapedPath()
	}
	start := time.Now()
	ctx = c.callStart(ctx, nil, call)
	c.callDone(ctx, call, CallResult{Err: err, Stop: StopCircuitOpen, Duration: time.Since(start)})
}

// StandardClient returns a new *http.Client (no Timeout, no cookie jar) whose
// transport applies the client's retries, breaker, per-attempt timeouts and
// headers to every request, for code that only accepts an *http.Client (a
// total timeout is the context's deadline or http.Client.Timeout there). Request
// options reach it through WithRequestOptions. It is cheap (one small
// allocation, no state of its own), so a call may make its own.
func (c *Client) StandardClient() *http.Client {
	return &http.Client{Transport: c.rt}
}

// Close marks the client closed: calls begun after it, and calls waiting
// between attempts (woken at once), fail with an error wrapping ErrClosed;
// attempts in flight are not cancelled, and their bodies can be read to the
// end. It closes the connections of a transport the client created as they
// become idle: at once those idle now, and a connection busy now once the
// response body on it is read to EOF or closed. It never closes those of a
// transport passed with WithTransport. It always returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		close(c.closeCh)
		c.closeCancel()
		if c.ownTransport != nil {
			c.ownTransport.CloseIdleConnections()
		}
	})
	return nil
}
