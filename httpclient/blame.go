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

// isCallerShape reports an error net/http raised about the request's shape.
func isCallerShape(err error) bool {
	s := err.Error()
	for _, p := range callerShapeErrors {
		if strings.Contains(s, p) {
			return true
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
}

func newRequestBody(rc io.ReadCloser, length int64) *requestBody {
	return &requestBody{rc: rc, length: length}
}

func (b *requestBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	total := b.n.Add(int64(n))
	switch {
	case err != nil && err != io.EOF:
		b.fail(&requestBodyError{err: err})
	case b.length > 0 && total > b.length:
		b.fail(&contentLengthError{want: b.length, over: true})
	case err == io.EOF && b.length > 0 && total < b.length:
		b.fail(&contentLengthError{want: b.length, got: total})
	}
	return n, err
}

func (b *requestBody) Close() error { return b.rc.Close() }

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

// connTrace follows one attempt through net/http's connection pool: got is
// set when it has a connection (httptrace's GotConn). Whether a dial was
// made for it is told by the dials ring.
type connTrace struct {
	got   atomic.Bool
	trace httptrace.ClientTrace
}

func newConnTrace() *connTrace {
	ct := new(connTrace)
	ct.trace.GotConn = func(httptrace.GotConnInfo) { ct.got.Store(true) }
	return ct
}

// dialed reports whether a dial of NewTransport's dialer was made for this
// attempt.
func (ct *connTrace) dialed() bool { return dials.seen(&ct.trace) }

// waitedForSlot reports an attempt that ended before it got a connection
// and without a dial of its own: it was queued for a connection slot.
func (ct *connTrace) waitedForSlot() bool {
	return ct != nil && !ct.got.Load() && !ct.dialed()
}

// dialRing remembers the traces of the attempts for which NewTransport's
// dialer made the most recent dials. A dial is made on behalf of one
// attempt and carries its context's values, so the dialer can say which;
// only an attempt that ends before it got a connection looks itself up.
type dialRing struct {
	next  atomic.Uint64
	slots [4096]atomic.Pointer[httptrace.ClientTrace]
}

var dials dialRing

func (r *dialRing) note(ctx context.Context) {
	if tr := httptrace.ContextClientTrace(ctx); tr != nil {
		r.slots[r.next.Add(1)%uint64(len(r.slots))].Store(tr)
	}
}

func (r *dialRing) seen(tr *httptrace.ClientTrace) bool {
	for i := range r.slots {
		if r.slots[i].Load() == tr {
			return true
		}
	}
	return false
}

// ownDialer is the dialer of NewTransport's transports: it notes each dial
// in the ring, then dials.
type ownDialer struct{ d *net.Dialer }

func (o *ownDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	dials.note(ctx)
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
