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

// Hooks observe a client's work. Every field is optional. Payloads carry
// no query and no header value; a hook that needs the request ID reads it
// from ctx with requestid.FromContext.
//
// Hooks run outside every lock of the client and of its breakers, so a hook
// may call any method of the client. AttemptStart and AttemptDone run on
// the goroutine that makes the attempt: the caller's, or, for a hedged
// attempt, one of the client's; CallStart, CallDone, Retry and GiveUp run
// on the caller's; StateChange runs on whichever goroutine made or delivers
// the change. A hook that panics is recovered (and logged when a logger is
// set) and the call goes on as if the hook were absent.
//
// An attempt is one RoundTrip of the underlying transport. net/http's
// *http.Transport may itself resend an idempotent request once when a reused
// keep-alive connection fails before any response byte; the upstream then
// sees two hits for one attempt, and the hooks and the breaker see only the
// second.
type Hooks struct {
	// CallStart runs when a request enters the retry loop, once it is
	// valid and before the breaker is asked: once per request of a
	// redirect chain, around all of its attempts, waits and hedges. The
	// context returned (a nil one leaves ctx) becomes the call's: every
	// attempt's context and the other hooks' of this call derive from it,
	// so a span started here is the parent of the attempts' spans. Only
	// its values count: the call keeps ctx's deadline and cancellation,
	// so that a hook cannot end a call or stretch it. req is
	// nil, and Call.Max 0, for a call of the verbs that an open circuit
	// refused before its request was built (R18, R64).
	CallStart func(ctx context.Context, req *http.Request, c Call) context.Context
	// CallDone runs when the call's outcome is decided: the response to
	// return (its headers) or the error, after the call's last attempt and
	// every hook of its attempts but a lost hedge's, whose AttemptDone may
	// come later. It runs for every call CallStart saw, a call the open
	// circuit refused included (R64).
	CallDone func(ctx context.Context, c Call, r CallResult)
	// AttemptStart runs before each attempt is sent. req is the attempt's own
	// copy: a tracing integration may set headers on it. The context returned
	// becomes the attempt's context (a nil one leaves ctx), so a span started
	// here ends in AttemptDone with the same context.
	AttemptStart func(ctx context.Context, req *http.Request, a Attempt) context.Context
	// AttemptDone runs when the attempt's outcome is decided: its response
	// headers arrived or it failed.
	AttemptDone func(ctx context.Context, a Attempt, r AttemptResult)
	// Retry runs before each wait between attempts.
	Retry func(ctx context.Context, e RetryEvent)
	// GiveUp runs when a request's retry loop stops although the outcome
	// was one to retry and the policy allowed more attempts: why is any
	// Stop but StopSettled and StopExhausted. a is the last attempt made;
	// for StopBodyNotReplayable, a.Max is 1, since such a request gets one
	// attempt.
	GiveUp func(ctx context.Context, a Attempt, why Stop)
	// StateChange runs after the breaker of origin (scheme://host:port)
	// changes state: one call at a time, in generation order. The change
	// an attempt causes may be reported before that attempt's AttemptDone.
	StateChange func(origin string, ch breaker.Change)
	// LimitChange runs after the adaptive concurrency limit of origin
	// changes (R75), on the goroutine of the attempt whose latency moved
	// it, outside every lock of the client. It must not block.
	LimitChange func(origin string, from, to int)
}

// Call describes one request through the retry loop (one request of a
// redirect chain).
type Call struct {
	Method string // as given (methods are case-sensitive); "GET" for an empty one
	Origin string // normalised scheme://host:port
	Path   string // escaped path, no query
	Max    int    // as Attempt.Max; 0 for a call refused before its request was built
}

// CallResult is the outcome of one call, as CallDone sees it.
type CallResult struct {
	// Status is the status of the response returned; 0 when Err is set.
	Status int
	// Err is the error returned: a *CircuitOpenError for a call the open
	// circuit refused.
	Err error
	// Attempts and Stop are what Attempts reports for this outcome:
	// attempts made (0 when none was sent) and why the loop ended.
	Attempts int
	Stop     Stop
	// Last is the attempt whose outcome was returned; its Hedge is the
	// winning racer of a hedged attempt. It is zero when the loop ended
	// before any attempt's outcome was decided (Attempts is 0, or the
	// caller's context ended mid-attempt).
	Last Attempt
	// Duration is from CallStart to the outcome.
	Duration time.Duration
}

