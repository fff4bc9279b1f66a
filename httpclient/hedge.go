package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
)

// HedgePolicy sends extra copies of a slow idempotent request: when an
// attempt has no response headers after Delay, one more attempt starts in
// parallel, up to MaxHedges extra. The first settled outcome (one the rules
// would not retry, such as a 200 or a 404) wins; the others are cancelled,
// their bodies drained and closed. Hedges draw on the retry
// budget, and a cancelled hedge counts for nothing in the breaker.
type HedgePolicy struct {
	// Delay before each hedge. Pick about the p95 latency of the upstream.
	// Must be positive, and at least 1ms (less is a unit slip).
	Delay time.Duration
	// MaxHedges is how many extra attempts may run beside the first.
	// Default 1. Negative or over 16 is an error.
	MaxHedges int
}

// WithHedging turns hedging on for requests that may be sent again (GET,
// HEAD, OPTIONS, TRACE, PUT, DELETE, and those with an Idempotency-Key or
// Idempotent) and whose body can be replayed. It is off by default;
// NoHedge turns it off for one call.
func WithHedging(p HedgePolicy) Option {
	return func(c *config) {
		if p.Delay <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: HedgePolicy.Delay %v must be positive", ErrInvalidConfig, p.Delay))
			return
		}
		if msg := unitSlip(fmt.Sprintf("HedgePolicy.Delay (%v)", p.Delay), p.Delay); msg != "" {
			c.errs = append(c.errs, fmt.Errorf("%w: %s", ErrInvalidConfig, msg))
			return
		}
		if p.MaxHedges < 0 || p.MaxHedges > maxHedges {
			c.errs = append(c.errs, fmt.Errorf("%w: HedgePolicy.MaxHedges %d is outside 0 to %d", ErrInvalidConfig, p.MaxHedges, maxHedges))
			return
		}
		if p.MaxHedges == 0 {
			p.MaxHedges = 1
		}
		c.hedge = p
	}
}

// maxHedges bounds HedgePolicy.MaxHedges: each hedge is a whole extra
// request, and a race keeps a slot for every racer.
const maxHedges = 16

// NoHedge turns hedging off for this call.
func NoHedge() SendOption {
	return func(s *sendOptions) { s.noHedge = true }
}

// errNoHedge is a hedge not started: the breaker admitted it as a probe, or
// the budget could not pay for it.
var errNoHedge = errors.New("httpclient: no hedge")

// errHedgeLost is the cancellation cause of attempts that lost a hedge race.
// It wraps context.Canceled, so that a lost racer's AttemptDone reports class
// canceled, not a failure (R48).
var errHedgeLost = fmt.Errorf("httpclient: hedge lost the race: %w", context.Canceled)

// settled reports an attempt outcome that ends the race: anything the retry
// rules would not retry.
func (h *hop) settled(r *attemptResult) bool {
	if r.callerEnded || r.callerFault {
		return true
	}
	if r.err != nil {
		return !retryableError(r.err)
	}
	return !retryableStatus(r.resp.StatusCode)
}

// hedged runs attempt n with hedges: after each Delay without a settled
// outcome, one more racer starts, up to MaxHedges, each admitted by the
// breaker and paid from the retry budget. It returns the first settled
// outcome, or the last failure once every racer has failed. refused is the
// breaker's refusal when not even the first racer was admitted.
func (h *hop) hedged(n int) (res attemptResult, refused error) {
	return h.onHeap().race(n)
}

