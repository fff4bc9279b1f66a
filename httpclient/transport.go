package httpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// hop is one request of a redirect chain on its way through the retry loop.
type hop struct {
	t           *transport
	c           *Client
	req         *http.Request
	ctx         context.Context
	st          *originState
	header      http.Header
	policy      RetryPolicy
	timeout     time.Duration
	noTimeout   bool
	idempotent  bool
	maxAttempts int
	bound       time.Duration // a probe's bound (R19)
	url         *url.URL      // the URL with its scheme in lower case, when the caller's is not
	bodyOnce    bool          // the body cannot be replayed: a single attempt (R13)
	hedge       HedgePolicy   // zero: no hedging for this hop
	a           Attempt       // the template of this hop's attempts
}

// attemptResult is one attempt's outcome, as decided at its response headers.
type attemptResult struct {
	resp        *http.Response
	err         error
	hedge       int  // 0 for the first racer
	callerEnded bool // the caller's context ended: never retried
	callerFault bool // the caller's request body failed it: never retried (R56)
	a           Attempt
	class       string
}

// RoundTrip implements http.RoundTripper. It never mutates req.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var h hop // on the stack: the hot path allocates no hop
	if err := t.initHop(&h, req); err != nil {
		closeRequestBody(req)
		return nil, err
	}
	defer h.st.release()
	return h.run()
}

func (t *transport) initHop(h *hop, req *http.Request) error {
	c := t.c
	ctx := req.Context()
	if c.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := validateRequest(req); err != nil {
		return err
	}
	*h = hop{t: t, c: c, req: req, ctx: ctx, policy: c.retry, timeout: c.timeout, hedge: c.hedge}
	so := sendOptionsFrom(ctx)
	if so != nil {
		if so.retryErr != nil {
			return so.retryErr
		}
		if so.totalErr != nil {
			return so.totalErr
		}
		if so.timeoutErr != nil {
			return so.timeoutErr
		}
		if so.retry != nil {
			h.policy = *so.retry
		}
		if so.timeoutSet {
			if so.timeout <= 0 {
				return fmt.Errorf("%w: Timeout(%v) must be positive; use NoTimeout", ErrInvalidRequest, so.timeout)
			}
			h.timeout = so.timeout
		}
		h.noTimeout = so.noTimeout
		h.idempotent = so.idempotent
	}
	h.idempotent = h.idempotent || safeMethod(req.Method) || hasIdempotencyKey(req.Header)
	h.maxAttempts = h.policy.MaxAttempts
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		h.maxAttempts = 1 // R13: never a half-read body on a retry
		h.bodyOnce = true
	}
	if !h.hedgeable(so) {
		h.hedge = HedgePolicy{}
	}
	h.st = c.reg.acquire(req.URL.Scheme, req.URL.Host) // released when the hop ends
	h.header = t.hopHeader(req, h.st)
	h.a = Attempt{Method: req.Method, Origin: h.st.origin, Path: req.URL.EscapedPath(), Max: h.maxAttempts}
	if h.a.Method == "" {
		h.a.Method = http.MethodGet
	}
	h.bound = probeBound(h.timeout, h.noTimeout, c.recovery)
	if sc := req.URL.Scheme; sc != "http" && sc != "https" {
		// Validated as http or https in any case; net/http takes only
		// lower case (R56).
		u := *req.URL
		u.Scheme = strings.ToLower(sc)
		h.url = &u
	}
	return nil
}

// deadlineFirst reports whether the caller's deadline comes no later than
// the attempt timeout would: the attempt then needs no context of its own,
// and ends as the caller's (R15).
func (h *hop) deadlineFirst() bool {
	dl, ok := h.ctx.Deadline()
	return ok && time.Until(dl) <= h.timeout
}

// admit asks the breaker for one attempt.
func (h *hop) admit() (breaker.Ticket, error) {
	if h.st.br == nil {
		return breaker.Ticket{}, nil
	}
	return h.st.br.AllowBounded(h.bound)
}

// spend takes one retry or hedge from the origin's budget (R46), once the
// breaker has admitted it.
func (h *hop) spend() bool {
	return h.st.budget == nil || h.st.budget.spend()
}

// countCall counts this hop's call in the origin's budget (R46), once its
// first attempt is admitted: calls the breaker refuses earn no retries.
func (h *hop) countCall() {
	if h.st.budget != nil {
		h.st.budget.call()
	}
}

