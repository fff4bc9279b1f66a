package httpclient

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// Hooks observe a client's work. Every field is optional. Hooks run outside
// the client's locks, on the caller's goroutine (see StateChange for its
// own); a panicking hook is recovered and logged
// and never breaks a call (R22). Payloads carry no query and no header value
// (R28); a hook that needs the request ID reads it from ctx with
// requestid.FromContext.
//
// An attempt is one RoundTrip of the underlying transport. net/http's
// *http.Transport may itself resend an idempotent request once when a reused
// keep-alive connection fails before any response byte; the upstream then
// sees two hits for one attempt, and the hooks and the breaker see only the
// second.
type Hooks struct {
	// AttemptStart runs before each attempt is sent. req is the attempt's own
	// copy: a tracing integration may set headers on it. The context returned
	// (nil: ctx) becomes the attempt's context, so a span started here ends
	// in AttemptDone with the same context.
	AttemptStart func(ctx context.Context, req *http.Request, a Attempt) context.Context
	// AttemptDone runs when the attempt's outcome is decided: its response
	// headers arrived or it failed.
	AttemptDone func(ctx context.Context, a Attempt, r AttemptResult)
	// Retry runs before each wait between attempts.
	Retry func(ctx context.Context, e RetryEvent)
	// GiveUp runs when a hop ends with a retryable outcome without using all
	// its attempts: Retry-After over the cap, a body too large to buffer, the
	// caller's deadline, a spent retry budget, an open circuit, Close, a
	// method that is not idempotent, a body that cannot be replayed.
	GiveUp func(ctx context.Context, e GiveUpEvent)
	// StateChange runs after a breaker changes state, in order, one call at
	// a time, possibly on another goroutine than the one whose outcome
	// caused the change (R37).
	StateChange func(StateChange)
}

// Attempt describes one attempt as admitted.
type Attempt struct {
	Method string
	Origin string // normalised scheme://host:port
	Path   string // escaped path, no query (R28)
	N      int    // 1 for the first attempt of a hop
	Max    int    // the hop's MaxAttempts
	Hedge  int    // 0 for the attempt itself, k for its k-th hedge (R48)
	// Breaker is the breaker's state decided at admission (Closed, or
	// HalfOpen for a probe), and Generation its generation then (R21); both
	// zero when the breaker is disabled.
	Breaker    breaker.State
	Generation uint64
	Probe      bool
}

// AttemptResult is the outcome of one attempt.
type AttemptResult struct {
	Status   int           // 0 when Err is set
	Err      error         // the transport's error
	Duration time.Duration // from sending to response headers or failure
	Class    string        // see ErrorClass: "" for a success, "status" for a 4xx or 5xx response
	Outcome  breaker.Outcome
}

// RetryEvent describes a wait before the next attempt.
type RetryEvent struct {
	Attempt Attempt       // the attempt that failed
	Wait    time.Duration // the wait that follows
	Reason  string        // status or error class that made it retryable
	// RetryAfter is true when the wait came from a Retry-After header.
	RetryAfter bool
}

// GiveUpEvent says why a hop stopped retrying early.
type GiveUpEvent struct {
	Attempt Attempt // the last attempt made
	// Reason is "retry-after-over-cap", "body-too-large", "deadline",
	// "budget", "circuit-open", "closed", "canceled", or, for a retryable
	// outcome the request itself kept from a retry, "not-idempotent" (a
	// POST or PATCH with no Idempotency-Key, R7) or "body-not-replayable"
	// (R13).
	Reason string
}

// StateChange is a breaker's change of state for one origin.
type StateChange struct {
	Origin     string
	From, To   breaker.State
	Cause      breaker.Cause // what moved it: failures, recovery, a probe's outcome or timeout
	Generation uint64
	At         time.Time
	Until      time.Time // when To is Open: when it half-opens
}

// safely runs f, recovering a panic and logging it when a logger is set
// (R22): a hook never breaks a call, logger or not.
func (c *Client) safely(what string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			c.logPanic(context.Background(), what, v)
		}
	}()
	f()
}

