package httpclienttest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxRecordedBody bounds the request body kept in [Request.Body].
const maxRecordedBody = 1 << 20

// MemoryURL is the URL of every server made by [NewMemoryServer].
const MemoryURL = "http://upstream.test"

// config holds the options.
type config struct {
	http2 bool
	tls   bool
	log   func(Request)
}

// Option configures a [Server].
type Option func(*config)

// WithHTTP2 makes the server speak HTTP/2 as well as HTTP/1.1, and makes
// [Server.Transport] and [Server.Client] speak HTTP/2 only: h2c (HTTP/2
// with prior knowledge, no TLS) over plain TCP and in memory, h2 over TLS.
func WithHTTP2() Option {
	return func(c *config) { c.http2 = true }
}

// WithTLS serves HTTPS with a self-signed certificate for 127.0.0.1, ::1,
// localhost and upstream.test, as [net/http/httptest.NewTLSServer] does.
// [Server.Transport] trusts it; other transports do not. [NewServer] only:
// [NewMemoryServer] panics when given this option.
func WithTLS() Option {
	return func(c *config) { c.tls = true }
}

// WithLog calls fn with a copy of each request after it is recorded and
// before the server acts on it (before Delay). fn runs on the handler's
// goroutine, so it should return quickly; a fn that blocks holds that
// response.
func WithLog(fn func(Request)) Option {
	return func(c *config) { c.log = fn }
}

// Request is what the server received for one hit.
type Request struct {
	Hit    int         // the hit number, from 1
	Method string      // request method
	Path   string      // r.URL.RequestURI() as received, e.g. "/a?b=c"
	Host   string      // r.Host: the Host header, or :authority on HTTP/2
	Proto  string      // "HTTP/1.1" or "HTTP/2.0"
	Header http.Header // a clone of the request headers
	Body   []byte      // the request body read in full, at most 1 MiB kept; nil if empty
	Fault  Fault       // the fault the script chose
	Status int         // the status the script chose (200 for 0)
}

func (r Request) clone() Request {
	r.Header = r.Header.Clone()
	r.Body = bytes.Clone(r.Body)
	return r
}

// Server is a scripted upstream HTTP server. Make one with [NewServer] or
// [NewMemoryServer] and stop it with [Server.Close]. Its methods are safe
// for concurrent use.
type Server struct {
	// URL is the base URL, with no trailing slash: http://127.0.0.1:PORT,
	// https://127.0.0.1:PORT with WithTLS, or http://upstream.test in
	// memory.
	URL string

	cfg     config
	srv     *http.Server
	mem     *memListener // memory mode only
	tcpAddr string       // TCP mode only
	certs   *x509.CertPool
	cert    *x509.Certificate

	script    atomic.Pointer[scriptBox]
	hits      atomic.Int64
	conns     atomic.Int64
	nextPort  atomic.Int64 // client ports of memory pipes
	done      chan struct{}
	serving   sync.WaitGroup // the Serve goroutine
	active    sync.WaitGroup // handlers and connection goroutines
	closeOnce sync.Once

	mu     sync.Mutex
	closed bool
	open   map[*serverConn]struct{}
	reqs   []Request
}

type scriptBox struct{ Script }

// NewServer starts a server on a real TCP listener on 127.0.0.1, port
// chosen by the system. It serves HTTP/1.1, and HTTP/2 with WithHTTP2. Do
// not use it inside a testing/synctest bubble: use [NewMemoryServer]. It
// panics if it cannot listen. A nil script answers 200 OK.
func NewServer(s Script, opts ...Option) *Server {
	srv := newServer(s, opts)
	scheme := "http://"
	if srv.cfg.tls {
		cert, leaf, err := selfSignedCert()
		if err != nil {
			panic("httpclienttest: cannot make a certificate: " + err.Error())
		}
		srv.cert = leaf
		srv.certs = x509.NewCertPool()
		srv.certs.AddCert(leaf)
		srv.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		scheme = "https://"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("httpclienttest: cannot listen: " + err.Error())
	}
	srv.tcpAddr = ln.Addr().String()
	srv.URL = scheme + srv.tcpAddr
	tl := &trackingListener{Listener: ln, s: srv}
	srv.serving.Add(1)
	go func() {
		defer srv.serving.Done()
		if srv.cfg.tls {
			srv.srv.ServeTLS(tl, "", "")
		} else {
			srv.srv.Serve(tl)
		}
	}()
	return srv
}

