package httpclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/tempestsdk/tempest/concurrency"
)

// ConcurrencyLimit limits the attempts in flight to each origin (R75), so
// that a slow or saturated upstream cannot pile up the caller's goroutines,
// connections and memory. Retries and hedges take slots like first
// attempts. A full origin queues a few callers briefly, then refuses with a
// *ConcurrencyLimitError, which the breaker does not count and which is not
// retried.
type ConcurrencyLimit struct {
	// Fixed, when positive, is each origin's limit. Zero: the limit is
	// adaptive (concurrency.Adaptive, R74). Negative is an error.
	Fixed int
	// Initial is where an adaptive limit starts for each origin, kept
	// within Adaptive's Min and Max. Default concurrency.DefaultInitial
	// (64). Ignored with Fixed; negative is an error.
	Initial int
	// Adaptive tunes the adaptive limit; zero fields are its defaults.
	// Ignored with Fixed.
	Adaptive concurrency.Adaptive
	// Queue is how many calls per origin may wait for a slot. Default
	// DefaultConcurrencyQueue; NoQueue for none (a full origin refuses at
	// once).
	Queue int
	// MaxWait is the longest a call waits in the queue. Default
	// DefaultConcurrencyMaxWait.
	MaxWait time.Duration
	// MinLeft is the least time before the caller's deadline that a call
	// admitted from the queue must still have: a wait ends that long
	// before the deadline, and a caller with less left is refused at once
	// rather than queued. Default DefaultConcurrencyMinLeft.
	MinLeft time.Duration
}

// Defaults of ConcurrencyLimit.
const (
	DefaultConcurrencyQueue   = 16
	DefaultConcurrencyMaxWait = 50 * time.Millisecond
	DefaultConcurrencyMinLeft = 50 * time.Millisecond
	// NoQueue as ConcurrencyLimit.Queue: a full origin refuses at once.
	NoQueue = -1
)

// WithConcurrencyLimit limits each origin's attempts in flight (R75). Off
// by default.
func WithConcurrencyLimit(l ConcurrencyLimit) Option {
	return func(c *config) { c.conc = &l }
}

// resolve checks l and returns the settings of each origin's limiter.
func (l ConcurrencyLimit) resolve() (concurrency.Settings, error) {
	s := concurrency.Settings{Limit: l.Fixed, Queue: l.Queue, MaxWait: l.MaxWait, MinLeft: l.MinLeft}
	switch {
	case l.Fixed < 0 || l.Initial < 0:
		return s, fmt.Errorf("%w: ConcurrencyLimit.Fixed %d and Initial %d must not be negative", ErrInvalidConfig, l.Fixed, l.Initial)
	case l.Queue < NoQueue:
		return s, fmt.Errorf("%w: ConcurrencyLimit.Queue %d: want NoQueue, 0 for the default, or more", ErrInvalidConfig, l.Queue)
	case l.MaxWait < 0 || l.MinLeft < 0:
		return s, fmt.Errorf("%w: ConcurrencyLimit.MaxWait %v and MinLeft %v must not be negative", ErrInvalidConfig, l.MaxWait, l.MinLeft)
	}
	switch l.Queue {
	case 0:
		s.Queue = DefaultConcurrencyQueue
	case NoQueue:
		s.Queue = 0
	}
	if s.MaxWait == 0 {
		s.MaxWait = DefaultConcurrencyMaxWait
	}
	if s.MinLeft == 0 {
		s.MinLeft = DefaultConcurrencyMinLeft
	}
	if l.Fixed == 0 {
		a := l.Adaptive
		s.Adaptive = &a
		s.Limit = l.Initial // 0: DefaultInitial
	}
	if _, err := concurrency.New(s); err != nil {
		return s, fmt.Errorf("%w: ConcurrencyLimit: %w", ErrInvalidConfig, err)
	}
	return s, nil
}

// ErrConcurrencyLimited is what a *ConcurrencyLimitError answers to
// errors.Is. It is concurrency.ErrLimited, so either name matches.
var ErrConcurrencyLimited = concurrency.ErrLimited

// ConcurrencyLimitError is the error of a call whose attempt found its
// origin's concurrency limit full (R75): no slot was free, and none freed
// within the queue's wait. Nothing was sent. It is not an upstream
// failure: the breaker does not count it, and it is not retried.
type ConcurrencyLimitError struct {
	Origin   string // normalised scheme://host:port
	Limit    int    // the origin's limit when the call was refused
	InFlight int    // its attempts in flight then
	Queued   bool   // the call waited in the queue before it was refused
}

func (e *ConcurrencyLimitError) Error() string {
	how := "no slot free"
	if e.Queued {
		how = "no slot freed in time"
	}
	return fmt.Sprintf("httpclient: concurrency limit %d reached for %s (%d in flight): %s", e.Limit, e.Origin, e.InFlight, how)
}

// Unwrap returns ErrConcurrencyLimited.
func (e *ConcurrencyLimitError) Unwrap() error { return ErrConcurrencyLimited }