// budgetAllows reports, before a wait, whether the budget would pay for a
// retry now; it takes nothing.
func (h *hop) budgetAllows() bool {
	return h.st.budget == nil || h.st.budget.allows()
}

// errBudgetSpent refuses an attempt the breaker admitted but the retry
// budget cannot pay for (R46).
var errBudgetSpent = errors.New("httpclient: retry budget spent")

// body returns the request body for racer k of attempt n: the caller's own
// for the very first, a fresh copy from GetBody for every other.
func (h *hop) body(n, k int) (io.ReadCloser, error) {
	b := h.req.Body
	if (n > 1 || k > 0) && h.req.GetBody != nil {
		var err error
		if b, err = h.req.GetBody(); err != nil {
			return nil, fmt.Errorf("httpclient: replaying request body: %w", err)
		}
	}
	if b == nil || b == http.NoBody {
		return b, nil
	}
	// Wrapped, so that a failure of the caller's body is told from the
	// upstream's (R56).
	return newRequestBody(b, h.req.ContentLength), nil
}

// run is the retry loop of one hop (R5-R13, R21).
func (h *hop) run() (*http.Response, error) {
	c := h.c
	var last attemptResult
	var lastResp *http.Response
	var lastErr error
	for n := 1; ; n++ {
		var r attemptResult
		if h.hedge.Delay > 0 {
			var refused error
			if r, refused = h.hedged(n); refused != nil {
				return h.refused(n, refused, last, lastResp, lastErr)
			}
		} else {
			ticket, err := h.admit()
			if err != nil {
				return h.refused(n, err, last, lastResp, lastErr)
			}
			body, err := h.body(n, 0)
			if err != nil {
				ticket.Done(breaker.Ignore)
				closeResponse(lastResp)
				return nil, err
			}
			// A retry is paid for only once the breaker has admitted
			// it and its body is ready (R46); a call counts once its
			// first attempt is admitted.
			if n > 1 && !h.spend() {
				ticket.Done(breaker.Ignore)
				closeBody(body)
				return h.refused(n, errBudgetSpent, last, lastResp, lastErr)
			}
			if n == 1 {
				h.countCall()
			}
			r = h.attempt(h.ctx, nil, n, 0, ticket, body)
		}
		closeResponse(lastResp)
		lastResp, lastErr = nil, nil
		resp, err := r.resp, r.err
		if r.callerEnded || r.callerFault {
			return nil, err
		}

		// Is this outcome retried (R6, R7)?
		var retryable, retry bool
		if err != nil {
			retryable = retryableError(err)
			retry = retryable && (h.idempotent || provesNotSent(err, h.t.trustDial))
		} else {
			retryable = retryableStatus(resp.StatusCode)
			retry = retryable && h.idempotent
		}
		if retry && h.policy.RetryIf != nil && !c.retryIf(h.ctx, h.policy.RetryIf, resp, err) {
			return resp, err // the caller's predicate decided: its own trace
		}
		if !retry || n >= h.maxAttempts {
			// A retryable outcome not retried for the request's sake
			// leaves a trace (R41): the method is not idempotent, or
			// the body cannot be replayed.
			switch {
			case retryable && !retry:
				c.giveUp(h.ctx, GiveUpEvent{Attempt: r.a, Reason: "not-idempotent"})
			case retry && h.bodyOnce && h.policy.MaxAttempts > 1:
				c.giveUp(h.ctx, GiveUpEvent{Attempt: r.a, Reason: "body-not-replayable"})
			}
			return resp, err
		}

		reason := r.class
		if resp != nil {
			reason = strconv.Itoa(resp.StatusCode)
		}
		wait := jittered(backoff(h.policy.BackoffInitial, h.policy.BackoffMax, n), h.policy.Jitter)
		fromRetryAfter := false
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			if ra, ok := parseRetryAfter(resp.Header, time.Now()); ok {
				if ra > h.policy.BackoffMax {
					c.giveUp(h.ctx, GiveUpEvent{Attempt: r.a, Reason: "retry-after-over-cap"})
					return resp, nil // R9: the caller decides whether to come back that late
				}
				wait, fromRetryAfter = ra, true
			}
		}
		if resp != nil {
			switch berr := bufferBody(resp); {
			case berr == errBodyTooLarge:
				c.giveUp(h.ctx, GiveUpEvent{Attempt: r.a, Reason: "body-too-large"})
				return resp, nil
			case berr != nil:
				// R11: the attempt's outcome is the failed read.
				resp, err = nil, berr
				reason = ErrorClass(berr)
				if !retryableError(berr) || !h.idempotent {
					return nil, berr
				}
			}
		}
		last, lastResp, lastErr = r, resp, err

		if dl, ok := h.ctx.Deadline(); ok && time.Until(dl) <= wait {
			c.giveUp(h.ctx, GiveUpEvent{Attempt: r.a, Reason: "deadline"})
			return lastResp, lastErr // R10: no sleeping in vain
		}
		// R53: a circuit that will still be open when the wait ends
		// would refuse the next attempt; say so now instead of sleeping.
		if h.st.br != nil {
			if oe := h.st.br.Peek(); oe != nil && oe.Until.After(time.Now().Add(wait)) {
				c.giveUp(h.ctx, GiveUpEvent{Attempt: r.a, Reason: "circuit-open"})
				return lastResp, lastErr
			}
		}
		// R46: checked before the wait, so no call sleeps for a retry it
		// cannot make; paid once the retry is admitted.
		if !h.budgetAllows() {
			c.giveUp(h.ctx, GiveUpEvent{Attempt: r.a, Reason: "budget"})
			return lastResp, lastErr
		}
		c.retryEvent(h.ctx, RetryEvent{Attempt: r.a, Wait: wait, Reason: reason, RetryAfter: fromRetryAfter})
		if err := h.t.wait(h.ctx, wait); err != nil {
			closeResponse(lastResp)
			reason := "canceled"
			if errors.Is(err, ErrClosed) {
				reason = "closed"
			}
			c.giveUp(h.ctx, GiveUpEvent{Attempt: r.a, Reason: reason})
			return nil, err
		}
	}
}

