package httpclienttest

import (
	"net/http"
	"time"
)

// Response scripts what the server does for one hit.
type Response struct {
	// Status is the status code. Default (0): 200.
	Status int

	// Header is added to the response headers (for example Retry-After or
	// Location). Default: none. The server sets Content-Length to len(Body)
	// unless Header sets Content-Length or Transfer-Encoding.
	Header http.Header

	// Body is the response body. Default: empty.
	Body []byte

	// Delay is how long the server waits before writing the headers (a slow
	// upstream); it also comes before the Fault. The wait ends early, and
	// the server writes nothing, when the request's context ends or the
	// server is closed. Default: no wait.
	Delay time.Duration

	// BodyDelay is the pause between two pieces of a SlowBody response.
	// Default: no pause.
	BodyDelay time.Duration

	// BodyChunks is the number of pieces of a SlowBody response.
	// Default (0 or less): 4.
	BodyChunks int

	// Fault is the failure to inject. Default: None. Values that are not
	// one of the Fault constants behave as None.
	Fault Fault
}

// Status returns a Response with the status code and the headers given as
// key, value pairs, as in Status(503, "Retry-After", "2"). It panics if
// headerKV has an odd number of elements.
func Status(code int, headerKV ...string) Response {
	if len(headerKV)%2 != 0 {
		panic("httpclienttest: Status needs header keys and values in pairs")
	}
	r := Response{Status: code}
	if len(headerKV) > 0 {
		r.Header = make(http.Header, len(headerKV)/2)
		for i := 0; i < len(headerKV); i += 2 {
			r.Header.Add(headerKV[i], headerKV[i+1])
		}
	}
	return r
}

// OK returns a 200 Response with the body.
func OK(body string) Response {
	return Response{Status: http.StatusOK, Body: []byte(body)}
}

// Redirect returns a Response with the status code (301, 302, 303, 307 or
// 308) and a Location header.
func Redirect(code int, location string) Response {
	return Status(code, "Location", location)
}

// A Script picks the response for each hit. hit counts from 1 across the
// whole server, in the order in which request headers arrive. r.Body holds
// the request body as recorded (at most 1 MiB) and may be read again.
// Respond is called on the server's handler goroutines, concurrently when
// requests are concurrent.
type Script interface {
	Respond(hit int, r *http.Request) Response
}

// Sequence is a Script that gives hit n the element n-1. Past the end, the
// last element repeats. An empty Sequence answers 200 OK with no body.
type Sequence []Response

// Respond implements [Script].
func (s Sequence) Respond(hit int, _ *http.Request) Response {
	if len(s) == 0 {
		return Response{}
	}
	if hit < 1 {
		hit = 1
	}
	return s[min(hit, len(s))-1]
}

// ScriptFunc adapts a function to a [Script].
type ScriptFunc func(hit int, r *http.Request) Response

// Respond implements [Script] by calling f(hit, r).
func (f ScriptFunc) Respond(hit int, r *http.Request) Response {
	return f(hit, r)
}
