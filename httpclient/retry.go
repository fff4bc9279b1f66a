package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	last        Attempt       // the attempt whose outcome the hop returns, for CallDone
}

// attemptResult is one attempt's outcome, as decided at its response headers.
type attemptResult struct {
	resp         *http.Response
	err          error
	hedge        int  // 0 for the first racer
	callerEnded  bool // the caller's context ended: never retried
	callerFault  bool // the caller's request body failed it: never retried (R56)
	replayFailed bool // a hedged race could not build its first body: nothing was sent
	a            Attempt
	result       AttemptResult // as AttemptDone saw it
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
	t, err := h.st.br.AllowBounded(h.bound)
	if err == nil && t.Probe() && h.c.shared != nil {
		return h.sharedProbe(t) // half-open is fleet-wide (R72)
	}
	return t, err
}

// spend takes one retry or hedge from the origin's budget (R46), once the
// breaker has admitted it.
func (h *hop) spend() bool {
	return h.st.budget == nil || h.st.budget.spend(h.c.reg.bcfg)
}

// countCall counts this hop's call in the origin's budget (R46), once its
// first attempt is admitted: calls the breaker refuses earn no retries.
func (h *hop) countCall() {
	if h.st.budget != nil {
		h.st.budget.call(h.c.reg.bcfg)
	}
}

// errBudgetSpent refuses an attempt the breaker admitted but the retry
// budget cannot pay for (R46).
var errBudgetSpent = errors.New("httpclient: retry budget spent")

// body returns the request body for racer k of attempt n: the caller's own
// for the very first, a fresh copy from GetBody for every other. A GetBody
// that panics is an error, as a panic in any caller's code the client runs:
// the attempt's gates have granted it a slot, a ticket and a rate slot that
// must be given back.
func (h *hop) body(n, k int) (_ io.ReadCloser, err error) {
	defer func() {
		if v := recover(); v != nil {
			h.c.logPanic(h.ctx, "GetBody", v)
			err = fmt.Errorf("httpclient: replaying request body: GetBody panicked: %v", v)
		}
	}()
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

// run is the retry loop of one hop. Its decisions are pure functions of
// the outcome (decide, nextWait, gate); run does the sending, the waiting
// and the reporting.
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
			took, err := h.rateGate()
			if err != nil {
				return h.refused(n, err, last, lastResp, lastErr)
			}
			permit, err := h.concGate(true)
			if err != nil {
				h.giveRate(took)
				return h.refused(n, err, last, lastResp, lastErr)
			}
			ticket, err := h.admit()
			if err != nil {
				permit.Release()
				h.giveRate(took)
				return h.refused(n, err, last, lastResp, lastErr)
			}
			body, err := h.body(n, 0)
			if err != nil {
				ticket.Done(breaker.Ignore)
				permit.Release()
				h.giveRate(took)
				closeResponse(lastResp)
				if n > 1 {
					return h.finish(last.a, nil, err, n-1, StopBodyNotReplayable)
				}
				return nil, h.stopped(err, 0, StopSettled)
			}
			// A retry is paid for only once the breaker has admitted
			// it and its body is ready; a call counts once its first
			// attempt is admitted.
			if n > 1 && !h.spend() {
				ticket.Done(breaker.Ignore)
				permit.Release()
				h.giveRate(took)
				closeBody(body)
				return h.refused(n, errBudgetSpent, last, lastResp, lastErr)
			}
			if n == 1 {
				h.countCall()
			}
			r = h.attempt(h.ctx, nil, n, 0, ticket, body, permit)
		}
		closeResponse(lastResp)
		lastResp, lastErr = nil, nil
		resp, err := r.resp, r.err
		if r.callerEnded {
			stop := StopCanceled
			if errors.Is(h.ctx.Err(), context.DeadlineExceeded) {
				stop = StopDeadline
			}
			return nil, h.stopped(err, n, stop)
		}
		if r.replayFailed && n > 1 {
			return h.finish(last.a, nil, err, n-1, StopBodyNotReplayable)
		}
		if r.callerFault {
			return nil, h.stopped(err, n, StopSettled)
		}

		retryable, repeatable := h.classify(resp, err)
		var answer *bool
		if repeatable && h.policy.RetryIf != nil {
			yes := c.retryIf(h.ctx, h.policy.RetryIf, r.a, resp, err, retryable)
			answer = &yes
		}
		retry, stop := decide(n, h.maxAttempts, h.policy.MaxAttempts, retryable, repeatable, h.bodyOnce, answer)
		if !retry {
			return h.finish(r.a, resp, err, n, stop)
		}
		wait, fromRetryAfter, stop := nextWait(h.policy, r.a, resp, err, time.Now())
		if stop != "" {
			return h.finish(r.a, resp, err, n, stop) // R9: the caller decides whether to come back that late
		}
		if resp != nil {
			switch berr := bufferBody(resp); {
			case berr == errBodyTooLarge:
				return h.finish(r.a, resp, nil, n, StopBodyTooLarge)
			case berr != nil:
				// The attempt's outcome is the failed read; it is
				// retried only as a failure the rules retry.
				resp, err = nil, berr
				if !retryableError(berr) || !h.idempotent {
					return h.finish(r.a, nil, berr, n, StopSettled)
				}
			}
		}
		last, lastResp, lastErr = r, resp, err

		if stop := gate(h.ctx, wait, h.st, h.c.reg.bcfg, time.Now()); stop != "" {
			return h.finish(r.a, lastResp, lastErr, n, stop)
		}
		c.retryEvent(h.ctx, RetryEvent{Attempt: r.a, Result: r.result, Wait: wait, RetryAfter: fromRetryAfter})
		if err := h.t.wait(h.ctx, wait); err != nil {
			closeResponse(lastResp)
			stop := StopCanceled
			if errors.Is(err, ErrClosed) {
				stop = StopClosed
			}
			return h.finish(r.a, nil, err, n, stop)
		}
	}
}

