package httpclient

import (
	"cmp"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// Defaults applied by New; docs/defaults.md gives the reason for each.
const (
	DefaultTimeout          = 10 * time.Second
	DefaultMaxAttempts      = 3
	DefaultBackoffInitial   = 500 * time.Millisecond
	DefaultBackoffMax       = 8 * time.Second
	DefaultJitter           = 0.2
	DefaultFailureThreshold = 5
	DefaultRecovery         = 30 * time.Second
)

// unitSlip returns the complaint about a duration d that is positive but
// under 1ms, "" otherwise. Such a value is almost always an untyped constant
// meant as seconds or milliseconds: WithTimeout(10) is 10ns, and every
// attempt would time out at once (R34).
func unitSlip(what string, d time.Duration) string {
	if d <= 0 || d >= time.Millisecond {
		return ""
	}
	n := int64(d)
	guess := fmt.Sprintf("%d*time.Second", n)
	if n >= 100 { // as likely milliseconds as seconds
		guess = fmt.Sprintf("%d*time.Millisecond or %d*time.Second", n, n)
	}
	return fmt.Sprintf("%s: under 1ms; did you mean %s?", what, guess)
}

// Option configures a Client in New. Build options only with this package's
// With functions; a nil Option is ignored, and among repeated options the last
// wins.
type Option func(*config)

// RetryPolicy says how often and how patiently a call is retried. Zero fields
// take the defaults noted on each.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts per hop, the first included; 1
	// disables retries. Default 3. Negative is an error.
	MaxAttempts int
	// BackoffInitial is the wait before the second attempt; each later wait
	// doubles, up to BackoffMax. Default 500ms, or BackoffMax if that is set
	// and smaller. Negative is an error.
	BackoffInitial time.Duration
	// BackoffMax caps every wait, and a Retry-After asking for more ends the
	// call with that response instead (R9). Default 8s, or BackoffInitial if
	// that is set and larger. Negative, or smaller than a set BackoffInitial,
	// is an error.
	BackoffMax time.Duration
	// Jitter is the fraction by which a computed wait may be shortened at
	// random, so that many clients do not retry in step (R8). Default 0.2;
	// negative disables jitter; above 0.5 is an error.
	Jitter float64
	// RetryIf, when set, is asked about each outcome the rules would retry; it
	// can only narrow them (R7): returning false stops retrying. resp is nil
	// when err is not.
	RetryIf func(resp *http.Response, err error) bool
}

// resolve applies the defaults and validates p.
func (p RetryPolicy) resolve() (RetryPolicy, error) {
	if p.MaxAttempts < 0 {
		return p, fmt.Errorf("%w: RetryPolicy.MaxAttempts %d is negative", ErrInvalidConfig, p.MaxAttempts)
	}
	if p.BackoffInitial < 0 {
		return p, fmt.Errorf("%w: RetryPolicy.BackoffInitial %v is negative", ErrInvalidConfig, p.BackoffInitial)
	}
	if p.BackoffMax < 0 {
		return p, fmt.Errorf("%w: RetryPolicy.BackoffMax %v is negative", ErrInvalidConfig, p.BackoffMax)
	}
	if p.BackoffInitial > 0 && p.BackoffMax > 0 && p.BackoffMax < p.BackoffInitial {
		return p, fmt.Errorf("%w: RetryPolicy.BackoffMax %v is below BackoffInitial %v", ErrInvalidConfig, p.BackoffMax, p.BackoffInitial)
	}
	if p.Jitter > 0.5 || p.Jitter != p.Jitter {
		return p, fmt.Errorf("%w: RetryPolicy.Jitter %v is above 0.5", ErrInvalidConfig, p.Jitter)
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	switch {
	case p.BackoffInitial == 0 && p.BackoffMax == 0:
		p.BackoffInitial, p.BackoffMax = DefaultBackoffInitial, DefaultBackoffMax
	case p.BackoffInitial == 0:
		p.BackoffInitial = min(DefaultBackoffInitial, p.BackoffMax)
	case p.BackoffMax == 0:
		p.BackoffMax = max(DefaultBackoffMax, p.BackoffInitial)
	}
	switch {
	case p.Jitter == 0:
		p.Jitter = DefaultJitter
	case p.Jitter < 0:
		p.Jitter = 0
	}
	return p, nil
}

type config struct {
	timeout          time.Duration
	timeoutSet       bool
	retry            RetryPolicy
	failureThreshold int
	recovery         time.Duration
	defaultHeaders   http.Header
	propagateID      bool
	transport        http.RoundTripper
	logger           *slog.Logger
	hooks            Hooks
	budget           RetryBudget
	hedge            HedgePolicy
	attemptHeader    string
	totalTimeout     time.Duration
	maxOrigins       int
	idleExpiry       time.Duration
	breakerExtra     BreakerPolicy // the modes beyond consecutive failures (R45)
	errs             []error
}

// WithTimeout sets the per-attempt timeout, from the dial to the end of the
// response body (R14). Default 10s; d <= 0 is an error (a call that must not
// time out uses the NoTimeout request option), and so is d under 1ms, which
// is a unit slip: WithTimeout(10) would be 10ns.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithTimeout(%v): the timeout must be positive; use the NoTimeout request option for calls that must not time out", ErrInvalidConfig, d))
			return
		}
		if msg := unitSlip(fmt.Sprintf("WithTimeout(%v)", d), d); msg != "" {
			c.errs = append(c.errs, fmt.Errorf("%w: %s", ErrInvalidConfig, msg))
			return
		}
		c.timeout, c.timeoutSet = d, true
	}
}

