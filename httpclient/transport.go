package httpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/requestid"
)

// transport is the RoundTripper under the client's *http.Client. It runs once
// per hop of a redirect chain and holds the retry loop: breaker admission,
// headers, attempts with their own timeouts, waits, and accounting.
type transport struct {
	c         *Client
	base      http.RoundTripper
	trustDial bool // base is a net/http *http.Transport: its dial errors prove nothing was sent (R7)
}

// maxRetryBody is how much of a retryable response is buffered before a wait
// (R11) and the most a discarded body is drained (R33).
const maxRetryBody = 64 << 10

// CloseIdleConnections forwards to the underlying transport, so that
// http.Client.CloseIdleConnections works through the client.
func (t *transport) CloseIdleConnections() {
	if ci, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// RoundTrip implements http.RoundTripper. It never mutates req.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.c
	ctx := req.Context()
	if c.closed.Load() {
		closeRequestBody(req)
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		closeRequestBody(req)
		return nil, err
	}
	if err := validateRequest(req); err != nil {
		closeRequestBody(req)
		return nil, err
	}
	so := sendOptionsFrom(ctx)
	policy, timeout, noTimeout, idempotent := c.retry, c.timeout, false, false
	if so != nil {
		if so.retryErr != nil {
			closeRequestBody(req)
			return nil, so.retryErr
		}
		if so.retry != nil {
			policy = *so.retry
		}
		if so.timeoutSet {
			if so.timeout <= 0 {
				closeRequestBody(req)
				return nil, fmt.Errorf("%w: Timeout(%v) must be positive; use NoTimeout", ErrInvalidRequest, so.timeout)
			}
			timeout = so.timeout
		}
		noTimeout = so.noTimeout
		idempotent = so.idempotent
	}
	idempotent = idempotent || safeMethod(req.Method) || hasIdempotencyKey(req.Header)
	maxAttempts := policy.MaxAttempts
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		maxAttempts = 1 // R13: never a half-read body on a retry
	}

	st := c.reg.get(req.URL.Scheme, req.URL.Host)
	header := t.hopHeader(req, st)
	a := Attempt{Method: req.Method, Origin: st.origin, Path: req.URL.EscapedPath(), Max: maxAttempts}
	if a.Method == "" {
		a.Method = http.MethodGet
	}
	bound := probeBound(timeout, noTimeout, c.recovery)

	var lastResp *http.Response
	var lastErr error
	for n := 1; ; n++ {
		var ticket breaker.Ticket
		if st.br != nil {
			tk, err := st.br.AllowBounded(bound)
			if err != nil {
				if n == 1 { // R21: a hop that made no attempt fails fast
					closeRequestBody(req)
					var oe *breaker.OpenError
					if errors.As(err, &oe) {
						return nil, st.circuitError(oe)
					}
					return nil, err
				}
				c.giveUp(ctx, GiveUpEvent{Attempt: a, Reason: "circuit-open"})
				return lastResp, lastErr
			}
			ticket = tk
			a.Breaker, a.Generation, a.Probe = tk.State(), tk.Generation(), tk.Probe()
		}
		a.N = n // only now: a GiveUp for an open circuit reports the last attempt made

		actx, cancel := ctx, context.CancelFunc(nil)
		if !noTimeout {
			actx, cancel = context.WithTimeout(ctx, timeout)
		}
		areq := req.WithContext(actx) // a shallow copy: req is never mutated
		areq.Header = header
		if n > 1 && req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				if cancel != nil {
					cancel()
				}
				if st.br != nil {
					ticket.Done(breaker.Ignore)
				}
				closeResponse(lastResp)
				return nil, fmt.Errorf("httpclient: replaying request body: %w", err)
			}
			areq.Body = body
		}
		if c.hooks.AttemptStart != nil {
			areq.Header = header.Clone()
			if areq.Header == nil {
				areq.Header = make(http.Header)
			}
			if hctx := c.attemptStart(actx, areq, a); hctx != actx {
				actx = hctx
				areq = areq.WithContext(actx)
			}
		}

		start := time.Now()
		resp, err := t.base.RoundTrip(areq)
		dur := time.Since(start)

		var outcome breaker.Outcome
		if err != nil {
			if cerr := ctx.Err(); cerr != nil {
				// The caller's context ended: never retried (R6). Its
				// deadline ending a wait for headers is a timeout the
				// breaker must see (R4); a cancellation counts for nothing.
				outcome = breaker.Ignore
				if errors.Is(cerr, context.DeadlineExceeded) {
					outcome = breaker.Failure
				}
				if cancel != nil {
					cancel()
				}
				if st.br != nil {
					ticket.Done(outcome)
				}
				c.attemptDone(actx, a, AttemptResult{Err: err, Duration: dur, Class: ErrorClass(err), Outcome: outcome})
				closeResponse(lastResp)
				if !errors.Is(err, cerr) {
					err = fmt.Errorf("%w (%w)", cerr, err)
				}
				return nil, err
			}
			if cancel != nil && actx.Err() != nil {
				err = &attemptTimeoutError{err: err}
			}
			if cancel != nil {
				cancel()
			}
			outcome = breaker.Failure
		} else {
			if cancel != nil {
				resp.Body = &attemptBody{rc: resp.Body, cancel: cancel, ctx: ctx, actx: actx}
			}
			resp.Request = req
			if failureStatus(resp.StatusCode) {
				outcome = breaker.Failure
			}
		}
		if st.br != nil {
			ticket.Done(outcome)
		}
		res := AttemptResult{Err: err, Duration: dur, Class: "status", Outcome: outcome}
		if resp != nil {
			res.Status = resp.StatusCode
		} else {
			res.Class = ErrorClass(err)
		}
		c.attemptDone(actx, a, res)

		// Is this outcome retried (R6, R7)?
		var retry bool
		if err != nil {
			retry = retryableError(err) && (idempotent || provesNotSent(err, t.trustDial))
		} else {
			retry = retryableStatus(resp.StatusCode) && idempotent
		}
		if retry && policy.RetryIf != nil {
			retry = policy.RetryIf(resp, err)
		}
		closeResponse(lastResp)
		lastResp, lastErr = nil, nil
		if !retry || n >= maxAttempts {
			return resp, err
		}

		reason := res.Class
		if resp != nil {
			reason = strconv.Itoa(resp.StatusCode)
		}
		wait := jittered(backoff(policy.BackoffInitial, policy.BackoffMax, n), policy.Jitter)
		fromRetryAfter := false
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			if ra, ok := parseRetryAfter(resp.Header, time.Now()); ok {
				if ra > policy.BackoffMax {
					c.giveUp(ctx, GiveUpEvent{Attempt: a, Reason: "retry-after-over-cap"})
					return resp, nil // R9: the caller decides whether to come back that late
				}
				wait, fromRetryAfter = ra, true
			}
		}
		if resp != nil {
			switch berr := bufferBody(resp); {
			case berr == errBodyTooLarge:
				c.giveUp(ctx, GiveUpEvent{Attempt: a, Reason: "body-too-large"})
				return resp, nil
			case berr != nil:
				// R11: the attempt's outcome is the failed read.
				resp, err = nil, berr
				reason = ErrorClass(berr)
				if !retryableError(berr) || !idempotent {
					return nil, berr
				}
			}
		}
		lastResp, lastErr = resp, err

		if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= wait {
			c.giveUp(ctx, GiveUpEvent{Attempt: a, Reason: "deadline"})
			return lastResp, lastErr // R10: no sleeping in vain
		}
		c.retryEvent(ctx, RetryEvent{Attempt: a, Wait: wait, Reason: reason, RetryAfter: fromRetryAfter})
		if err := t.wait(ctx, wait); err != nil {
			closeResponse(lastResp)
			reason := "canceled"
			if errors.Is(err, ErrClosed) {
				reason = "closed"
			}
			c.giveUp(ctx, GiveUpEvent{Attempt: a, Reason: reason})
			return nil, err
		}
	}
}

