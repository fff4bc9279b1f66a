package httpclienttest

import "strconv"

// Fault is a failure the server injects into one response. The zero value,
// [None], is a normal response.
//
// What the client sees for each fault depends on the protocol and the mode;
// the package documentation has the table.
type Fault int

const (
	// None writes the response normally.
	None Fault = iota

	// ResetBeforeResponse reads the request, then resets the connection
	// without writing anything. HTTP/1 over TCP: SetLinger(0) and Close, so
	// the client gets a TCP RST (ECONNRESET). HTTP/1 in memory: the pipe is
	// closed and the client's reads fail with the same ECONNRESET error a
	// socket gives. HTTP/2: the stream is reset (RST_STREAM INTERNAL_ERROR);
	// the connection stays up.
	ResetBeforeResponse

	// CloseBeforeResponse reads the request, then closes the connection
	// cleanly (FIN, or TLS close_notify) without writing anything: an
	// HTTP/1 client gets io.EOF before the response headers. HTTP/2 has no
	// per-request connection to close: the stream is reset, as for
	// ResetBeforeResponse.
	CloseBeforeResponse

	// ResetMidBody writes the headers, with the Content-Length of the full
	// Body, and the first half of Body, flushes them, then resets the
	// connection (HTTP/1) or the stream (HTTP/2). The client gets the
	// response; reading its body fails.
	ResetMidBody

	// TruncatedBody writes the headers, with the Content-Length of the full
	// Body, and the first half of Body, then ends cleanly: HTTP/1 closes the
	// connection, HTTP/2 ends the stream. The client gets the response;
	// reading its body fails with io.ErrUnexpectedEOF.
	TruncatedBody

	// SlowBody writes Body in Response.BodyChunks pieces (default 4), with
	// Response.BodyDelay between two pieces, flushing each. The body
	// arrives complete after BodyDelay*(BodyChunks-1).
	SlowBody

	// Hang reads the request, then writes nothing until the request's
	// context ends (the client gave up: it closed the HTTP/1 connection or
	// reset the HTTP/2 stream) or the server is closed.
	Hang
)

var faultNames = [...]string{
	None:                "None",
	ResetBeforeResponse: "ResetBeforeResponse",
	CloseBeforeResponse: "CloseBeforeResponse",
	ResetMidBody:        "ResetMidBody",
	TruncatedBody:       "TruncatedBody",
	SlowBody:            "SlowBody",
	Hang:                "Hang",
}

// String returns the fault's Go name, such as "ResetMidBody", or "Fault(N)"
// for a value that is not one of the constants.
func (f Fault) String() string {
	if f >= 0 && int(f) < len(faultNames) {
		return faultNames[f]
	}
	return "Fault(" + strconv.Itoa(int(f)) + ")"
}

// StreamError has the fields of the HTTP/2 stream error that net/http
// returns when a server resets a stream, as the HTTP/2 faults do (Code 2,
// INTERNAL_ERROR). That error's type is unexported, but its As method fills
// any struct with these fields, so this works:
//
//	var se httpclienttest.StreamError
//	if errors.As(err, &se) && se.Code == httpclienttest.ErrCodeInternal { ... }
//
// The same works for golang.org/x/net/http2.StreamError.
type StreamError struct {
	StreamID uint32
	Code     uint32 // an HTTP/2 error code, e.g. ErrCodeInternal
	Cause    error  // optional detail
}

// ErrCodeInternal is the HTTP/2 INTERNAL_ERROR code, which net/http sends
// when a handler aborts a stream.
const ErrCodeInternal = 0x2

// Error returns "stream error: stream ID N; code C", with the cause if any.
func (e StreamError) Error() string {
	s := "stream error: stream ID " + strconv.FormatUint(uint64(e.StreamID), 10) +
		"; code " + strconv.FormatUint(uint64(e.Code), 10)
	if e.Cause != nil {
		s += "; " + e.Cause.Error()
	}
	return s
}
