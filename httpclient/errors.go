package httpclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// ErrCircuitOpen is the sentinel every *CircuitOpenError matches with errors.Is.
var ErrCircuitOpen = errors.New("httpclient: circuit open")

// ErrClosed is returned (inside a *url.Error) by calls begun after Close and by
// calls that were waiting between attempts when Close ran.
var ErrClosed = errors.New("httpclient: client closed")

// ErrNotSent is wrapped by custom transports to say that nothing of the request
// left the machine, which makes a retry safe for any method.
var ErrNotSent = errors.New("httpclient: request not sent")

// ErrAttemptTimeout is matched by errors.Is when an attempt ran out of its own
// per-attempt timeout; the caller's own deadline never matches it.
var ErrAttemptTimeout = errors.New("httpclient: attempt timeout")

// ErrTotalTimeout is matched by errors.Is when a call ran out of its total
// deadline (WithTotalTimeout, TotalTimeout), as opposed to one attempt's
// timeout or the caller's own deadline.
var ErrTotalTimeout = errors.New("httpclient: total timeout")

// ErrInvalidRequest is wrapped by errors about a request the caller built
// wrongly: bad method, header, scheme, host or URL. Such calls never
// reach the network.
var ErrInvalidRequest = errors.New("httpclient: invalid request")

// ErrInvalidConfig is wrapped by every error New returns for bad options.
var ErrInvalidConfig = errors.New("httpclient: invalid configuration")

// ErrBodyTooLarge is returned by Decode when a body exceeds its read limit.
var ErrBodyTooLarge = errors.New("httpclient: response body too large")

// CircuitOpenError is the error of a call that failed fast because the circuit
// of its origin is open. One value is shared by every call failing during
// one open period, so the fail-fast path does not allocate it.
type CircuitOpenError struct {
	Origin string    // normalised scheme://host:port of the open circuit
	Until  time.Time // when the circuit half-opens (half-open with its probes out: when the first probe's bound ends)
}

func (e *CircuitOpenError) Error() string {
	return "httpclient: circuit open for " + e.Origin + " until " + e.Until.Format(time.RFC3339Nano)
}

// Is makes errors.Is(err, ErrCircuitOpen) hold, and errors.Is(err,
// breaker.ErrOpen), the breaker package's name for the same refusal.
func (e *CircuitOpenError) Is(target error) bool {
	return target == ErrCircuitOpen || target == breaker.ErrOpen
}

// attemptTimeoutError is an attempt that ran out of its per-attempt timeout. It
// answers ErrAttemptTimeout and context.DeadlineExceeded, and is a net.Error
// whose Timeout is true, as net/http's own timeout errors are (R15).
type attemptTimeoutError struct {
	err error // what the transport or body read returned
}

func (e *attemptTimeoutError) Error() string {
	return "httpclient: attempt timeout: " + e.err.Error()
}
func (e *attemptTimeoutError) Unwrap() error { return e.err }
func (e *attemptTimeoutError) Timeout() bool { return true }
func (e *attemptTimeoutError) Temporary() bool {
	return true
}
func (e *attemptTimeoutError) Is(target error) bool {
	return target == ErrAttemptTimeout || target == context.DeadlineExceeded
}

// StatusError is the error Decode and CheckStatus return for a non-2xx
// response. Body holds at most 1 KiB of the response body, cut to valid UTF-8,
// so it is safe to log.
type StatusError struct {
	Method     string
	URL        string // scheme, host and path only: no query, no userinfo
	StatusCode int
	Status     string
	Header     http.Header
	Body       []byte
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("httpclient: %s %s: %s", e.Method, e.URL, e.Status)
	if len(e.Body) > 0 {
		s += ": " + string(e.Body)
	}
	return s
}

// maxStatusErrorBody bounds StatusError.Body (R33).
const maxStatusErrorBody = 1 << 10

// cutUTF8 returns at most n bytes of b as valid UTF-8: invalid sequences,
// including a rune split by the cut, are dropped.
func cutUTF8(b []byte, n int) []byte {
	if len(b) > n {
		b = b[:n]
	}
	return []byte(strings.ToValidUTF8(string(b), ""))
}

// totalTimeoutError is a call that ran out of its total deadline. Like an
// attempt timeout it answers context.DeadlineExceeded and Timeout (R47).
type totalTimeoutError struct{ err error }

func (e *totalTimeoutError) Error() string   { return "httpclient: total timeout: " + e.err.Error() }
func (e *totalTimeoutError) Unwrap() error   { return e.err }
func (e *totalTimeoutError) Timeout() bool   { return true }
func (e *totalTimeoutError) Temporary() bool { return true }
func (e *totalTimeoutError) Is(target error) bool {
	return target == ErrTotalTimeout || target == context.DeadlineExceeded
}