// refused ends a hop whose attempt n the breaker refused: a hop that made no
// attempt fails fast; one that did returns its last outcome (R21).
func (h *hop) refused(n int, err error, last attemptResult, lastResp *http.Response, lastErr error) (*http.Response, error) {
	if n == 1 {
		closeRequestBody(h.req)
		var oe *breaker.OpenError
		if errors.As(err, &oe) {
			return nil, h.st.circuitError(oe)
		}
		return nil, err
	}
	reason := "circuit-open"
	if err == errBudgetSpent {
		reason = "budget"
	}
	h.c.giveUp(h.ctx, GiveUpEvent{Attempt: last.a, Reason: reason})
	return lastResp, lastErr
}

// attempt sends racer k of attempt n under parent (the hop's context, or a
// hedge's own) and decides its outcome at the response headers (R17).
// release, when set, ends the hedge's context once the attempt is over.
func (h *hop) attempt(parent context.Context, release context.CancelCauseFunc, n, k int, ticket breaker.Ticket, body io.ReadCloser) attemptResult {
	c := h.c
	a := h.a
	a.N, a.Hedge = n, k
	if h.st.br != nil {
		a.Breaker, a.Generation, a.Probe = ticket.State(), ticket.Generation(), ticket.Probe()
	}
	actx, cancel := parent, context.CancelFunc(nil)
	if !h.noTimeout && !h.deadlineFirst() {
		actx, cancel = context.WithTimeout(parent, h.timeout)
	}
	if release != nil {
		inner := cancel
		cancel = func() {
			if inner != nil {
				inner()
			}
			release(nil)
		}
	}
	var ct *attemptTrace
	if c.slotAware {
		ct = traced(actx)
		actx = ct
	}
	areq := h.req.WithContext(actx) // a shallow copy: the caller's request is never mutated
	areq.Header = h.header
	areq.Body = body
	if h.url != nil {
		areq.URL = h.url
	}
	if c.attemptHeader != "" || c.hooks.AttemptStart != nil {
		areq.Header = h.header.Clone()
		if areq.Header == nil {
			areq.Header = make(http.Header)
		}
		if c.attemptHeader != "" {
			areq.Header[c.attemptHeader] = []string{attemptValue(a)}
		}
		if hctx := c.attemptStart(actx, areq, a); hctx != actx {
			actx = hctx
			areq = areq.WithContext(actx)
		}
	}

	var start time.Time
	if c.timed {
		start = time.Now()
	}
	resp, err := h.t.roundTrip(areq)
	var dur time.Duration
	if c.timed {
		dur = time.Since(start)
	}

	r := attemptResult{resp: resp, err: err, hedge: k, a: a}
	if resp != nil && resp.StatusCode >= 400 {
		r.class = "status" // as ErrorClass of the *StatusError it makes; "" for a success (R44)
	}
	outcome := breaker.Success
	if err != nil {
		rb, _ := body.(*requestBody)
		switch cerr := h.ctx.Err(); {
		case cerr != nil:
			// The caller's context ended: never retried (R6). Its
			// deadline ending a wait for headers is a timeout the
			// breaker must see (R4), unless the attempt was still
			// queued for a connection slot (R57); a cancellation
			// counts for nothing.
			r.callerEnded = true
			outcome = breaker.Ignore
			if errors.Is(cerr, context.DeadlineExceeded) && k == 0 && rb.failed() == nil && !rb.heldAt(h.ctx.Deadline()) && !ct.waitedForSlot() {
				outcome = breaker.Failure // once per call: hedges do not multiply it
			}
			if !errors.Is(err, cerr) {
				r.err = fmt.Errorf("%w (%w)", cerr, err)
			}
		case release != nil && context.Cause(parent) == errHedgeLost:
			outcome = breaker.Ignore // a cancelled hedge counts for nothing (R48)
		case errors.Is(err, errBadTransport):
			outcome = breaker.Ignore // the local RoundTripper's fault, not the upstream's
		case rb.failed() != nil:
			// The caller's body failed or lied about its length (R56).
			r.err = fmt.Errorf("%w (the transport said: %w)", rb.failed(), err)
			r.callerFault = true
			outcome = breaker.Ignore
		case isCallerShape(err):
			r.err = fmt.Errorf("%w: %w", ErrInvalidRequest, err)
			r.callerFault = true
			outcome = breaker.Ignore
		case isLocalResource(err):
			outcome = breaker.Ignore // the local machine's limits (R57); retried as not sent where R7 allows
		case cancel != nil && actx.Err() != nil && rb.heldAt(actx.Deadline()):
			// The transport was still waiting on the caller's own
			// slow body (R56).
			r.err = &requestBodyError{err: fmt.Errorf("still being read when the attempt timed out: %w", &attemptTimeoutError{err: err})}
			r.callerFault = true
			outcome = breaker.Ignore
		case cancel != nil && actx.Err() != nil:
			if ct.waitedForSlot() {
				// Queued for a connection slot all along: nothing
				// was sent, and the wait was local (R57).
				r.err = &attemptTimeoutError{err: &connWaitError{err: err}}
				outcome = breaker.Ignore
			} else {
				r.err = &attemptTimeoutError{err: err}
				outcome = breaker.Failure
			}
		default:
			outcome = breaker.Failure
		}
		if cancel != nil {
			cancel()
		}
		r.class = ErrorClass(r.err)
	} else {
		if cancel != nil {
			var db *deadlineBody
			if ct != nil {
				db = &ct.body // one allocation for both
			} else {
				db = new(deadlineBody)
			}
			*db = deadlineBody{rc: resp.Body, cancel: cancel, outer: h.ctx, inner: actx, kind: &c.attemptBody}
			resp.Body = db
		} else if resp.ProtoMajor == 2 && c.ownTransport != nil {
			resp.Body = &ownBody{rc: resp.Body, c: c} // R30: a deadlineBody does this for timed attempts
		}
		resp.Request = h.req
		if failureStatus(resp.StatusCode) {
			outcome = breaker.Failure
		}
	}
	if h.st.br != nil {
		ticket.DoneTimed(outcome, dur) // R45: a slow success may count as a failure
	}
	res := AttemptResult{Err: r.err, Duration: dur, Class: r.class, Outcome: outcome}
	if resp != nil {
		res.Status = resp.StatusCode
	}
	c.attemptDone(actx, a, res)
	return r
}

