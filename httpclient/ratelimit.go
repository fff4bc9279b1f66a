package httpclient

import (
	"errors"
	"fmt"
	"time"

	"github.com/tempestsdk/tempest/ratelimit"
)

// RateLimit limits the attempts a client sends (R69): retries and hedges
// draw on it like first attempts. An attempt is admitted by the rate limit
// first, then by the breaker, then by the retry budget; a gate that refuses
// gives back what the ones before it granted, and the budget is spent only
// once the attempt is admitted. An open circuit is noticed before the rate
// limit is asked, so that a call does not wait for a slot it cannot use.
type RateLimit struct {
	// PerOrigin is each origin's own limit: a limiter per origin, kept in
	// the client's per-origin state (and dropped with it). A zero Rate
	// means none.
	PerOrigin ratelimit.Limit
	// Gate is one limit shared by every call of the client, whatever its
	// origin: an account's quota, one key's. A *ratelimit.Limiter, or a
	// limiter shared with other processes. Nil means none. With both, an
	// attempt takes from PerOrigin first, then from Gate.
	Gate ratelimit.Gate
	// FailFast refuses an attempt whose slot is not free at once. Without
	// it, an attempt waits for its slot, but never past the call's
	// deadline and never longer than MaxWait: a wait that would end later
	// is refused at once. Either way the refusal is a *RateLimitError
	// saying when to retry. Hedges never wait: a hedge whose slot is not
	// free is not sent.
	FailFast bool
	// MaxWait is the longest an attempt waits for its slot. Default: the
	// call's attempt timeout (the client's, or Timeout(d)'s; the client's
	// with NoTimeout). Negative is an error.
	MaxWait time.Duration
}

// WithRateLimit limits the attempts the client sends (R69). Off by default.
func WithRateLimit(r RateLimit) Option {
	return func(c *config) { c.rate = r }
}

// rateConfig is a client's RateLimit, resolved.
type rateConfig struct {
	perOrigin ratelimit.Limit // Rate 0: none
	gate      ratelimit.Gate
	failFast  bool
	maxWait   time.Duration // 0: the call's attempt timeout
}

func (r RateLimit) resolve() (*rateConfig, error) {
	if r.PerOrigin == (ratelimit.Limit{}) && r.Gate == nil {
		return nil, nil
	}
	if r.MaxWait < 0 {
		return nil, fmt.Errorf("%w: RateLimit.MaxWait %v is negative", ErrInvalidConfig, r.MaxWait)
	}
	if r.PerOrigin != (ratelimit.Limit{}) {
		if _, err := ratelimit.New(r.PerOrigin); err != nil {
			return nil, fmt.Errorf("%w: RateLimit.PerOrigin: %w", ErrInvalidConfig, err)
		}
	}
	return &rateConfig{perOrigin: r.PerOrigin, gate: r.Gate, failFast: r.FailFast, maxWait: r.MaxWait}, nil
}

// ErrRateLimited is what a *RateLimitError answers to errors.Is; it is
// ratelimit.ErrLimited, so either name matches.
var ErrRateLimited = ratelimit.ErrLimited

// RateLimitError is the error of a call whose attempt the client's rate
// limit refused (R69). It is the caller's own limit, not the upstream's
// answer: the breaker does not count it, and it is not retried.
type RateLimitError struct {
	Origin string // normalised scheme://host:port
	// RetryAfter is how long from the refusal until the limit would admit
	// an attempt at once, if nothing else took the slot first.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("httpclient: rate limited for %s; retry after %v", e.Origin, e.RetryAfter)
}

// Unwrap returns ErrRateLimited.
func (e *RateLimitError) Unwrap() error { return ErrRateLimited }

// rateTaken records what takeRate took, for giveRate.
type rateTaken uint8

const (
	tookOrigin rateTaken = 1 << iota
	tookGate
)

// takeRate asks the rate limits for one attempt: the origin's, then the
// gate; a refusal by the gate gives the origin's back. maxWait 0 is fail
// fast. It returns the wait the attempt must sleep before it is sent.
func (h *hop) takeRate(maxWait time.Duration) (wait time.Duration, took rateTaken, err error) {
	rc := h.c.reg.rate
	now := time.Now()
	if l := h.st.limiter; l != nil {
		w, err := l.Take(h.ctx, now, maxWait)
		if err != nil {
			return 0, 0, h.rateError(err)
		}
		wait, took = w, tookOrigin
	}
	if rc.gate != nil {
		// Asked for the moment the origin's slot comes, so that the
		// shared slot is not spent while this attempt still waits for
		// its own (Gate.Take's now may be in the future).
		w, err := safeTake(rc.gate, h, now.Add(wait), maxWait-wait)
		if err == nil {
			wait, took = wait+w, took|tookGate
		} else if refused(err) {
			h.giveRate(took)
			return 0, 0, h.rateError(err)
		}
		// A Gate's other errors are its own failures (a shared store
		// out of reach): the attempt is not held back for them.
	}
	return wait, took, nil
}

// refused reports a Gate's refusal, as opposed to a failure of its own.
// Apart, so that the success path's error variable does not escape.
func refused(err error) bool {
	var le *ratelimit.LimitedError
	return errors.As(err, &le)
}

// safeTake asks a Gate, which is user code: a panic or a negative wait is
// an admission with no wait, so that a broken limiter cannot break calls.
func safeTake(g ratelimit.Gate, h *hop, now time.Time, maxWait time.Duration) (wait time.Duration, err error) {
	defer func() {
		if v := recover(); v != nil {
			h.c.logPanic(h.ctx, "RateLimit.Gate.Take", v)
			wait, err = 0, nil
		}
	}()
	wait, err = g.Take(h.ctx, now, maxWait)
	if err == nil && (wait < 0 || wait > maxWait) {
		wait = min(max(wait, 0), maxWait)
	}
	return wait, err
}

// giveRate gives back what takeRate took, for an attempt that will not be
// sent: a later gate refused it, or its wait was cut short.
func (h *hop) giveRate(took rateTaken) {
	if took == 0 {
		return
	}
	now := time.Now()
	if took&tookOrigin != 0 {
		h.st.limiter.Return(now)
	}
	if took&tookGate != 0 {
		func() {
			defer func() {
				if v := recover(); v != nil {
					h.c.logPanic(h.ctx, "RateLimit.Gate.Return", v)
				}
			}()
			h.c.reg.rate.gate.Return(now)
		}()
	}
}

// rateError is a limiter's refusal as the client reports it.
func (h *hop) rateError(err error) error {
	var le *ratelimit.LimitedError
	errors.As(err, &le)
	e := &RateLimitError{Origin: h.st.origin}
	if le != nil {
		e.RetryAfter = max(le.RetryAfter, 0) // a Gate may say anything
	}
	return e
}

// rateWait is how long an attempt of this hop may wait for its slot: 0
// when failing fast, else MaxWait cut to the caller's deadline.
func (h *hop) rateWait() time.Duration {
	rc := h.c.reg.rate
	if rc.failFast {
		return 0
	}
	w := rc.maxWait
	if w == 0 {
		w = h.timeout // the call's, Timeout(d) included
	}
	if dl, ok := h.ctx.Deadline(); ok {
		w = min(w, time.Until(dl))
	}
	return max(w, 0)
}
