// Package httpclienttest runs a scripted, fault-injecting upstream HTTP
// server for tests of HTTP clients, in the spirit of net/http/httptest.
//
// # Two modes
//
// [NewServer] listens on a real TCP socket on 127.0.0.1 (with [WithTLS],
// HTTPS with a self-signed certificate). [NewMemoryServer] has no socket:
// its [Server.DialContext] connects over net.Pipe, and its URL is
// http://upstream.test. Both serve HTTP/1.1, and HTTP/2 with [WithHTTP2]
// (h2c with prior knowledge over plain TCP and in memory, h2 over TLS).
// [Server.Transport] and [Server.Client] return a new transport set up to
// reach the server in its mode and protocol.
//
// # The synctest rule
//
// A testing/synctest bubble cannot wait on a real socket. Inside a bubble
// use the memory mode only, and make everything in the bubble: the server,
// its transport and client, and the contexts. Delay, BodyDelay and Hang
// then run on the bubble's fake clock, so a test can assert that a response
// took exactly 3s without waiting for it. Outside a bubble both modes run
// in real time. Rules about the wire (connection reuse, resets, TLS) are
// best tested over TCP, with no timing assertions.
//
//	synctest.Test(t, func(t *testing.T) {
//		srv := httpclienttest.NewMemoryServer(httpclienttest.Sequence{
//			{Status: 200, Body: []byte("slow"), Delay: 3 * time.Second},
//		})
//		defer srv.Close()
//		client := srv.Client()
//		defer client.CloseIdleConnections()
//		start := time.Now()
//		resp, err := client.Get(srv.URL + "/")
//		// ... time.Since(start) == 3*time.Second
//	})
//
// [Server.Close] closes every connection and waits for every goroutine the
// server started, so the bubble ends cleanly; closing the transport's idle
// connections as well is good manners.
//
// # Scripts
//
// A [Script] picks the [Response] for each hit, numbered from 1 across the
// server. [Sequence] plays a list and repeats its last element;
// [ScriptFunc] decides per request. [Status], [OK] and [Redirect] build
// responses; [Server.SetScript] swaps the script between hits.
//
// # Faults
//
// A Response's [Fault] breaks it on purpose. What the client (a default
// http.Transport, e.g. from [Server.Transport]) sees:
//
//	Fault                HTTP/1.1 (TCP, TLS, memory)          HTTP/2 (h2c, h2, memory)
//	ResetBeforeResponse  Do fails: syscall.ECONNRESET         Do fails: StreamError, INTERNAL_ERROR
//	CloseBeforeResponse  Do fails: io.EOF                     Do fails: StreamError, INTERNAL_ERROR
//	ResetMidBody         Do succeeds; the body gives the      Do succeeds; the body gives the
//	                     first half, then ECONNRESET          first half, then StreamError
//	TruncatedBody        Do succeeds; the body gives the first half, then io.ErrUnexpectedEOF
//	SlowBody             the whole body, after BodyDelay × (BodyChunks-1)
//	Hang                 Do fails with the client's context error (or when the server closes)
//
// In memory, a pipe has no RST: the server's end sets a flag and closes,
// and the client's end turns the pipe's io.EOF into the *net.OpError
// wrapping syscall.ECONNRESET that a socket gives, so errors.Is(err,
// syscall.ECONNRESET) holds in both modes. HTTP/2 resets only the stream,
// never the connection; net/http's stream error type is unexported, and
// errors.As into a [StreamError] reads it.
//
// http.Transport replays an idempotent request (GET, HEAD, or one with
// GetBody) whose reused HTTP/1 connection fails before the first response
// byte. So ResetBeforeResponse and CloseBeforeResponse on a kept-alive
// HTTP/1 connection cost two hits, and the client sees the second one's
// result; use a fresh transport, or a script whose next element is the
// same fault, to see the error. HTTP/2 does not replay INTERNAL_ERROR.
//
// # Counters and records
//
// [Server.Hits] counts requests whose headers were read, [Server.Conns]
// counts accepted connections (reuse keeps it low), and [Server.Requests]
// returns what each hit carried: method, path, host, protocol, headers,
// body (up to 1 MiB), and the status and fault the script chose.
// [WithLog] reports each hit as it is recorded.
package httpclienttest
