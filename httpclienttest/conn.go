package httpclienttest

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// memoryAddr is the address of the in-memory server's end of every pipe.
var memoryAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 80}

// pipeState is shared by the two ends of one in-memory connection.
type pipeState struct {
	mu    sync.Mutex
	reset bool // the server end reset the connection
}

func (p *pipeState) wasReset() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reset
}

// memConn is one end of a net.Pipe with TCP-looking addresses. On the client
// end, reads and writes after the server reset the connection fail with
// ECONNRESET, as on a socket, instead of the pipe's io.EOF.
type memConn struct {
	net.Conn
	local, remote net.Addr
	state         *pipeState
	client        bool
}

func newMemoryPipe(clientAddr net.Addr) (client, server *memConn) {
	c, s := net.Pipe()
	st := &pipeState{}
	client = &memConn{Conn: c, local: clientAddr, remote: memoryAddr, state: st, client: true}
	server = &memConn{Conn: s, local: memoryAddr, remote: clientAddr, state: st}
	return client, server
}

func (c *memConn) LocalAddr() net.Addr  { return c.local }
func (c *memConn) RemoteAddr() net.Addr { return c.remote }

func (c *memConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && c.client && (err == io.EOF || err == io.ErrClosedPipe) && c.state.wasReset() {
		err = c.resetError("read")
	}
	return n, err
}

func (c *memConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && c.client && err == io.ErrClosedPipe && c.state.wasReset() {
		err = c.resetError("write")
	}
	return n, err
}

func (c *memConn) resetError(op string) error {
	return &net.OpError{Op: op, Net: "tcp", Source: c.local, Addr: c.remote,
		Err: os.NewSyscallError(op, syscall.ECONNRESET)}
}

// resetClose closes the server end so that the client end sees a reset.
func (c *memConn) resetClose() error {
	c.state.mu.Lock()
	c.state.reset = true
	c.state.mu.Unlock()
	return c.Conn.Close()
}

// memListener is the in-memory server's listener: DialContext hands it the
// server end of each new pipe.
type memListener struct {
	conns     chan net.Conn
	closed    chan struct{}
	closeOnce sync.Once
}

func newMemListener() *memListener {
	return &memListener{conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *memListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return nil
}

func (l *memListener) Addr() net.Addr { return memoryAddr }

// trackingListener counts accepted connections and keeps every open one, so
// that Server.Close can close them all, hijacked or not.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	sc := &serverConn{Conn: c, s: l.s}
	if !l.s.trackConn(sc) {
		c.Close()
		return nil, net.ErrClosed
	}
	return sc, nil
}

// serverConn is the server's end of an accepted connection.
type serverConn struct {
	net.Conn
	s    *Server
	once sync.Once
}

func (c *serverConn) Close() error {
	c.once.Do(func() { c.s.untrackConn(c) })
	return c.Conn.Close()
}

// CloseWrite keeps the half-close net/http does before closing a TCP
// connection; pipes have no half-close.
func (c *serverConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// reset closes the connection so that the peer sees a reset: a TCP RST
// (linger 0), or the emulated reset of a pipe.
func (c *serverConn) reset() error {
	c.once.Do(func() { c.s.untrackConn(c) })
	switch inner := c.Conn.(type) {
	case *net.TCPConn:
		inner.SetLinger(0)
	case *memConn:
		return inner.resetClose()
	}
	return c.Conn.Close()
}

// resetConn resets a hijacked connection. On TLS, the raw connection is
// closed so that no close_notify alert goes out first.
func resetConn(c net.Conn) error {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if sc, ok := c.(*serverConn); ok {
		return sc.reset()
	}
	return c.Close()
}
