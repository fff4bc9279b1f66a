package httpclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
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

// requestBody wraps the body of one attempt to tell a failure of the
// caller's own body (a reader that returns an error, or a length that does
// not match ContentLength) from a failure of the upstream. The transport
// reads it on another goroutine, so its record is atomic.
type requestBody struct {
	rc     io.ReadCloser
	length int64 // ContentLength; <= 0: unknown
	n      atomic.Int64
	err    atomic.Pointer[error] // the first error of the caller's making
	closed atomic.Bool           // the transport closed it: later read errors are its doing

	// When the latest Read of the caller's body began and ended (Unix
	// nanoseconds): a deadline that passed during a Read was spent
	// waiting on the caller.
	readStart, readEnd atomic.Int64
}

func newRequestBody(rc io.ReadCloser, length int64) *requestBody {
	return &requestBody{rc: rc, length: length}
}

func (b *requestBody) Read(p []byte) (int, error) {
	b.readStart.Store(time.Now().UnixNano())
	n, err := b.rc.Read(p)
	b.readEnd.Store(time.Now().UnixNano())
	total := b.n.Add(int64(n))
	switch {
	case b.closed.Load():
		// net/http closes the body when the upstream resets the
		// stream; a file-like body then fails its next Read. That is
		// the upstream's doing.
	case err != nil && err != io.EOF:
		b.fail(&requestBodyError{err: err})
	case b.length > 0 && total > b.length:
		b.fail(&contentLengthError{want: b.length, over: true})
	case err == io.EOF && b.length > 0 && total < b.length:
		b.fail(&contentLengthError{want: b.length, got: total})
	}
	return n, err
}

func (b *requestBody) Close() error {
	b.closed.Store(true)
	return b.rc.Close()
}

// heldAt reports whether a Read of the caller's body was under way when
// deadline passed: an attempt that timed out then was held by the caller's
// slow reader (net/http returns only once that Read is over).
func (b *requestBody) heldAt(deadline time.Time, ok bool) bool {
	if b == nil || !ok {
		return false
	}
	start, end, d := b.readStart.Load(), b.readEnd.Load(), deadline.UnixNano()
	return start != 0 && start <= d && (end < start || end >= d)
}

func (b *requestBody) fail(err error) { b.err.CompareAndSwap(nil, &err) }

// failed returns the caller's error that broke the body, or nil.
func (b *requestBody) failed() error {
	if b == nil {
		return nil
	}
	if p := b.err.Load(); p != nil {
		return *p
	}
	return nil
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

// connWaitError is an attempt that ended while it waited for a connection
// slot of its own transport (MaxConnsPerHost): nothing was sent, and the
// wait was local, so it counts for nothing in the breaker and is retried as
// not sent (R57).
type connWaitError struct{ err error }

func (e *connWaitError) Error() string {
	return "httpclient: no connection to the host was free in time (MaxConnsPerHost): " + e.err.Error()
}
func (e *connWaitError) Unwrap() error        { return e.err }
func (e *connWaitError) Is(target error) bool { return target == ErrNotSent }

// attemptTrace is the context of one attempt on a slot-aware transport
// (R57): it follows the attempt through net/http's connection pool. got is
// set by httptrace's GotConn when the attempt has a connection; dialed by
// NewTransport's dialer when a dial is made on the attempt's behalf (a dial
// carries its request's context values). It answers httptrace's own context
// key itself, so that following an attempt costs one allocation and a
// closure, not a chain of context values.
type attemptTrace struct {
	context.Context
	trace   httptrace.ClientTrace
	got     atomic.Bool
	dialed  atomic.Bool
	ownsKey bool // Value answers httptrace's key with trace

	// body is the attempt's response body when it has a timeout of its
	// own, kept here so that both cost one allocation.
	body deadlineBody
}

type attemptTraceKey struct{}

// traceKey is the key under which net/http/httptrace keeps a ClientTrace in
// a context, learnt once by asking ContextClientTrace of a context that
// notes what it is asked.
var traceKey = func() any {
	var spy keySpy
	httptrace.ContextClientTrace(&spy)
	return spy.key
}()

type keySpy struct {
	context.Context
	key any
}

func (s *keySpy) Value(key any) any { s.key = key; return nil }

// traced returns parent as the context of an attempt that is followed.
// When parent carries a trace of the caller's own, the two are composed
// by httptrace, which costs what it costs.
func traced(parent context.Context) *attemptTrace {
	at := &attemptTrace{Context: parent, ownsKey: traceKey != nil}
	at.trace.GotConn = func(httptrace.GotConnInfo) { at.got.Store(true) }
	if httptrace.ContextClientTrace(parent) != nil {
		at.Context = httptrace.WithClientTrace(parent, &at.trace)
		at.ownsKey = false
	}
	return at
}

func (at *attemptTrace) Value(key any) any {
	switch {
	case key == attemptTraceKey{}:
		return at
	case at.ownsKey && key == traceKey:
		return &at.trace
	}
	return at.Context.Value(key)
}

// waitedForSlot reports an attempt that ended before it got a connection
// and without a dial of its own: it was queued for a connection slot.
func (at *attemptTrace) waitedForSlot() bool {
	return at != nil && !at.got.Load() && !at.dialed.Load()
}

// ownDialer is the dialer of NewTransport's transports: it tells the
// attempt a dial is made for, then dials.
type ownDialer struct{ d *net.Dialer }

func (o *ownDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if at, ok := ctx.Value(attemptTraceKey{}).(*attemptTrace); ok {
		at.dialed.Store(true)
	}
	return o.d.DialContext(ctx, network, addr)
}

// ownDialPC identifies ownDialer's DialContext method values by their code.
var ownDialPC = sync.OnceValue(func() uintptr {
	return reflect.ValueOf((&ownDialer{}).DialContext).Pointer()
})

// slotAware reports a transport on which R57 can tell a wait for a
// connection slot from a slow dial: a net/http transport from NewTransport
// (changed or not), whose dials go through ownDialer, with a bound on
// connections per host.
func slotAware(rt http.RoundTripper) bool {
	t, ok := rt.(*http.Transport)
	return ok && t.MaxConnsPerHost > 0 && t.DialTLSContext == nil && t.DialTLS == nil && //lint:ignore SA1019 DialTLS still bypasses DialContext
		t.DialContext != nil && reflect.ValueOf(t.DialContext).Pointer() == ownDialPC()
}