// NewMemoryServer starts a server that has no socket: [Server.DialContext]
// connects to it over net.Pipe. Its URL is [MemoryURL], and any address
// dialled through its DialContext reaches it. Everything it starts is
// goroutines, channels and timers, so it works inside a testing/synctest
// bubble when it is made inside the bubble (and so are the transports that
// use it). It does not support WithTLS and panics if given it.
func NewMemoryServer(s Script, opts ...Option) *Server {
	srv := newServer(s, opts)
	if srv.cfg.tls {
		panic("httpclienttest: NewMemoryServer does not support WithTLS; use NewServer")
	}
	srv.URL = MemoryURL
	srv.mem = newMemListener()
	srv.nextPort.Store(49151)
	tl := &trackingListener{Listener: srv.mem, s: srv}
	srv.serving.Add(1)
	go func() {
		defer srv.serving.Done()
		srv.srv.Serve(tl)
	}()
	return srv
}

func newServer(sc Script, opts []Option) *Server {
	s := &Server{done: make(chan struct{}), open: make(map[*serverConn]struct{})}
	for _, o := range opts {
		if o != nil {
			o(&s.cfg)
		}
	}
	s.SetScript(sc)
	var p http.Protocols
	p.SetHTTP1(true)
	if s.cfg.http2 {
		if s.cfg.tls {
			p.SetHTTP2(true)
		} else {
			p.SetUnencryptedHTTP2(true)
		}
	}
	s.srv = &http.Server{
		Handler:   handler{s},
		Protocols: &p,
		ConnState: s.connState,
		ErrorLog:  log.New(panicsOnly{}, "", 0),
	}
	return s
}

// Transport returns a new transport that reaches this server: it dials
// with [Server.DialContext] (so every host name reaches the server), trusts
// the certificate with WithTLS, and speaks only HTTP/2 with WithHTTP2 (only
// HTTP/1.1 otherwise). With WithHTTP2 its MaxConnsPerHost is 1, so that
// sequential and concurrent requests share one connection and Conns stays
// at 1. Each call returns a new transport with its own connection pool;
// the caller may change its settings and close its idle connections.
func (s *Server) Transport() *http.Transport {
	var p http.Protocols
	switch {
	case !s.cfg.http2:
		p.SetHTTP1(true)
	case s.cfg.tls:
		p.SetHTTP2(true)
	default:
		p.SetUnencryptedHTTP2(true)
	}
	tr := &http.Transport{DialContext: s.DialContext, Protocols: &p}
	if s.cfg.http2 {
		// One connection, shared by every stream. Without a limit, a
		// request that starts just after the first h2c connection
		// delivered its first response can dial a second connection:
		// net/http pools a new h2c connection only after handing it to
		// its first request. Concurrent first requests would also each
		// dial one.
		tr.MaxConnsPerHost = 1
	}
	if s.certs != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: s.certs}
	}
	return tr
}

// Client returns &http.Client{Transport: s.Transport()}.
func (s *Server) Client() *http.Client {
	return &http.Client{Transport: s.Transport()}
}

// Certificate returns the server's self-signed certificate with WithTLS,
// and nil otherwise.
func (s *Server) Certificate() *x509.Certificate {
	return s.cert
}

// DialContext opens a new connection to the server, whatever network and
// addr say. In memory it makes a net.Pipe and waits for the server to
// accept it, until ctx ends; after Close it fails with ECONNREFUSED, as a
// closed socket does. In TCP mode it dials the listener.
func (s *Server) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	if s.mem == nil {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", s.tcpAddr)
	}
	clientAddr := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(s.nextPort.Add(1))}
	client, server := newMemoryPipe(clientAddr)
	select {
	case s.mem.conns <- server:
		return client, nil
	case <-ctx.Done():
		client.Close()
		server.Close()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Source: clientAddr, Addr: memoryAddr, Err: ctx.Err()}
	case <-s.mem.closed:
		client.Close()
		server.Close()
		return nil, &net.OpError{Op: "dial", Net: "tcp", Source: clientAddr, Addr: memoryAddr,
			Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
}

// SetScript replaces the script for the hits that follow. A nil script
// answers 200 OK.
func (s *Server) SetScript(sc Script) {
	if sc == nil {
		sc = Sequence(nil)
	}
	s.script.Store(&scriptBox{sc})
}

// Hits returns the number of requests received so far. A request is a hit
// as soon as its headers are read, before its body is.
func (s *Server) Hits() int {
	return int(s.hits.Load())
}

// Conns returns the number of connections accepted so far. Connection reuse
// keeps it low.
func (s *Server) Conns() int {
	return int(s.conns.Load())
}

// Requests returns copies of the requests recorded so far, in hit order. A
// request is recorded once its body is read and the script has answered,
// so a hit whose body is still arriving is counted by Hits but not listed
// yet.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	out := make([]Request, len(s.reqs))
	for i, r := range s.reqs {
		out[i] = r.clone()
	}
	s.mu.Unlock()
	slices.SortStableFunc(out, func(a, b Request) int { return a.Hit - b.Hit })
	return out
}

