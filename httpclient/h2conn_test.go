package httpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"go.uber.org/goleak"
)

// connWatch is an httptest server whose one response is held after its first
// chunk until release is closed, and which reports when a connection closes.
type connWatch struct {
	srv     *httptest.Server
	release chan struct{}
	closed  chan struct{} // one value per closed connection
	opened  atomic.Int32
}

const firstChunk, secondChunk = "first-", "second"

func newConnWatch(t *testing.T, h2 bool) *connWatch {
	t.Helper()
	w := &connWatch{release: make(chan struct{}), closed: make(chan struct{}, 16)}
	w.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		io.WriteString(rw, firstChunk)
		http.NewResponseController(rw).Flush()
		select {
		case <-w.release:
		case <-r.Context().Done():
			return
		}
		io.WriteString(rw, secondChunk)
	}))
	w.srv.EnableHTTP2 = h2
	w.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			w.opened.Add(1)
		case http.StateClosed, http.StateHijacked:
			w.closed <- struct{}{}
		}
	}
	w.srv.StartTLS()
	t.Cleanup(w.srv.Close)
	return w
}

// trust makes tr trust the server's certificate; tr must not have been used.
func (w *connWatch) trust(tr *http.Transport) {
	pool := x509.NewCertPool()
	pool.AddCert(w.srv.Certificate())
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
}

// awaitClose waits, bounded, for the server to see a connection close.
func (w *connWatch) awaitClose(t *testing.T, what string) {
	t.Helper()
	select {
	case <-w.closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("R30: %s: the connection was still open 10s later (the idle timeout is 90s)", what)
	}
}

// R30: Close closes a connection of the client's own transport that was busy
// at Close once its response body ends, and does not cut that body. net/http
// closes such an HTTP/1 connection when it comes back to the pool after
// CloseIdleConnections; its HTTP/2 pool closes only the connections idle at
// that moment, so an HTTP/2 connection busy at Close stayed open, with its
// read goroutine, for the 90s idle timeout.
func TestClose_R30_BusyOwnConnClosedWhenBodyEnds(t *testing.T) {
	for _, proto := range []string{"HTTP1", "HTTP2"} {
		for _, timeout := range []string{"timed", "NoTimeout"} {
			for _, end := range []string{"read-to-EOF", "closed-early"} {
				t.Run(proto+"/"+timeout+"/"+end, func(t *testing.T) {
					busyOwnConnClosed(t, proto == "HTTP2", timeout == "NoTimeout", end == "closed-early")
				})
			}
		}
	}
}

func busyOwnConnClosed(t *testing.T, h2, noTimeout, early bool) {
	before := goleak.IgnoreCurrent()
	w := newConnWatch(t, h2)
	c, err := New(w.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	w.trust(c.ownTransport)
	t.Cleanup(c.ownTransport.CloseIdleConnections) // after a failure
	var opts []RequestOption
	if noTimeout {
		opts = append(opts, NoTimeout())
	}
	resp, err := c.Get(context.Background(), "/", opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if want := map[bool]int{false: 1, true: 2}[h2]; resp.ProtoMajor != want {
		t.Fatalf("HTTP/%d, want HTTP/%d", resp.ProtoMajor, want)
	}
	buf := make([]byte, len(firstChunk))
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}

	c.Close() // the connection is busy: this body is being read
	close(w.release)
	if early {
		resp.Body.Close()
	} else {
		rest, err := io.ReadAll(resp.Body) // to EOF, not closed yet
		if err != nil || string(rest) != secondChunk {
			t.Fatalf("R30: the body read after Close got %q, %v; want %q, nil", rest, err, secondChunk)
		}
	}
	w.awaitClose(t, "after the body ended")
	resp.Body.Close()
	if n := w.opened.Load(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	w.srv.Close()
	goleak.VerifyNone(t, before) // no read loop of the closed connection is left
}

// R30: Close never closes a connection of a transport passed with
// WithTransport, busy or not: after the call's body ends, the transport
// still reuses it.
func TestClose_R30_PassedTransportConnKept(t *testing.T) {
	w := newConnWatch(t, true)
	tr := &http.Transport{ForceAttemptHTTP2: true}
	w.trust(tr)
	defer tr.CloseIdleConnections()
	c, _ := New(w.srv.URL, WithTransport(tr))
	resp, err := c.Get(context.Background(), "/")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	close(w.release)
	if got := readAll(t, resp); got != firstChunk+secondChunk {
		t.Fatalf("body %q", got)
	}
	var reused bool
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
	req, _ := http.NewRequestWithContext(ctx, "GET", w.srv.URL, nil)
	resp, err = tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, resp)
	if !reused || resp.ProtoMajor != 2 {
		t.Errorf("R30: the passed transport's HTTP/2 connection was not reused after Close (reused %v, HTTP/%d)", reused, resp.ProtoMajor)
	}
}

// dropFirst is a listener that reads its first connection's HTTP/2 client
// preface and closes it, as an upstream or a balancer that drops a
// connection before sending its SETTINGS; later connections are served.
type dropFirst struct {
	net.Listener
	dropped atomic.Bool
	wg      sync.WaitGroup
}

func (l *dropFirst) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil || !l.dropped.CompareAndSwap(false, true) {
			return c, err
		}
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			io.ReadFull(c, make([]byte, len("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")))
			c.Close()
		}()
	}
}

