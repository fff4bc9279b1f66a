package httpclient

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// Defaults applied by New, as documented on each option and field;
// docs/defaults.md gives the reason for each.
const (
	defaultTimeout        = 10 * time.Second
	defaultMaxAttempts    = 3
	defaultBackoffInitial = 500 * time.Millisecond
	defaultBackoffMax     = 8 * time.Second
	defaultJitter         = 0.2
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
//
// What is retried: the statuses 429, 500, 502, 503 and 504 and the transport
// failures known to be transient, for a request that may be sent again: a
// GET, HEAD, OPTIONS, TRACE, PUT or DELETE, one carrying an Idempotency-Key
// or sent with [Idempotent], or one whose failure proves nothing was sent.
// RetryIf may change what is retried, never whom: a POST that may have been
// processed is not sent again, whatever it says. The call, request and
// attempt words are defined in the package documentation.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts per request, the first
	// included; 1 disables retries. Default 3. Negative is an error.
	MaxAttempts int
	// BackoffInitial is the wait before the second attempt; each later wait
	// doubles, up to BackoffMax. Default 500ms, or BackoffMax if that is set
	// and smaller. Negative is an error.
	BackoffInitial time.Duration
	// BackoffMax caps the exponential wait, and a Retry-After asking for
	// more ends the call with that response instead (a wait from Backoff is
	// used as it is). Default 8s, or BackoffInitial if that is set and
	// larger. Negative, or smaller than a set BackoffInitial, is an error.
	BackoffMax time.Duration
	// Jitter is the fraction by which a computed wait may be shortened at
	// random, so that many clients do not retry in step. Default 0.2;
	// negative disables jitter; above 0.5 is an error.
	Jitter float64
	// Backoff, when set, gives the wait after attempt a (a.N is 1 for the
	// first) in place of the exponential one: linear, per method or path,
	// or read from the response (resp is nil when err is not). Its result is
	// used as it is, with no jitter and no cap; a negative one is 0. On 429
	// and 503 a Retry-After still wins.
	Backoff func(a Attempt, resp *http.Response, err error) time.Duration
	// RetryIf, when set, decides for every outcome of a request that may be
	// sent again, as RetryPolicy's documentation defines it: retryable is
	// what the rules say, and the answer wins, so RetryIf can narrow them
	// (stop on a 503 from one path) or widen them (retry a 404 for a GET
	// after a write that is not visible yet). a tells the method, origin,
	// path and attempt number; resp is nil when err is not, and its body
	// is not RetryIf's to read or close. It is not asked once the caller's
	// context has ended, nor about a fault of the caller's own request.
	RetryIf func(a Attempt, resp *http.Response, err error, retryable bool) bool
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
		p.MaxAttempts = defaultMaxAttempts
	}
	switch {
	case p.BackoffInitial == 0 && p.BackoffMax == 0:
		p.BackoffInitial, p.BackoffMax = defaultBackoffInitial, defaultBackoffMax
	case p.BackoffInitial == 0:
		p.BackoffInitial = min(defaultBackoffInitial, p.BackoffMax)
	case p.BackoffMax == 0:
		p.BackoffMax = max(defaultBackoffMax, p.BackoffInitial)
	}
	switch {
	case p.Jitter == 0:
		p.Jitter = defaultJitter
	case p.Jitter < 0:
		p.Jitter = 0
	}
	return p, nil
}

type config struct {
	timeout        time.Duration
	timeoutSet     bool
	retry          RetryPolicy
	breakerOff     bool             // WithCircuitBreaker(0, ...)
	breakerCfg     breaker.Settings // as given; callbacks refused
	defaultHeaders http.Header
	propagateID    bool
	transport      http.RoundTripper
	logger         *slog.Logger
	hooks          Hooks
	budget         RetryBudget
	hedge          HedgePolicy
	rate           RateLimit
	conc           *ConcurrencyLimit // nil: off
	shared         SharedBreakers
	attemptHeader  string
	totalTimeout   time.Duration
	maxOrigins     int
	idleExpiry     time.Duration
	errs           []error
}