// Attempt describes one attempt as admitted.
type Attempt struct {
	Method string `json:"method"`
	Origin string `json:"origin"` // normalised scheme://host:port
	Path   string `json:"path"`   // escaped path, no query
	N      int    `json:"n"`      // 1 for the first attempt of a request
	Max    int    `json:"max"`    // the most attempts the policy allows this request (1 for a body that cannot be replayed); one that may not be sent again stops sooner
	Hedge  int    `json:"hedge"`  // 0 for the attempt itself, k for its k-th hedge
	// Breaker is the breaker's state decided at admission
	// (breaker.Closed, or breaker.HalfOpen for a probe), Generation the
	// breaker's generation then (it grows by one at each state change), and
	// Probe whether the attempt is a half-open probe; all zero when the
	// breaker is disabled.
	Breaker    breaker.State `json:"breaker"`
	Generation uint64        `json:"generation"`
	Probe      bool          `json:"probe"`
}

// AttemptResult is the outcome of one attempt.
type AttemptResult struct {
	Status   int           // 0 when Err is set
	Err      error         // the transport's error
	Duration time.Duration // from sending to response headers or failure; 0 unless AttemptDone, a logger or a slow-call threshold wants it
	Class    Class         // "" for a success, ClassStatus for a 4xx or 5xx response
	Outcome  breaker.Outcome
}

// RetryEvent describes a wait before the next attempt.
type RetryEvent struct {
	Attempt Attempt       // the attempt that failed
	Result  AttemptResult // its outcome
	Wait    time.Duration // the wait that follows
	// RetryAfter is true when the wait came from a Retry-After header.
	RetryAfter bool
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
func (c *Client) retryIf(ctx context.Context, f func(Attempt, *http.Response, error, bool) bool, a Attempt, resp *http.Response, err error, retryable bool) (retry bool) {
	defer func() {
		if v := recover(); v != nil {
			retry = false
			c.logPanic(ctx, "RetryIf", v)
		}
	}()
	return f(a, resp, err, retryable)
}

func (c *Client) callStart(ctx context.Context, req *http.Request, call Call) context.Context {
	if c.hooks.CallStart == nil {
		return ctx
	}
	out := ctx
	c.safely("CallStart", func() {
		if nc := c.hooks.CallStart(ctx, req, call); nc != nil {
			out = nc
		}
	})
	return out
}

func (c *Client) callDone(ctx context.Context, call Call, r CallResult) {
	if c.hooks.CallDone != nil {
		c.safely("CallDone", func() { c.hooks.CallDone(ctx, call, r) })
	}
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
			slog.Int("attempt", a.N), slog.Duration("duration", r.Duration),
		}
		if r.Class != "" {
			attrs = append(attrs, slog.String("class", string(r.Class)))
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
		attrs := []slog.Attr{slog.String("method", e.Attempt.Method), slog.String("origin", e.Attempt.Origin),
			slog.String("path", e.Attempt.Path), slog.Int("attempt", e.Attempt.N), slog.Duration("wait", e.Wait)}
		if e.Result.Status != 0 {
			attrs = append(attrs, slog.Int("status", e.Result.Status))
		}
		if e.Result.Class != "" {
			attrs = append(attrs, slog.String("class", string(e.Result.Class)))
		}
		c.log(ctx, slog.LevelInfo, "httpclient: retrying", attrs...)
	}
}

func (c *Client) giveUp(ctx context.Context, a Attempt, why Stop) {
	c.giveUps.add(GiveUpRecord{At: time.Now(), Attempt: a, Stop: why})
	if c.hooks.GiveUp != nil {
		c.safely("GiveUp", func() { c.hooks.GiveUp(ctx, a, why) })
	}
	if c.logger != nil {
		c.log(ctx, slog.LevelInfo, "httpclient: giving up early",
			slog.String("method", a.Method), slog.String("origin", a.Origin),
			slog.String("path", a.Path), slog.Int("attempt", a.N),
			slog.String("reason", string(why)))
	}
}

func (c *Client) limitChange(origin string, from, to int, user func(int, int)) {
	if user != nil {
		c.safely("ConcurrencyLimit.Adaptive.OnLimit", func() { user(from, to) })
	}
	if c.hooks.LimitChange != nil {
		c.safely("LimitChange", func() { c.hooks.LimitChange(origin, from, to) })
	}
	if c.logger != nil {
		c.log(context.Background(), slog.LevelDebug, "httpclient: concurrency limit changed",
			slog.String("origin", origin), slog.Int("from", from), slog.Int("to", to))
	}
}

func (c *Client) stateChange(origin string, ch breaker.Change) {
	if c.shared != nil {
		c.publish(origin, ch)
	}
	if c.hooks.StateChange != nil {
		c.safely("StateChange", func() { c.hooks.StateChange(origin, ch) })
	}
	if c.logger != nil {
		c.log(context.Background(), slog.LevelWarn, "httpclient: circuit "+ch.To.String(),
			slog.String("origin", origin), slog.String("from", ch.From.String()),
			slog.String("cause", ch.Cause.String()), slog.Uint64("generation", ch.Generation))
	}
}