// errBadTransport marks an attempt whose RoundTripper broke its contract:
// it panicked, or returned a nil response with a nil error. That is a fault
// of local code, so it is not retried and counts for nothing in the breaker.
var errBadTransport = errors.New("httpclient: the RoundTripper broke its contract")

// roundTrip sends one attempt through the base RoundTripper and returns an
// answer the rest of the client can trust, as net/http's Client does
// (golang/go#38095): a panic or a nil response with a nil error becomes an
// error, a response that comes with an error is closed and dropped, and a
// nil Body or Header becomes an empty one.
func (t *transport) roundTrip(req *http.Request) (resp *http.Response, err error) {
	defer func() {
		if v := recover(); v != nil {
			resp, err = nil, fmt.Errorf("%w: %T panicked: %v", errBadTransport, t.base, v)
			t.c.logPanic(req.Context(), "RoundTripper", v)
		}
	}()
	resp, err = t.base.RoundTrip(req)
	switch {
	case err != nil:
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if !t.trustDial {
			_ = err.Error() // an error that panics when printed panics here, under the recover
		}
		return nil, err
	case resp == nil:
		return nil, fmt.Errorf("%w: %T returned a nil *http.Response and a nil error", errBadTransport, t.base)
	}
	if resp.Body == nil {
		resp.Body = http.NoBody
	} else if !t.trustDial && resp.Body != http.NoBody {
		// The client reads and closes bodies itself (before a wait, in
		// a hedge race, on a redirect): a body of a RoundTripper other
		// than net/http's is guarded.
		resp.Body = &guardBody{rc: resp.Body, rt: t.base}
	}
	if resp.Header == nil {
		resp.Header = make(http.Header)
	}
	return resp, nil
}

