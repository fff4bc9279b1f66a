package httpclient

import (
	"errors"
	"io"
	"net/http"
)

// Class names the kind of a failure, for logs and metrics: few values, in
// one casing, so that a label never grows without bound. [ClassOf] gives an
// error's class; [AttemptResult] carries each attempt's.
type Class string

// The classes, in the order ClassOf tests them.
const (
	ClassRequestBody        Class = "request_body"        // the caller's request body failed to read, or held the attempt past its timeout
	ClassLocal              Class = "local"               // the local machine's limits: file descriptors, ports, a connection slot
	ClassAttemptTimeout     Class = "attempt_timeout"     // the attempt's own timeout (ErrAttemptTimeout)
	ClassCanceled           Class = "canceled"            // the caller's context was cancelled
	ClassCircuitOpen        Class = "circuit_open"        // refused by an open circuit (ErrCircuitOpen)
	ClassRateLimited        Class = "rate_limited"        // refused by the client's own rate limit (ErrRateLimited)
	ClassConcurrencyLimited Class = "concurrency_limited" // refused by the client's own concurrency limit (ErrConcurrencyLimited)
	ClassClosed             Class = "closed"              // the client was closed (ErrClosed)
	ClassInvalidRequest     Class = "invalid_request"     // the caller built the request wrongly (ErrInvalidRequest)
	ClassStatus             Class = "status"              // a 4xx or 5xx response, or a *StatusError
	ClassCertificate        Class = "certificate"         // the upstream's certificate was not trusted
	ClassDNS                Class = "dns"                 // the host name did not resolve
	ClassTimeout            Class = "timeout"             // any other deadline: the caller's, the total one, a dial's
	ClassRefused            Class = "refused"             // the connection was refused
	ClassReset              Class = "reset"               // the connection was reset or broke
	ClassEOF                Class = "eof"                 // the connection ended early
	ClassHTTP2Reset         Class = "http2_reset"         // an HTTP/2 stream or connection was reset or never opened
	ClassNetwork            Class = "network"             // any other network error
	ClassOther              Class = "other"               // none of the above
)

// Stop says why the retry loop of one request ended: [Attempts] reports it
// for a call, the GiveUp hook for a loop that stopped before its last
// attempt. Its values share their casing with [Class], so "circuit_open"
// means the same in both.
type Stop string

// The reasons a retry loop ends.
const (
	StopSettled            Stop = "settled"             // the outcome is not one to retry: a success, or a failure the rules do not retry
	StopExhausted          Stop = "exhausted"           // a retryable outcome on the last attempt
	StopNotIdempotent      Stop = "not_idempotent"      // retryable, but a POST or PATCH with no Idempotency-Key may have been processed
	StopBodyNotReplayable  Stop = "body_not_replayable" // retryable, but the request body cannot be sent again
	StopRetryIf            Stop = "retry_if"            // RetryPolicy.RetryIf declined a retryable outcome
	StopRetryAfter         Stop = "retry_after"         // Retry-After asked for more than BackoffMax
	StopBodyTooLarge       Stop = "body_too_large"      // the retryable response's body was over 64 KiB
	StopDeadline           Stop = "deadline"            // the caller's deadline ends before the next attempt could
	StopBudget             Stop = "budget"              // the origin's retry budget is spent
	StopCircuitOpen        Stop = "circuit_open"        // the circuit is open, and will be when the wait ends
	StopRateLimited        Stop = "rate_limited"        // the client's rate limit refused the next attempt (R69)
	StopConcurrencyLimited Stop = "concurrency_limited" // the client's concurrency limit refused the next attempt (R75)
	StopClosed             Stop = "closed"              // the client was closed during a wait
	StopCanceled           Stop = "canceled"            // the caller's context ended during a wait
)

// early reports a stop before the last attempt, which the GiveUp hook hears
// of.
func (s Stop) early() bool { return s != StopSettled && s != StopExhausted }

// Attempts reports, for the response or error of a call, how many attempts
// its last request made (each request of a redirect chain has its own) and
// why its retry loop ended, so that logs and callers can tell "retries
// exhausted" from "not retried". It reads a mark on resp.Body: read it
// before replacing the body, and through StandardClient it cannot see past
// the body net/http wraps when http.Client.Timeout is set. A call the
// client never sent reports 0 attempts, and why: StopCircuitOpen,
// StopRateLimited, StopConcurrencyLimited, StopClosed, StopCanceled or
// StopDeadline (cut short while waiting for a rate or concurrency slot), or StopSettled for an invalid request; one whose context
// ended mid-attempt reports StopCanceled or StopDeadline. Hedges are not attempts of their own: they
// race the attempt they were started for.
func Attempts(resp *http.Response, err error) (attempts int, why Stop) {
	if err != nil && resp == nil {
		var se *stoppedError
		switch {
		case errors.As(err, &se):
			return se.n, se.stop
		case errors.Is(err, ErrCircuitOpen):
			return 0, StopCircuitOpen
		case errors.Is(err, ErrRateLimited):
			return 0, StopRateLimited
		case errors.Is(err, ErrConcurrencyLimited):
			return 0, StopConcurrencyLimited
		case errors.Is(err, ErrClosed):
			return 0, StopClosed
		}
		return 0, StopSettled
	}
	if resp != nil {
		for body := resp.Body; body != nil; {
			switch b := body.(type) {
			case *stoppedBody:
				return b.n, b.stop
			case *deadlineBody: // a total deadline wraps the call's body
				body = b.rc
			default:
				body = nil
			}
		}
		return 1, StopSettled
	}
	return 0, StopSettled
}

// stoppedError is the error of a hop, with how its loop ended.
type stoppedError struct {
	err  error
	n    int
	stop Stop
}

func (e *stoppedError) Error() string { return e.err.Error() }
func (e *stoppedError) Unwrap() error { return e.err }

// Timeout answers for the error it wraps, so that *url.Error's Timeout,
// which looks only one level down, still sees it.
func (e *stoppedError) Timeout() bool {
	var t interface{ Timeout() bool }
	return errors.As(e.err, &t) && t.Timeout()
}

// Temporary answers for the error it wraps, as Timeout does.
func (e *stoppedError) Temporary() bool {
	var t interface{ Temporary() bool }
	return errors.As(e.err, &t) && t.Temporary()
}

// stoppedBody is the body of a response whose loop made more than one
// attempt or stopped for another reason than a settled outcome; a plain
// success on the first attempt needs none.
type stoppedBody struct {
	io.ReadCloser
	n    int
	stop Stop
}