// WithRetryPolicy sets how calls are retried (R5-R13).
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) { c.retry = p }
}

// WithCircuitBreaker sets the per-origin breaker: it opens after
// failureThreshold consecutive failures and half-opens after recovery (R16-R21).
// Default 5 and 30s; failureThreshold 0 disables the breaker; recovery 0 means
// 30s; negative values are errors, and so is a recovery under 1ms, which is a
// unit slip: WithCircuitBreaker(5, 30) would be 30ns.
func WithCircuitBreaker(failureThreshold int, recovery time.Duration) Option {
	return func(c *config) {
		if failureThreshold < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithCircuitBreaker: failure threshold %d is negative", ErrInvalidConfig, failureThreshold))
			return
		}
		if recovery < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithCircuitBreaker: recovery %v is negative", ErrInvalidConfig, recovery))
			return
		}
		if msg := unitSlip(fmt.Sprintf("WithCircuitBreaker recovery (%v)", recovery), recovery); msg != "" {
			c.errs = append(c.errs, fmt.Errorf("%w: %s", ErrInvalidConfig, msg))
			return
		}
		if recovery == 0 {
			recovery = DefaultRecovery
		}
		c.failureThreshold, c.recovery = failureThreshold, recovery
		c.breakerExtra = BreakerPolicy{}
	}
}

// BreakerPolicy configures the per-origin breaker in full (R45); zero fields
// take the defaults noted on each, and the zero BreakerPolicy is the breaker
// of WithCircuitBreaker(5, 30*time.Second).
type BreakerPolicy struct {
	// Disabled turns the breaker off, as WithCircuitBreaker(0, 0) does.
	Disabled bool
	// FailureThreshold is the run of consecutive failures that opens the
	// circuit, when FailureRatio is 0. Default 5. Negative is an error.
	FailureThreshold int
	// Recovery is how long the circuit stays open before it half-opens.
	// Default 30s. Negative is an error, and so is under 1ms (a unit slip).
	Recovery time.Duration
	// FailureRatio > 0 selects the ratio mode: the circuit opens when, over
	// the last Window, at least MinimumThroughput outcomes were seen and the
	// share of failures reached FailureRatio (0.5 is a good start). Above 1
	// is an error.
	FailureRatio float64
	// MinimumThroughput: ratio mode only. Default 20.
	MinimumThroughput int
	// Window: ratio mode only. Default 10s.
	Window time.Duration
	// SlowCallThreshold > 0 counts an attempt whose response headers arrive
	// later than it as a failure. Default 0, off.
	SlowCallThreshold time.Duration
	// MaxRecovery > Recovery lengthens repeated breaks, from the second
	// consecutive failed probe, up to MaxRecovery. Default 0, off. Under 1ms
	// but positive is an error (a unit slip).
	MaxRecovery time.Duration
	// HalfOpenProbes is how many probes a half-open circuit admits at once;
	// all must succeed to close it. Default 1.
	HalfOpenProbes int
}

// WithBreakerPolicy sets the per-origin breaker in full: the ratio mode,
// slow calls, growth of repeated breaks and several probes (R45). It replaces
// what WithCircuitBreaker set, and the other way round: the last wins.
func WithBreakerPolicy(p BreakerPolicy) Option {
	return func(c *config) {
		if p.Disabled {
			c.failureThreshold, c.breakerExtra = 0, BreakerPolicy{}
			return
		}
		if p.FailureThreshold < 0 || p.Recovery < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: BreakerPolicy: negative FailureThreshold or Recovery", ErrInvalidConfig))
			return
		}
		slip := false
		for _, f := range []struct {
			name string
			d    time.Duration
		}{{"Recovery", p.Recovery}, {"MaxRecovery", p.MaxRecovery}} {
			if msg := unitSlip(fmt.Sprintf("BreakerPolicy.%s (%v)", f.name, f.d), f.d); msg != "" {
				c.errs = append(c.errs, fmt.Errorf("%w: %s", ErrInvalidConfig, msg))
				slip = true
			}
		}
		if slip {
			return
		}
		c.failureThreshold = cmp.Or(p.FailureThreshold, DefaultFailureThreshold)
		c.recovery = cmp.Or(p.Recovery, DefaultRecovery)
		c.breakerExtra = p
	}
}

