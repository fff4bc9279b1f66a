package httpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"sync/atomic"
	"testing"
	"time"

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