// classify is R6 and R7 for one outcome: whether the rules call it
// retryable, and whether this request may be sent again at all (it is
// idempotent, or the failure proves nothing was sent).
func (h *hop) classify(resp *http.Response, err error) (retryable, repeatable bool) {
	if err != nil {
		retryable = retryableError(err)
		return retryable, h.idempotent || provesNotSent(err, h.t.trustDial)
	}
	return retryableStatus(resp.StatusCode), h.idempotent
}

// decide is the loop's decision after attempt n of maxAttempts (the policy
// asked for policyMax), as a pure function of the outcome: retryable is
// R6's verdict, repeatable R7's, bodyOnce that the body cannot be replayed
// (R13), and answer RetryIf's, when it was asked. A request that is not
// repeatable is never retried, whatever RetryIf says.
func decide(n, maxAttempts, policyMax int, retryable, repeatable, bodyOnce bool, answer *bool) (retry bool, stop Stop) {
	want := retryable
	if repeatable && answer != nil {
		want = *answer // RetryIf widens or narrows
	}
	switch {
	case !repeatable && retryable:
		return false, StopNotIdempotent
	case !repeatable, !want && !retryable:
		return false, StopSettled
	case !want:
		return false, StopRetryIf
	case n < maxAttempts:
		return true, ""
	case bodyOnce && policyMax > 1:
		return false, StopBodyNotReplayable
	}
	return false, StopExhausted
}

// nextWait is the wait after attempt a (R8): the policy's Backoff, or
// jittered exponential backoff; on 429 and 503 a Retry-After replaces it
// (R9), and one asking for more than BackoffMax stops the loop.
func nextWait(p RetryPolicy, a Attempt, resp *http.Response, err error, now time.Time) (wait time.Duration, fromRetryAfter bool, stop Stop) {
	if p.Backoff != nil {
		wait = max(safeBackoff(p, a, resp, err), 0)
	} else {
		wait = jittered(backoff(p.BackoffInitial, p.BackoffMax, a.N), p.Jitter)
	}
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if ra, ok := parseRetryAfter(resp.Header, now); ok {
			if ra > p.BackoffMax {
				return 0, false, StopRetryAfter
			}
			return ra, true, ""
		}
	}
	return wait, false, ""
}

// safeBackoff asks the policy's Backoff; a panic in it means the
// exponential wait, as a panic in RetryIf means no retry.
func safeBackoff(p RetryPolicy, a Attempt, resp *http.Response, err error) (d time.Duration) {
	defer func() {
		if v := recover(); v != nil {
			d = jittered(backoff(p.BackoffInitial, p.BackoffMax, a.N), p.Jitter)
		}
	}()
	return p.Backoff(a, resp, err)
}