// logPanic logs a panic recovered from user code, with its stack.
func (c *Client) logPanic(ctx context.Context, what string, v any) {
	if c.logger != nil {
		c.log(ctx, slog.LevelError, "httpclient: recovered a panic",
			slog.String("in", what), slog.String("panic", fmt.Sprint(v)), slog.String("stack", string(debug.Stack())))
	}
}

// log writes one record. The logger's handler is user code: a panic in it
// is dropped, so that logging can never break a call.
func (c *Client) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	defer func() { _ = recover() }()
	c.logger.LogAttrs(ctx, level, msg, attrs...)
}

// retryIf asks the policy's RetryIf; a panic in it means "do not retry".
func (c *Client) retryIf(ctx context.Context, f func(*http.Response, error) bool, resp *http.Response, err error) (retry bool) {
	defer func() {
		if v := recover(); v != nil {
			retry = false
			c.logPanic(ctx, "RetryIf", v)
		}
	}()
	return f(resp, err)
}

func (c *Client) attemptStart(ctx context.Context, req *http.Request, a Attempt) context.Context {
	if c.hooks.AttemptStart == nil {
		return ctx
	}
	out := ctx
	c.safely("AttemptStart", func() {
		if nc := c.hooks.AttemptStart(ctx, req, a); nc != nil {
			out = nc
		}
	})
	return out
}

func (c *Client) attemptDone(ctx context.Context, a Attempt, r AttemptResult) {
	if c.hooks.AttemptDone != nil {
		c.safely("AttemptDone", func() { c.hooks.AttemptDone(ctx, a, r) })
	}
	if c.logger != nil && c.debugEnabled(ctx) {
		attrs := []slog.Attr{
			slog.String("method", a.Method), slog.String("origin", a.Origin), slog.String("path", a.Path),
			slog.Int("attempt", a.N), slog.Duration("duration", r.Duration), slog.String("class", r.Class),
		}
		if r.Status != 0 {
			attrs = append(attrs, slog.Int("status", r.Status))
		}
		c.log(ctx, slog.LevelDebug, "httpclient: attempt", attrs...)
	}
}

// debugEnabled asks the logger whether attempts are logged, so that their
// attributes are built only then; a panicking handler means no.
func (c *Client) debugEnabled(ctx context.Context) (on bool) {
	defer func() { _ = recover() }()
	return c.logger.Enabled(ctx, slog.LevelDebug)
}

func (c *Client) retryEvent(ctx context.Context, e RetryEvent) {
	if c.hooks.Retry != nil {
		c.safely("Retry", func() { c.hooks.Retry(ctx, e) })
	}
	if c.logger != nil {
		c.log(ctx, slog.LevelInfo, "httpclient: retrying",
			slog.String("method", e.Attempt.Method), slog.String("origin", e.Attempt.Origin),
			slog.String("path", e.Attempt.Path), slog.Int("attempt", e.Attempt.N),
			slog.String("reason", e.Reason), slog.Duration("wait", e.Wait))
	}
}

func (c *Client) giveUp(ctx context.Context, e GiveUpEvent) {
	if c.hooks.GiveUp != nil {
		c.safely("GiveUp", func() { c.hooks.GiveUp(ctx, e) })
	}
	if c.logger != nil {
		c.log(ctx, slog.LevelInfo, "httpclient: giving up early",
			slog.String("method", e.Attempt.Method), slog.String("origin", e.Attempt.Origin),
			slog.String("path", e.Attempt.Path), slog.Int("attempt", e.Attempt.N),
			slog.String("reason", e.Reason))
	}
}

func (c *Client) stateChange(origin string, ch breaker.Change) {
	sc := StateChange{Origin: origin, From: ch.From, To: ch.To, Cause: ch.Cause, Generation: ch.Generation, At: ch.At, Until: ch.Until}
	if c.hooks.StateChange != nil {
		c.safely("StateChange", func() { c.hooks.StateChange(sc) })
	}
	if c.logger != nil {
		c.log(context.Background(), slog.LevelWarn, "httpclient: circuit "+ch.To.String(),
			slog.String("origin", origin), slog.String("from", ch.From.String()),
			slog.Uint64("generation", ch.Generation))
	}
}