// signalConn closes closed when the client closes it.
type signalConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *signalConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// R6, R38: net/http's HTTP/2 client fails a request with "http2: client
// conn could not be established" when the connection it dialled for it ended
// before the request's stream was opened: nothing of the request was
// written. It is retried for every method (a POST without a key included),
// is classed http2_reset, and counts as a breaker failure, as a refused
// connection does: the upstream dropped the connection.
func TestRetry_R38_HTTP2ConnNotEstablished(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method, func(t *testing.T) {
			ln := &dropFirst{Listener: httptest.NewUnstartedServer(nil).Listener}
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
			}))
			srv.Listener.Close()
			srv.Listener = ln
			srv.Config.Protocols = new(http.Protocols)
			srv.Config.Protocols.SetHTTP1(true)
			srv.Config.Protocols.SetUnencryptedHTTP2(true)
			srv.Start()
			defer func() { srv.Close(); ln.wg.Wait() }()

			// An h2c client: the first connection it dials is the one
			// dropped; GotConn holds the request until the client has seen
			// that connection end, so that net/http finds it closed before
			// opening the request's stream, as it does when the drop comes
			// first.
			firstClosed := make(chan struct{})
			var dials atomic.Int32
			p := new(http.Protocols)
			p.SetUnencryptedHTTP2(true)
			tr := &http.Transport{Protocols: p, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
				if err != nil || dials.Add(1) != 1 {
					return c, err
				}
				return &signalConn{Conn: c, closed: firstClosed}, nil
			}}
			defer tr.CloseIdleConnections()
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
				if _, first := i.Conn.(*signalConn); first {
					select {
					case <-firstClosed:
					case <-time.After(10 * time.Second):
						t.Error("the client never saw the dropped connection end")
					}
				}
			}})

			var rec recorder
			c, _ := New(srv.URL, WithTransport(tr), WithRetryPolicy(fastRetry), WithHooks(rec.hooks()), WithCircuitBreaker(5, time.Hour))
			defer c.Close()
			var opts []RequestOption
			if method == http.MethodPost {
				opts = append(opts, JSON(map[string]int{"order": 7})) // no key: retried only as not sent
			}
			resp, err := c.Request(ctx, method, "/orders", opts...)
			if err != nil {
				t.Fatalf("R38: %s not retried: %v", method, err)
			}
			if got := readAll(t, resp); got != "ok" || resp.ProtoMajor != 2 {
				t.Fatalf("HTTP/%d %q", resp.ProtoMajor, got)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.results) != 2 {
				t.Fatalf("%d attempts, want 2", len(rec.results))
			}
			first := rec.results[0]
			if first.Err == nil || first.Err.Error() != "http2: client conn could not be established" {
				t.Fatalf("first attempt failed with %v, want net/http's not-established error", first.Err)
			}
			if first.Class != "http2_reset" {
				t.Errorf("R44: class %q, want http2_reset", first.Class)
			}
			if first.Outcome != breaker.Failure {
				t.Errorf("R17: outcome %v, want a failure: the upstream dropped the connection", first.Outcome)
			}
			if !provesNotSent(first.Err, true) || provesNotSent(first.Err, false) {
				t.Error("R38: trusted from a net/http *http.Transport only")
			}
		})
	}
}

// R38: the HTTP/2 not-sent errors are recognised by their own value in the
// chain, never by text a server could put inside another error.
func TestClassify_R38_HTTP2NotSentErrors(t *testing.T) {
	for _, s := range []string{
		"http2: client conn could not be established",
		"http2: client conn not usable",
	} {
		err := &url.Error{Op: "Post", URL: "http://x.test/", Err: &attemptTimeoutError{err: errors.New(s)}}
		if !h2NotSent(errors.New(s)) || !h2NotSent(err) || !h2NotSent(fmt.Errorf("a (%w) b (%w)", context.Canceled, errors.New(s))) {
			t.Errorf("%q not recognised", s)
		}
		if h2NotSent(fmt.Errorf(`net/http: malformed HTTP response %q`, s)) {
			t.Errorf("%q recognised inside another error's text", s)
		}
	}
	if h2NotSent(errors.New("http2: client conn is closed")) {
		t.Error("a connection closed while the request body was written is not proof")
	}
}