// breakerSettings is the breaker of one origin, as configured.
func (c *config) breakerSettings() breaker.Settings {
	x := c.breakerExtra
	return breaker.Settings{
		FailureThreshold:  c.failureThreshold,
		Recovery:          c.recovery,
		FailureRatio:      x.FailureRatio,
		MinimumThroughput: x.MinimumThroughput,
		Window:            x.Window,
		SlowCall:          x.SlowCallThreshold,
		MaxRecovery:       x.MaxRecovery,
		HalfOpenProbes:    x.HalfOpenProbes,
	}
}

// WithDefaultHeaders sets headers added to every request sent to the base
// origin, and never to another origin (R23). The header is copied with its
// names in canonical form (http.CanonicalHeaderKey), so that "authorization"
// yields to a call's Authorization instead of going out beside it; the values
// of names that canonicalise alike are merged, in the byte order of the names
// as written. Names and values are validated by New.
func WithDefaultHeaders(h http.Header) Option {
	return func(c *config) { c.defaultHeaders = canonicalHeader(h) }
}

// canonicalHeader copies h with canonical keys. A literal map such as
// http.Header{"authorization": ...} bypasses Header.Set's canonicalisation,
// and the transport compares keys as they are.
func canonicalHeader(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	keys := slices.Sorted(maps.Keys(h))
	out := make(http.Header, len(h))
	for _, k := range keys {
		ck := http.CanonicalHeaderKey(k)
		out[ck] = append(out[ck], h[k]...)
	}
	return out
}

// WithRequestIDPropagation turns on or off sending the request ID found in a
// call's context in the X-Request-ID header (R25). Default on.
func WithRequestIDPropagation(on bool) Option {
	return func(c *config) { c.propagateID = on }
}

// WithTransport sets the RoundTripper that sends each attempt. Default: a
// transport from NewTransport, owned by the client and closed by Close; one
// passed here is never closed by the client (R30). A nil rt is an error.
func WithTransport(rt http.RoundTripper) Option {
	return func(c *config) {
		if rt == nil {
			c.errs = append(c.errs, fmt.Errorf("%w: WithTransport(nil)", ErrInvalidConfig))
			return
		}
		c.transport = rt
	}
}

// WithLogger sets a logger for attempts (Debug), retries (Info) and breaker
// state changes (Warn). Records carry method, origin, path, status, attempt,
// duration and error class, never a query or a header value other than the
// request ID (R28). Default: no logging.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithHooks sets observers of attempts, retries and breaker state changes.
// Hooks run outside every lock; a panicking hook is recovered and logged (R22).
func WithHooks(h Hooks) Option {
	return func(c *config) { c.hooks = h }
}

// WithTotalTimeout bounds a whole call: every attempt, hedge and wait, and
// the reading of the body (R47). Each attempt gets the lesser of its own
// timeout and what is left. Default: none, so that NoTimeout can stream; d <=
// 0 is an error, and so is d under 1ms (a unit slip: WithTotalTimeout(30)
// would be 30ns). The per-call form is the TotalTimeout request option.
func WithTotalTimeout(d time.Duration) Option {
	return func(c *config) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithTotalTimeout(%v): must be positive", ErrInvalidConfig, d))
			return
		}
		if msg := unitSlip(fmt.Sprintf("WithTotalTimeout(%v)", d), d); msg != "" {
			c.errs = append(c.errs, fmt.Errorf("%w: %s", ErrInvalidConfig, msg))
			return
		}
		c.totalTimeout = d
	}
}

// WithAttemptHeader sends, on every attempt and hedge, a header that tells
// the upstream which attempt this is: "attempt=2; max=3", with "; hedge=1"
// on a hedge (R49). Off by default; name must be a valid header name.
func WithAttemptHeader(name string) Option {
	return func(c *config) {
		if !isToken(name) {
			c.errs = append(c.errs, fmt.Errorf("%w: WithAttemptHeader(%q): not a valid header name", ErrInvalidConfig, name))
			return
		}
		c.attemptHeader = http.CanonicalHeaderKey(name)
	}
}