// WithTimeout sets the per-attempt timeout, from the dial to the end of the
// response body. Default 10s; d <= 0 is an error (a call that must not
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

// WithRetryPolicy sets how calls are retried.
func WithRetryPolicy(p RetryPolicy) Option {
	return func(c *config) { c.retry = p }
}

// WithCircuitBreaker sets the per-origin breaker: it opens after
// failureThreshold consecutive failures and half-opens after recovery.
// Default 5 and 30s. failureThreshold 0 disables the breaker (unlike a zero
// breaker.Settings.FailureThreshold, which means the default); recovery 0
// means 30s. Negative values are errors, and so is a recovery under 1ms,
// which is a unit slip: WithCircuitBreaker(5, 30) would be 30ns.
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
		c.breakerOff = failureThreshold == 0
		c.breakerCfg = breaker.Settings{FailureThreshold: failureThreshold, Recovery: recovery}
	}
}

// WithBreaker sets the per-origin breaker in full, with the breaker
// package's own settings: the ratio mode, slow calls, growth of repeated
// breaks, several probes. Zero fields mean the breaker package's defaults.
// ProbeTimeout bounds the probes of calls made with NoTimeout; other
// probes are bounded by their attempt timeout. It replaces what
// WithCircuitBreaker set, and the other way round: the last wins.
//
// The Settings fields Now, OnStateChange and OnPanic must be nil, or New
// returns an error: the client makes one breaker per origin on its own
// clock, and reports their changes, with the origin, to Hooks.StateChange.
func WithBreaker(s breaker.Settings) Option {
	return func(c *config) {
		if s.Now != nil || s.OnStateChange != nil || s.OnPanic != nil {
			c.errs = append(c.errs, fmt.Errorf("%w: WithBreaker: Settings.Now, OnStateChange and OnPanic are per breaker; the client keeps one breaker per origin on its own clock and reports changes to Hooks.StateChange", ErrInvalidConfig))
			return
		}
		for _, f := range []struct {
			name string
			d    time.Duration
		}{{"Recovery", s.Recovery}, {"MaxRecovery", s.MaxRecovery}, {"ProbeTimeout", s.ProbeTimeout}} {
			if msg := unitSlip(fmt.Sprintf("WithBreaker: Settings.%s (%v)", f.name, f.d), f.d); msg != "" {
				c.errs = append(c.errs, fmt.Errorf("%w: %s", ErrInvalidConfig, msg))
				return
			}
		}
		c.breakerOff, c.breakerCfg = false, s
	}
}

// WithDefaultHeaders sets headers added to every request sent to the base
// origin, and never to another origin. The header is copied with its
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
// call's context in the X-Request-ID header. Default on.
func WithRequestIDPropagation(on bool) Option {
	return func(c *config) { c.propagateID = on }
}

// WithTransport sets the RoundTripper that sends each attempt. Default: a
// transport from NewTransport, owned by the client and closed by Close; one
// passed here is never closed by the client. A nil rt is an error.
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
// request ID. Default: no logging.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithHooks sets observers of attempts, retries and breaker state changes.
// Hooks run outside every lock; a panicking hook is recovered and logged.
func WithHooks(h Hooks) Option {
	return func(c *config) { c.hooks = h }
}

// WithTotalTimeout bounds a whole call: every attempt, hedge and wait, and
// the reading of the body. Each attempt gets the lesser of its own
// timeout and what is left. Default: none, so that NoTimeout can stream; d <=
// 0 is an error, and so is d under 1ms (a unit slip: WithTotalTimeout(30)
// would be 30ns). The per-call form is the TotalTimeout request option. It
// applies to the verbs and Do; a call through StandardClient is bounded by
// its context's deadline or http.Client.Timeout instead.
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
// on a hedge. Off by default; name must be a valid header name.
func WithAttemptHeader(name string) Option {
	return func(c *config) {
		if !isToken(name) {
			c.errs = append(c.errs, fmt.Errorf("%w: WithAttemptHeader(%q): not a valid header name", ErrInvalidConfig, name))
			return
		}
		c.attemptHeader = http.CanonicalHeaderKey(name)
	}
}