// guardBody is the body of a response from a RoundTripper other than
// net/http's (R55): a panic in its Read or Close becomes an error, and a
// Read that keeps returning nothing and no error ends with
// io.ErrNoProgress, as bufio does, instead of spinning a core.
type guardBody struct {
	rc      io.ReadCloser
	rt      http.RoundTripper
	empties int
}

// maxEmptyReads is how many (0, nil) reads in a row a body may return.
const maxEmptyReads = 100

func (b *guardBody) Read(p []byte) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("%w: the response body of %T panicked in Read: %v", errBadTransport, b.rt, v)
		}
	}()
	n, err = b.rc.Read(p)
	if n == 0 && err == nil && len(p) > 0 {
		if b.empties++; b.empties >= maxEmptyReads {
			return 0, io.ErrNoProgress
		}
	} else {
		b.empties = 0
	}
	return n, err
}

func (b *guardBody) Close() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: the response body of %T panicked in Close: %v", errBadTransport, b.rt, v)
		}
	}()
	return b.rc.Close()
}

// attemptValue is the attempt header's value, in the manner of the AWS SDKs'
// amz-sdk-request header (R49).
func attemptValue(a Attempt) string {
	v := "attempt=" + strconv.Itoa(a.N) + "; max=" + strconv.Itoa(a.Max)
	if a.Hedge > 0 {
		v += "; hedge=" + strconv.Itoa(a.Hedge)
	}
	return v
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
		// An ID that is not a valid header value is not sent (R25): it
		// would make net/http refuse the whole request.
		if v, ok := requestid.FromContext(req.Context()); ok && validHeaderValue(v) {
			idName = requestid.HeaderKey()
			if hasHeader(req.Header, idName) {
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
			if k == idName || hasHeader(req.Header, k) {
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

// hasHeader reports whether h holds the canonical name key under any
// spelling: a request built by hand may hold "authorization", which
// net/http sends as written, and a default Authorization must not go out
// beside it (R23).
func hasHeader(h http.Header, key string) bool {
	if _, ok := h[key]; ok {
		return true
	}
	for k := range h {
		if len(k) == len(key) && k != key && http.CanonicalHeaderKey(k) == key {
			return true
		}
	}
	return false
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

// deadlineBody keeps a context alive until its body is read to EOF or
// closed, so that an attempt's timeout (R14) or a call's total deadline (R47)
// covers the body as http.Client.Timeout does, and reports a read that
// deadline cut with kind.wrap (R15). outer is the caller's context: when it
// ended too, the error is the caller's and stays as it is.
type deadlineBody struct {
	rc           io.ReadCloser
	cancel       context.CancelFunc
	outer, inner context.Context
	kind         *bodyKind // shared, so that the struct stays 64 bytes
}

// bodyKind is what a deadlineBody does besides its deadline.
type bodyKind struct {
	wrap func(error) error // how a read the deadline cut is reported (R15)
	own  *Client           // the client, for a body of its own transport (R30); else nil
}

// totalBody is the kind of a call's body under a total deadline (R47). The
// attempt's body inside it does the R30 part.
var totalBody = bodyKind{wrap: asTotalTimeout}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil {
		if err == io.EOF {
			b.kind.own.bodyEnded(b.rc, true) // before cancel: see bodyEnded
			b.cancel()
		} else if b.outer.Err() == nil && b.inner.Err() != nil {
			err = b.kind.wrap(err)
		}
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	err := b.rc.Close()
	b.kind.own.bodyEnded(b.rc, false)
	b.cancel()
	return err
}

func asAttemptTimeout(err error) error { return &attemptTimeoutError{err: err} }
func asTotalTimeout(err error) error   { return &totalTimeoutError{err: err} }