// Close stops the server: it stops accepting, closes every connection
// (idle, active, hijacked and hung ones), ends every Delay, BodyDelay and
// Hang, and waits for the handler and connection goroutines to return. It
// is safe to call more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.done)
		s.srv.Close()
		s.serving.Wait()
		s.mu.Lock()
		open := s.open
		s.open = nil
		s.mu.Unlock()
		for c := range open {
			c.Conn.Close()
		}
		s.active.Wait()
	})
}

func (s *Server) trackConn(c *serverConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.open[c] = struct{}{}
	s.conns.Add(1)
	return true
}

func (s *Server) untrackConn(c *serverConn) {
	s.mu.Lock()
	delete(s.open, c)
	s.mu.Unlock()
}

// connState counts the connection goroutines: net/http reports StateNew
// before Serve returns, and exactly one of StateHijacked or StateClosed at
// the end.
func (s *Server) connState(_ net.Conn, st http.ConnState) {
	switch st {
	case http.StateNew:
		s.active.Add(1)
	case http.StateHijacked, http.StateClosed:
		s.active.Done()
	}
}

// enterHandler counts a handler goroutine, unless the server is closing.
func (s *Server) enterHandler() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.active.Add(1)
	return true
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	s.reqs = append(s.reqs, r)
	s.mu.Unlock()
}

// sleep waits for d, and reports false if ctx ended or the server closed
// first.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// panicsOnly is the http.Server's error log. The faults make net/http
// report aborted handlers and untrusting TLS clients on purpose, so those
// are dropped; a panic in a Script or a WithLog function is not a fault and
// goes to standard error with its stack.
type panicsOnly struct{}

func (panicsOnly) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("panic serving")) {
		os.Stderr.Write(append([]byte("httpclienttest: "), p...))
	}
	return len(p), nil
}

type handler struct{ s *Server }

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.s
	if !s.enterHandler() {
		abort()
	}
	defer s.active.Done()
	hit := int(s.hits.Add(1))

	body, _ := io.ReadAll(io.LimitReader(r.Body, maxRecordedBody))
	io.Copy(io.Discard, r.Body)
	if len(body) == 0 {
		body = nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

	resp := s.script.Load().Respond(hit, r)
	status := resp.Status
	if status == 0 {
		status = http.StatusOK
	}
	rec := Request{
		Hit:    hit,
		Method: r.Method,
		Path:   r.URL.RequestURI(),
		Host:   r.Host,
		Proto:  r.Proto,
		Header: r.Header.Clone(),
		Body:   body,
		Fault:  resp.Fault,
		Status: status,
	}
	s.record(rec)
	if s.cfg.log != nil {
		s.cfg.log(rec.clone())
	}
	s.respond(w, r, resp, status)
}

// abort ends the handler without a response: net/http closes an HTTP/1
// connection and resets an HTTP/2 stream, and logs nothing.
func abort() {
	panic(http.ErrAbortHandler)
}

func (s *Server) respond(w http.ResponseWriter, r *http.Request, resp Response, status int) {
	ctx := r.Context()
	if !s.sleep(ctx, resp.Delay) {
		abort()
	}
	rc := http.NewResponseController(w)
	switch resp.Fault {
	case ResetBeforeResponse, CloseBeforeResponse:
		breakConn(rc, r, resp.Fault == ResetBeforeResponse, false)
	case Hang:
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		abort()
	case ResetMidBody, TruncatedBody:
		writeHeader(w, resp, status)
		w.Write(resp.Body[:len(resp.Body)/2])
		rc.Flush()
		breakConn(rc, r, resp.Fault == ResetMidBody, true)
	case SlowBody:
		writeHeader(w, resp, status)
		n := resp.BodyChunks
		if n <= 0 {
			n = 4
		}
		b := resp.Body
		for i := range n {
			if i > 0 && !s.sleep(ctx, resp.BodyDelay) {
				abort()
			}
			w.Write(b[i*len(b)/n : (i+1)*len(b)/n])
			rc.Flush()
		}
	default:
		writeHeader(w, resp, status)
		w.Write(resp.Body)
	}
}

// writeHeader writes the status and headers, with the Content-Length of the
// full body unless the script set its own framing.
func writeHeader(w http.ResponseWriter, resp Response, status int) {
	h := w.Header()
	for k, vs := range resp.Header {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	if bodyAllowed(status) && h.Get("Content-Length") == "" && h.Get("Transfer-Encoding") == "" {
		h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	}
	w.WriteHeader(status)
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// breakConn ends the response early. HTTP/1: the connection is hijacked
// (which flushes what was written) and reset or closed. HTTP/2: the stream
// is reset, except that a clean end after headers (TruncatedBody) just ends
// the stream short.
func breakConn(rc *http.ResponseController, r *http.Request, reset, wroteHeader bool) {
	if r.ProtoMajor != 1 {
		if reset || !wroteHeader {
			abort()
		}
		return
	}
	conn, _, err := rc.Hijack()
	if err != nil {
		abort()
	}
	if reset {
		resetConn(conn)
	} else {
		conn.Close()
	}
}
