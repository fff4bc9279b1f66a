package httpclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/tempestsdk/tempest/concurrency"
)

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

// bodyEnded is told that a response body of the client's own transport was
// read to EOF or closed; c is nil for any other body. After Close, that
// body's connection may have become idle only now, so the idle connections
// are closed again (R30). net/http's HTTP/1 pool closes such a connection
// itself (CloseIdleConnections makes it close every connection that comes
// back), but its HTTP/2 pool closes only the connections idle at that call,
// and a busy one would stay open, read goroutine and all, for the 90s idle
// timeout.
//
// An HTTP/2 stream leaves its connection asynchronously, after the body's
// EOF. So at EOF the body is closed first: net/http's HTTP/2 body Close
// returns once the stream is gone, unless the request's context has ended,
// which is why deadlineBody calls this before its cancel. Before Close, and
// for other transports, this is a nil check or one atomic load.
func (c *Client) bodyEnded(rc io.ReadCloser, eof bool) {
	if c == nil || !c.closed.Load() {
		return
	}
	if eof {
		rc.Close()
	}
	c.ownTransport.CloseIdleConnections()
}

// ownBody is an HTTP/2 response body of the client's own transport on an
// attempt with no timeout of its own (NoTimeout, or the caller's deadline
// first): it does the R30 part of a deadlineBody. HTTP/1 bodies need none.
type ownBody struct {
	rc io.ReadCloser
	c  *Client
}

func (b *ownBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.c.bodyEnded(b.rc, true)
	}
	return n, err
}

func (b *ownBody) Close() error {
	err := b.rc.Close()
	b.c.bodyEnded(b.rc, false)
	return err
}

func drainClose(body io.ReadCloser) {
	if body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, body, maxRetryBody)
	body.Close()
}

// guardBody is the body of a response from a RoundTripper other than
// net/http's (R55): a panic in its Read or Close becomes an error, and a
// Read that keeps returning nothing and no error ends with
// io.ErrNoProgress, as bufio does, instead of spinning a core.
type guardBody struct {
	rc      io.ReadCloser
	rt      http.RoundTripper
	empties int
}

// maxEmptyReads is how many (0, nil) reads in a row a body may return.
const maxEmptyReads = 100

func (b *guardBody) Read(p []byte) (n int, err error) {
	defer func() {
		if v := recover(); v != nil {
			n, err = 0, fmt.Errorf("%w: the response body of %T panicked in Read: %v", errBadTransport, b.rt, v)
		}
	}()
	n, err = b.rc.Read(p)
	if n == 0 && err == nil && len(p) > 0 {
		if b.empties++; b.empties >= maxEmptyReads {
			return 0, io.ErrNoProgress
		}
	} else {
		b.empties = 0
	}
	return n, err
}

func (b *guardBody) Close() (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: the response body of %T panicked in Close: %v", errBadTransport, b.rt, v)
		}
	}()
	return b.rc.Close()
}

func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// closeResponse drains at most maxRetryBody and closes, so that a small body
// leaves its connection reusable (R33).
func closeResponse(resp *http.Response) {
	if resp != nil {
		drainClose(resp.Body)
	}
}

var errBodyTooLarge = errors.New("httpclient: retryable response body over 64 KiB")

// bufferBody reads resp's body into memory and closes the original, so that
// its connection goes back to the pool before a wait (R11). Over maxRetryBody
// it puts what it read back in front of the rest and returns errBodyTooLarge.
func bufferBody(resp *http.Response) error {
	var buf bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength <= maxRetryBody {
		buf.Grow(int(resp.ContentLength) + 1)
	}
	_, err := buf.ReadFrom(io.LimitReader(resp.Body, maxRetryBody+1))
	if err != nil {
		resp.Body.Close()
		return err
	}
	if buf.Len() > maxRetryBody {
		resp.Body = &prefixedBody{Reader: io.MultiReader(bytes.NewReader(buf.Bytes()), resp.Body), c: resp.Body}
		return errBodyTooLarge
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(buf.Bytes()))
	return nil
}

type prefixedBody struct {
	io.Reader
	c io.Closer
}

func (b *prefixedBody) Close() error { return b.c.Close() }

// deadlineBody keeps a context alive until its body is read to EOF or
// closed, so that an attempt's timeout (R14) or a call's total deadline (R47)
// covers the body as http.Client.Timeout does, and reports a read that
// deadline cut with kind.wrap (R15). outer is the caller's context: when it
// ended too, the error is the caller's and stays as it is.
type deadlineBody struct {
	rc           io.ReadCloser
	cancel       context.CancelFunc
	outer, inner context.Context
	kind         *bodyKind          // shared, so that the struct stays small
	slot         concurrency.Permit // the attempt's concurrency slot (R75); zero: none
}

// bodyKind is what a deadlineBody does besides its deadline.
type bodyKind struct {
	wrap func(error) error // how a read the deadline cut is reported (R15)
	own  *Client           // the client, for a body of its own transport (R30); else nil
}

// totalBody is the kind of a call's body under a total deadline (R47). The
// attempt's body inside it does the R30 part.
var totalBody = bodyKind{wrap: asTotalTimeout}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil {
		if err == io.EOF {
			b.kind.own.bodyEnded(b.rc, true) // before cancel: see bodyEnded
			b.slot.Release()
			b.cancel()
		} else if b.outer.Err() == nil && b.inner.Err() != nil {
			err = b.kind.wrap(err)
		}
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	err := b.rc.Close()
	b.kind.own.bodyEnded(b.rc, false)
	b.slot.Release()
	b.cancel()
	return err
}

func asAttemptTimeout(err error) error { return &attemptTimeoutError{err: err} }

func asTotalTimeout(err error) error { return &totalTimeoutError{err: err} }