// race is hedged on a hop that racers may keep.
func (h *hop) race(n int) (res attemptResult, refused error) {
	results := make(chan attemptResult, 1+h.hedge.MaxHedges)
	var cancels []context.CancelCauseFunc
	hedging := true
	launch := func(k int) error {
		if k > 0 && h.c.closed.Load() {
			return ErrClosed // no hedge starts after Close (R30)
		}
		// The rate limit first (R69): the attempt itself may wait for
		// its slot; a hedge whose slot is not free is not sent.
		var took rateTaken
		if k == 0 {
			t, err := h.rateGate()
			if err != nil {
				return err
			}
			took = t
		} else if h.c.reg.rate != nil {
			_, t, err := h.takeRate(0)
			if err != nil {
				return errNoHedge
			}
			took = t
		}
		// Then the concurrency limit (R75): a hedge takes a free slot
		// or is not sent.
		permit, err := h.concGate(k == 0)
		if err != nil {
			h.giveRate(took)
			return err
		}
		ticket, err := h.admit()
		if err != nil {
			permit.Release()
			h.giveRate(took)
			return err
		}
		switch {
		case ticket.Probe() && k > 0:
			// No hedge while half-open (R48): a recovering upstream
			// gets one request per probe slot, not two.
			ticket.Done(breaker.Ignore)
			permit.Release()
			h.giveRate(took)
			return errNoHedge
		case ticket.Probe():
			hedging = false
		}
		body, err := h.body(n, k)
		if err != nil {
			ticket.Done(breaker.Ignore)
			permit.Release()
			h.giveRate(took)
			if k == 0 {
				return &bodyReplayError{err}
			}
			hedging = false
			return errNoHedge
		}
		// A retry or a hedge is paid for only once the breaker has
		// admitted it and its body is ready (R46): a refused hedge
		// costs nothing.
		if (k > 0 || n > 1) && !h.spend() {
			ticket.Done(breaker.Ignore)
			permit.Release()
			h.giveRate(took)
			closeBody(body)
			if k == 0 {
				return errBudgetSpent
			}
			return errNoHedge
		}
		if k == 0 && n == 1 {
			h.countCall()
		}
		rctx, cancel := context.WithCancelCause(h.ctx)
		cancels = append(cancels, cancel)
		go h.racer(results, rctx, cancel, n, k, ticket, body, permit)
		return nil
	}
	if err := launch(0); err != nil {
		var be *bodyReplayError
		if errors.As(err, &be) {
			return attemptResult{err: be.err, callerFault: true, replayFailed: true}, nil
		}
		return attemptResult{}, err
	}
	timer := time.NewTimer(h.hedge.Delay)
	defer timer.Stop()
	pending := 1
	var last *attemptResult
	for {
		select {
		case r := <-results:
			pending--
			if last != nil {
				closeResponse(last.resp)
				last = nil
			}
			if h.settled(&r) || pending == 0 {
				h.abandon(cancels, r.hedge, results, pending)
				return r, nil
			}
			last = &r
		case <-timer.C:
			if hedging && len(cancels) <= h.hedge.MaxHedges && launch(len(cancels)) == nil {
				pending++
			}
			if hedging && len(cancels) <= h.hedge.MaxHedges && !h.c.closed.Load() {
				timer.Reset(h.hedge.Delay)
			}
		case <-h.ctx.Done():
			// The caller's context ended: it gets control back now,
			// even from a RoundTripper that does not watch it.
			h.abandon(cancels, -1, results, pending)
			if last != nil {
				closeResponse(last.resp)
			}
			return attemptResult{err: h.ctx.Err(), callerEnded: true}, nil
		}
	}
}

// bodyReplayError is the first racer's request body failing to build: the
// caller's, returned as it is.
type bodyReplayError struct{ err error }

func (e *bodyReplayError) Error() string { return e.err.Error() }
func (e *bodyReplayError) Unwrap() error { return e.err }

func closeBody(b io.ReadCloser) {
	if b != nil {
		b.Close()
	}
}

// racer runs one attempt of a race on its own goroutine. attempt recovers
// what user code may throw (the RoundTripper, hooks); this recover is the
// last guard, so that no goroutine of the client can end the process, and
// the race still gets a result to wait for.
func (h *hop) racer(results chan<- attemptResult, ctx context.Context, cancel context.CancelCauseFunc, n, k int, ticket breaker.Ticket, body io.ReadCloser, permit concurrency.Permit) {
	sent := false
	defer func() {
		if sent {
			return
		}
		// A panic, or runtime.Goexit in user code (t.FailNow in a fake
		// transport): the race still gets a result, or it would wait
		// forever. results has room for every racer.
		err := errors.New("httpclient: hedged attempt ended without a result")
		if v := recover(); v != nil {
			h.c.logPanic(ctx, "hedge", v)
			err = fmt.Errorf("httpclient: hedged attempt panicked: %v", v)
		}
		cancel(nil)
		ticket.Done(breaker.Ignore) // a no-op if the attempt reported already
		permit.Release()
		results <- attemptResult{err: err, hedge: k, result: AttemptResult{Err: err, Class: ClassOther, Outcome: breaker.Ignore}}
	}()
	r := h.attempt(ctx, cancel, n, k, ticket, body, permit)
	sent = true
	results <- r
}

// onHeap returns a copy of h that goroutines may keep, so that the hop of
// the common, unhedged path stays on its caller's stack.
func (h *hop) onHeap() *hop {
	hh := new(hop)
	*hh = *h
	return hh
}

// abandon cancels the racers still running and, off the caller's path,
// drains and closes whatever they return.
func (h *hop) abandon(cancels []context.CancelCauseFunc, winner int, results chan attemptResult, pending int) {
	if pending == 0 {
		return
	}
	for k, cancel := range cancels {
		if k != winner {
			cancel(errHedgeLost)
		}
	}
	go func() {
		for range pending {
			r := <-results
			func() {
				defer func() { _ = recover() }() // a body's Read or Close is not ours
				closeResponse(r.resp)
			}()
		}
	}()
}

// hedgeable reports whether this hop may hedge: hedging on, the call not
// opted out, an idempotent request whose body can be replayed.
func (h *hop) hedgeable(so *sendOptions) bool {
	return h.hedge.Delay > 0 && (so == nil || !so.noHedge) && h.idempotent &&
		(h.req.Body == nil || h.req.Body == http.NoBody || h.req.GetBody != nil)
}
