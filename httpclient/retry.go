package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

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
