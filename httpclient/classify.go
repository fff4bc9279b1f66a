package httpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
)

// retryableStatus is R6's allow-list of statuses.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// failureStatus is R17: the statuses that count as breaker failures. 429 is
// the upstream protecting itself, not failing, so it is not one.
func failureStatus(code int) bool {
	switch code {
	case http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// safeMethod reports the methods retried on any retryable outcome (R7).
func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace,
		http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}

// hasIdempotencyKey reports an Idempotency-Key or X-Idempotency-Key entry; a
// nil-valued entry counts, as in net/http.
func hasIdempotencyKey(h http.Header) bool {
	if _, ok := h["Idempotency-Key"]; ok {
		return true
	}
	_, ok := h["X-Idempotency-Key"]
	return ok
}

// isCertError reports a certificate verification failure, also when it
// arrives inside a proxyconnect *net.OpError (R6).
func isCertError(err error) bool {
	var cve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cve) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// retryableError is R6 for transport failures: known transient failures only.
// The caller's own context having ended is handled before this is asked.
func retryableError(err error) bool {
	if errors.Is(err, ErrNotSent) {
		return true
	}
	if isCertError(err) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) {
		switch op.Op {
		case "dial", "proxyconnect", "read", "write":
			return true
		}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) {
		return true
	}
	return isHTTP2Reset(err)
}

// h2StreamError has the fields of net/http's bundled HTTP/2 stream error,
// whose type is unexported; that error's As method fills any struct with
// these fields.
type h2StreamError struct {
	StreamID uint32
	Code     uint32
	Cause    error
}

func (e h2StreamError) Error() string { return "http2 stream error" }

// isHTTP2Reset recognises an HTTP/2 stream reset, the connection-level
// failures net/http reports only as text, and a connection that ended before
// the request's stream was opened (h2NotSent).
func isHTTP2Reset(err error) bool {
	var se h2StreamError
	if errors.As(err, &se) || h2NotSent(err) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "http2: server sent GOAWAY") ||
		strings.Contains(s, "http2: client connection lost") ||
		strings.Contains(s, "http2: client connection force closed")
}

// h2NotSent reports the errors net/http's bundled HTTP/2 client returns for
// a request whose stream it never opened, so that nothing of the request was
// written (R38). "http2: client conn could not be established": the
// connection dialled for the request ended before the stream was opened (the
// peer closed or reset it, or broke the protocol, before or with its
// SETTINGS); net/http drops that cause. "http2: client conn not usable": the
// connection was closing when the stream was to be opened, and net/http's own
// retries of that ran out. ErrNoCachedConn ("http2: no cached connection was
// available"): no connection was taken; net/http's Transport retries it
// itself, so it reaches a caller only from an HTTP/2-only transport.
//
// The first two are unexported errors.New values. They are matched as an
// error of exactly that text at the end of the chain (one with no Unwrap),
// never as text inside another error's message, which a server can shape
// (net/http quotes a malformed status line in its error).
func h2NotSent(err error) bool {
	for err != nil {
		switch u := err.(type) {
		case interface{ IsHTTP2NoCachedConnError() }:
			return true
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if h2NotSent(e) {
					return true
				}
			}
			return false
		default:
			switch err.Error() {
			case "http2: client conn could not be established", "http2: client conn not usable":
				return true
			}
			return false
		}
	}
	return false
}

// provesNotSent reports a failure that shows nothing of the request was sent
// (R7, R38): ErrNotSent from any transport; from a net/http *http.Transport,
// which dials before it writes, a dial or proxyconnect error, or an HTTP/2
// connection that ended before the request's stream was opened (h2NotSent).
func provesNotSent(err error, trustDial bool) bool {
	if errors.Is(err, ErrNotSent) {
		return true
	}
	if !trustDial || isCertError(err) {
		return false
	}
	if h2NotSent(err) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && (op.Op == "dial" || op.Op == "proxyconnect")
}

// ClassOf returns the class of a call's error, for logs and metrics; "" for
// a nil error.
func ClassOf(err error) Class {
	if err == nil {
		return "" // before the targets below, which escape to the heap
	}
	return classOf(err)
}

func classOf(err error) Class {
	var dns *net.DNSError
	var op *net.OpError
	var ne net.Error
	var rb *requestBodyError
	var cw *connWaitError
	switch {
	case errors.As(err, &rb):
		return ClassRequestBody
	case errors.As(err, &cw), isLocalResource(err):
		return ClassLocal
	case errors.Is(err, ErrAttemptTimeout):
		return ClassAttemptTimeout
	case errors.Is(err, context.Canceled):
		return ClassCanceled
	case errors.Is(err, ErrCircuitOpen):
		return ClassCircuitOpen
	case errors.Is(err, ErrRateLimited):
		return ClassRateLimited
	case errors.Is(err, ErrConcurrencyLimited):
		return ClassConcurrencyLimited
	case errors.Is(err, ErrClosed):
		return ClassClosed
	case errors.Is(err, ErrInvalidRequest):
		return ClassInvalidRequest
	case errors.As(err, new(*StatusError)):
		return ClassStatus
	case isCertError(err):
		return ClassCertificate
	case errors.As(err, &dns):
		return ClassDNS
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return ClassTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return ClassReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClassEOF
	case isHTTP2Reset(err):
		return ClassHTTP2Reset
	case errors.As(err, &op):
		return ClassNetwork
	}
	return ClassOther
}