// wait sleeps d, or less when the caller's context ends (R10) or the client
// is closed (R30).
func (t *transport) wait(ctx context.Context, d time.Duration) error {
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-ctx.Done():
			return fmt.Errorf("httpclient: waiting to retry: %w", ctx.Err())
		case <-t.c.closeCh:
			return fmt.Errorf("httpclient: waiting to retry: %w", ErrClosed)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("httpclient: waiting to retry: %w", err)
	}
	if t.c.closed.Load() {
		return fmt.Errorf("httpclient: waiting to retry: %w", ErrClosed)
	}
	return nil
}

// hopHeader returns the headers of this hop's attempts: the call's, then the
// context's request ID (R25), then the default headers for the base origin
// (R23). It returns req.Header itself when nothing is added.
func (t *transport) hopHeader(req *http.Request, st *originState) http.Header {
	c := t.c
	var id string
	idName := ""
	if c.propagateID {
		if v, ok := requestid.FromContext(req.Context()); ok {
			idName = requestid.HeaderKey()
			if _, set := req.Header[idName]; set {
				idName = ""
			} else {
				id = v
			}
		}
	}
	defaults := len(c.defaultHeaders) > 0 && t.isBaseOrigin(req, st)
	if idName == "" && !defaults {
		return req.Header
	}
	h := req.Header.Clone()
	if h == nil {
		h = make(http.Header, len(c.defaultHeaders)+1)
	}
	if defaults {
		for k, vs := range c.defaultHeaders {
			if _, set := h[k]; set || k == idName {
				continue
			}
			h[k] = append([]string(nil), vs...)
		}
	}
	if idName != "" {
		h[idName] = []string{id}
	}
	return h
}