// gate is what may still stop a retry before its wait, from what the hop
// can ask without changing anything: the caller's deadline would end
// before the wait (R10), the circuit will still be open after it (R53),
// the origin's retry budget could not pay for it (R46).
func gate(ctx context.Context, wait time.Duration, st *originState, bc *budgetConfig, now time.Time) Stop {
	if dl, ok := ctx.Deadline(); ok && dl.Sub(now) <= wait {
		return StopDeadline
	}
	if st.br != nil {
		if oe := st.br.Peek(); oe != nil && oe.Until.After(now.Add(wait)) {
			return StopCircuitOpen
		}
	}
	if st.budget != nil && !st.budget.allows(bc) {
		return StopBudget
	}
	return ""
}

// finish ends the loop after attempt n of a: a stop before the last
// attempt is reported to GiveUp, and the outcome carries how the loop
// ended, for Attempts.
func (h *hop) finish(a Attempt, resp *http.Response, err error, n int, stop Stop) (*http.Response, error) {
	h.last = a
	if stop.early() && (n < h.policy.MaxAttempts || stop == StopBodyNotReplayable) {
		h.c.giveUp(h.ctx, a, stop)
	}
	if err != nil {
		return nil, h.stopped(err, n, stop)
	}
	if n > 1 || stop != StopSettled {
		resp.Body = &stoppedBody{ReadCloser: resp.Body, n: n, stop: stop}
	}
	return resp, nil
}

// stopped wraps a hop's error with how its loop ended, for Attempts.
func (h *hop) stopped(err error, n int, stop Stop) error {
	return &stoppedError{err: err, n: n, stop: stop}
}

// refused ends a hop whose attempt n the breaker, the budget or the rate
// limit refused (or whose wait for a rate slot the caller's context or
// Close cut short): a hop that made no attempt fails fast; one that did
// returns its last outcome, or the error that cut it short.
func (h *hop) refused(n int, err error, last attemptResult, lastResp *http.Response, lastErr error) (*http.Response, error) {
	if n == 1 {
		closeRequestBody(h.req)
		var oe *breaker.OpenError
		switch {
		case errors.As(err, &oe):
			return nil, h.st.circuitError(oe)
		case errors.Is(err, context.Canceled):
			// Cut short while waiting for a rate slot (R69).
			return nil, h.stopped(err, 0, StopCanceled)
		case errors.Is(err, context.DeadlineExceeded):
			return nil, h.stopped(err, 0, StopDeadline)
		}
		return nil, err
	}
	stop := StopCircuitOpen
	switch {
	case err == errBudgetSpent:
		stop = StopBudget
	case errors.As(err, new(*RateLimitError)):
		stop = StopRateLimited
	case errors.As(err, new(*ConcurrencyLimitError)):
		stop = StopConcurrencyLimited
	case errors.Is(err, ErrClosed):
		stop = StopClosed
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The caller's context ended during a wait for a rate slot.
		closeResponse(lastResp)
		stop = StopCanceled
		if errors.Is(err, context.DeadlineExceeded) {
			stop = StopDeadline
		}
		return h.finish(last.a, nil, err, n-1, stop)
	}
	if stop == StopClosed {
		closeResponse(lastResp)
		return h.finish(last.a, nil, err, n-1, stop)
	}
	return h.finish(last.a, lastResp, lastErr, n-1, stop)
}

// rateGate runs the rate limit for one attempt (R69): nothing when it is
// off; an open circuit first (Peek takes nothing), so that no slot is
// waited for in vain; then the slot, and the wait for it, which the
// caller's context and Close cut short.
func (h *hop) rateGate() (rateTaken, error) {
	if h.c.reg.rate == nil {
		return 0, nil
	}
	if h.st.br != nil {
		if oe := h.st.br.Peek(); oe != nil {
			return 0, oe
		}
	}
	wait, took, err := h.takeRate(h.rateWait())
	if err != nil {
		return 0, err
	}
	if wait > 0 {
		if err := h.t.wait(h.ctx, wait); err != nil {
			h.giveRate(took)
			return 0, err
		}
	}
	return took, nil
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
			return fmt.Errorf("httpclient: waiting: %w", ctx.Err())
		case <-t.c.closeCh:
			return fmt.Errorf("httpclient: waiting: %w", ErrClosed)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("httpclient: waiting: %w", err)
	}
	if t.c.closed.Load() {
		return fmt.Errorf("httpclient: waiting: %w", ErrClosed)
	}
	return nil
}
