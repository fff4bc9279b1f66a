package httpclient

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"syscall"
)

// Who is to blame for a failed attempt (R56, R57). Only the upstream's
// faults count against it in the breaker: the caller's mistakes (a request
// net/http refuses, a request body that fails or lies about its length) and
// the local machine's limits (no file descriptors or ports left, no
// connection slot free in time) count for nothing.

// isLocalResource reports an error from the local machine running out of
// something: file descriptors (EMFILE, ENFILE), ephemeral ports or local
// addresses (EADDRNOTAVAIL), socket buffers (ENOBUFS) or memory (ENOMEM).
func isLocalResource(err error) bool {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.ENOBUFS) ||
		errors.Is(err, syscall.ENOMEM) {
		return true
	}
	// The resolver reports its own socket failures as text.
	var dns *net.DNSError
	return errors.As(err, &dns) && strings.Contains(dns.Err, "too many open files")
}

// callerShapeErrors are the texts of the errors net/http raises, before or
// while writing, for a request it will not send as built. Validation (R4)
// catches these shapes first; this list keeps a wrapping RoundTripper's
// request, or a check a newer net/http adds, from being blamed on the
// upstream.
var callerShapeErrors = []string{
	"net/http: invalid header",
	"net/http: invalid trailer",
	"net/http: invalid method",
	"net/http: can't write control character in Request.URL",
	"http: invalid Host header",
	"http: no Host in request URL",
	"http: nil Request.URL",
	"http: nil Request.Header",
	"http: ContentLength=",
	"http: Request.ContentLength=",
	"unsupported protocol scheme",
	"http2: invalid Host header",
	"http2: invalid :path",
	"http2: invalid header",
	"http2: invalid trailer",
	"http2: request body larger than specified content length",
	"http2: request header list larger than peer's advertised limit",
}

// isCallerShape reports an error net/http raised about the request's shape:
// an error at the end of the chain (one that wraps none) whose text begins
// with one of callerShapeErrors. Only the start of a leaf's own text is
// read, never text inside another error, which an upstream can shape
// (net/http quotes a malformed response line in its error).
func isCallerShape(err error) bool {
	for err != nil {
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if isCallerShape(e) {
					return true
				}
			}
			return false
		default:
			s := err.Error()
			for _, p := range callerShapeErrors {
				if strings.HasPrefix(s, p) {
					return true
				}
			}
			return false
		}
	}
	return false
}

// requestBodyError is the caller's request body failing to read. It is the
// caller's fault: not retried, nothing in the breaker (R56).
type requestBodyError struct{ err error }

func (e *requestBodyError) Error() string {
	return "httpclient: reading the request body: " + e.err.Error()
}
func (e *requestBodyError) Unwrap() error { return e.err }

// contentLengthError is a request body whose length differs from its
// ContentLength, which net/http refuses: an invalid request (R56).
type contentLengthError struct {
	want, got int64
	over      bool
}

func (e *contentLengthError) Error() string {
	if e.over {
		return "httpclient: invalid request: the request body is longer than its ContentLength " + strconv.FormatInt(e.want, 10)
	}
	return "httpclient: invalid request: the request body has " + strconv.FormatInt(e.got, 10) + " bytes, its ContentLength says " + strconv.FormatInt(e.want, 10)
}

func (e *contentLengthError) Is(target error) bool { return target == ErrInvalidRequest }

// connWaitError is an attempt that timed out after it waited most of its
// time for a connection slot of its own transport (MaxConnsPerHost): the
// wait was local, so it counts for nothing in the breaker; if it never got a
// connection, nothing was sent and it is retried as not sent (R57).
type connWaitError struct {
	err  error
	sent bool // it got a connection in the end: it may have been sent
}

func (e *connWaitError) Error() string {
	if e.sent {
		return "httpclient: a connection to the host came free too late (MaxConnsPerHost): " + e.err.Error()
	}
	return "httpclient: no connection to the host was free in time (MaxConnsPerHost): " + e.err.Error()
}
func (e *connWaitError) Unwrap() error        { return e.err }
func (e *connWaitError) Is(target error) bool { return target == ErrNotSent && !e.sent }