// isBaseOrigin reports whether this hop goes to the base origin or, with no
// base URL, to the first hop's origin (R23).
func (t *transport) isBaseOrigin(req *http.Request, st *originState) bool {
	if t.c.base != nil {
		return st.origin == t.c.base.origin
	}
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	if first == req {
		return true
	}
	return normalizeOrigin(first.URL.Scheme, first.URL.Host) == st.origin
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// closeResponse drains at most maxRetryBody and closes, so that a small body
// leaves its connection reusable (R33).
func closeResponse(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxRetryBody)
	resp.Body.Close()
}

var errBodyTooLarge = errors.New("httpclient: retryable response body over 64 KiB")

// bufferBody reads resp's body into memory and closes the original, so that
// its connection goes back to the pool before a wait (R11). Over maxRetryBody
// it puts what it read back in front of the rest and returns errBodyTooLarge.
func bufferBody(resp *http.Response) error {
	var buf bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength <= maxRetryBody {
		buf.Grow(int(resp.ContentLength) + 1)
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, maxRetryBody+1))
	if err != nil {
		resp.Body.Close()
		return err
	}
	if buf.Len() > maxRetryBody {
		resp.Body = &prefixedBody{Reader: io.MultiReader(bytes.NewReader(buf.Bytes()), resp.Body), c: resp.Body}
		return errBodyTooLarge
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
	return nil
}

type prefixedBody struct {
	io.Reader
	c io.Closer
}

func (b *prefixedBody) Close() error { return b.c.Close() }

// attemptBody keeps an attempt's context alive until its body is read to EOF
// or closed, so the per-attempt timeout covers the body as
// http.Client.Timeout does (R14), and reports that timeout as an attempt
// timeout (R15).
type attemptBody struct {
	rc        io.ReadCloser
	cancel    context.CancelFunc
	ctx, actx context.Context
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil {
		if err == io.EOF {
			b.cancel()
		} else if b.ctx.Err() == nil && b.actx.Err() != nil {
			err = &attemptTimeoutError{err: err}
		}
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}