// ConcurrencyLimits returns the concurrency limiter's state of every origin
// the client keeps, by normalised origin; nil when the limit is off. It is
// a pure read.
func (c *Client) ConcurrencyLimits() map[string]concurrency.Snapshot {
	if c.reg.conc == nil {
		return nil
	}
	states := c.reg.states()
	out := make(map[string]concurrency.Snapshot, len(states))
	for _, s := range states {
		if s.conc != nil {
			out[s.origin] = s.conc.Snapshot()
		}
	}
	return out
}

// SetConcurrencyLimit sets origin's concurrency limit to n, for an
// operator: a fixed limit keeps it, an adaptive one goes on from it within
// its Min and Max. origin is any URL of the origin. The value outlives the
// origin's state: when an idle origin's state is dropped (WithOriginLimit)
// and made again, it starts from n. The error wraps ErrInvalidRequest when
// n is not positive, origin is not an http or https URL, the limit is off,
// or limits were set for as many origins as WithOriginLimit's maxOrigins.
func (c *Client) SetConcurrencyLimit(origin string, n int) error {
	if c.reg.conc == nil {
		return fmt.Errorf("%w: SetConcurrencyLimit: the concurrency limit is off", ErrInvalidRequest)
	}
	if n <= 0 {
		return fmt.Errorf("%w: SetConcurrencyLimit: limit %d must be positive", ErrInvalidRequest, n)
	}
	norm, err := parseOrigin(origin)
	if err != nil {
		return err
	}
	_, err = c.reg.pinConc(norm, n)
	return err
}

// ConcurrencyLimit returns the concurrency limiter's state of one origin;
// origin is any URL of the origin. It is a pure read: an origin the client
// keeps no state for is reported at its starting limit, with nothing in
// flight, and no state is made for it. The error wraps ErrInvalidRequest
// when origin is not an http or https URL, or the limit is off.
func (c *Client) ConcurrencyLimit(origin string) (concurrency.Snapshot, error) {
	if c.reg.conc == nil {
		return concurrency.Snapshot{}, fmt.Errorf("%w: ConcurrencyLimit: the concurrency limit is off", ErrInvalidRequest)
	}
	norm, err := parseOrigin(origin)
	if err != nil {
		return concurrency.Snapshot{}, err
	}
	if s := c.reg.live(norm); s != nil && s.conc != nil {
		return s.conc.Snapshot(), nil
	}
	fresh, _ := concurrency.New(*c.reg.conc) // validated by New; what a new origin starts with
	if n, ok := c.reg.concPin(norm); ok {
		fresh.SetLimit(n)
	}
	return fresh.Snapshot(), nil
}

// concGate takes a concurrency slot for one attempt (R75): nothing when the
// limit is off; a free slot at once; otherwise, an open circuit first (Peek
// takes nothing), so that nobody queues for an attempt the breaker would
// refuse, then the queue, whose wait the caller's context and Close cut
// short. A hedge (wait false) never queues.
func (h *hop) concGate(wait bool) (concurrency.Permit, error) {
	l := h.st.conc
	if l == nil {
		return concurrency.Permit{}, nil
	}
	if p, ok := l.TryAcquire(); ok {
		return p, nil
	}
	if !wait {
		return concurrency.Permit{}, errNoHedge
	}
	if h.st.br != nil {
		if oe := h.st.br.Peek(); oe != nil {
			return concurrency.Permit{}, oe
		}
	}
	if h.c.closed.Load() {
		return concurrency.Permit{}, fmt.Errorf("httpclient: waiting for a concurrency slot: %w", ErrClosed)
	}
	ctx, cancel := context.WithCancelCause(h.ctx)
	stop := context.AfterFunc(h.c.closeCtx, func() { cancel(ErrClosed) })
	p, err := l.Acquire(ctx)
	stop()
	cancel(nil)
	if err == nil {
		return p, nil
	}
	var le *concurrency.LimitedError
	switch {
	case errors.As(err, &le):
		return p, &ConcurrencyLimitError{Origin: h.st.origin, Limit: le.Limit, InFlight: le.InFlight, Queued: le.Queued}
	case h.ctx.Err() == nil && context.Cause(ctx) == ErrClosed:
		return p, fmt.Errorf("httpclient: waiting for a concurrency slot: %w", ErrClosed)
	}
	return p, fmt.Errorf("httpclient: waiting for a concurrency slot: %w", h.ctx.Err())
}

// sampleResponse gives an adaptive limit an attempt's latency to its
// response headers; an upstream that shed the attempt (429, 503) counts as
// a drop.
func sampleResponse(p concurrency.Permit, rtt time.Duration, status int) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		p.Dropped(rtt)
		return
	}
	p.Record(rtt)
}

// slotBody holds an attempt's concurrency slot until its body is read to
// the end or closed (R75), for an attempt whose deadline is the caller's;
// the permit's ReleaseAfter gives the slot back at that deadline if the
// body is never closed.
type slotBody struct {
	rc io.ReadCloser
	p  concurrency.Permit
}

func (b *slotBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.done()
	}
	return n, err
}

func (b *slotBody) Close() error {
	err := b.rc.Close()
	b.done()
	return err
}

func (b *slotBody) done() { b.p.Release() }
