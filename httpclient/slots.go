package httpclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"reflect"
	"sync/atomic"
	"syscall"
)

// Following an attempt through net/http's pool (attemptTrace) costs an
// allocation and, over HTTP/2, a lock on the connection; it is only needed
// when the attempt could queue for a connection slot (R57). An attempt
// queues only when its host already has MaxConnsPerHost connections open or
// dialing and none idle. Every one of those connections went through the
// transport's dialer, or is being dialed for an attempt in flight. So while
// the transport's connections (counted by its dialer from the dial to the
// first Close) plus the attempts in flight through it stay under the bound,
// no attempt can queue, and attempts go unfollowed (R59).
//
// The counts are the transport's, over all its hosts: they only ever
// overstate one host's connections, which makes more attempts followed,
// never fewer. Whoever brings them to the bound (an attempt as it starts, a
// dial as it begins) bumps pressure; an unfollowed attempt that times out
// after a bump may have queued, and is not blamed on the upstream (R59).
type slotCounts struct {
	conns    atomic.Int64  // connections of the dialer, open or dialing
	inflight atomic.Int64  // attempts in flight through the transport
	pressure atomic.Uint64 // bumped whenever conns+inflight reach bound
	bound    atomic.Int64  // from MaxConnsPerHost; 0 until a client uses the transport
}

// slack is the share of MaxConnsPerHost kept between the bound and the
// limit, for the moment between net/http counting a dial and the dialer
// seeing it.
const slack = 8

// lower takes a client's MaxConnsPerHost into the bound: the smallest wins,
// and the bound never rises again.
func (s *slotCounts) lower(maxConnsPerHost int) {
	b := max(int64(maxConnsPerHost-maxConnsPerHost/slack), 1)
	for {
		cur := s.bound.Load()
		if cur != 0 && cur <= b {
			return
		}
		if s.bound.CompareAndSwap(cur, b) {
			return
		}
	}
}

// followed decides whether an attempt must be followed through the pool,
// given the transport's connections and the attempts in flight (itself
// included).
func followed(conns, inflight, bound int64) bool {
	return conns+inflight >= bound
}

// slotWatch is what an attempt on a slot-aware client knows of the pool.
type slotWatch struct {
	counts *slotCounts   // nil: the client is not slot-aware
	follow bool          // the pool was at the bound: follow the attempt
	ct     *attemptTrace // the attempt's trace when followed
	seq    uint64        // pressure when an unfollowed attempt began
}

// watch counts an attempt in flight and tells it whether to follow itself.
// The pressure is read before the attempt is counted, so that any attempt
// that starts followed after this one counted itself is seen as a bump when
// this one ends.
func (s *slotCounts) watch() slotWatch {
	seq := s.pressure.Load()
	n := s.inflight.Add(1)
	if followed(s.conns.Load(), n, s.bound.Load()) {
		s.pressure.Add(1)
		return slotWatch{counts: s, follow: true}
	}
	return slotWatch{counts: s, seq: seq}
}

// done uncounts the attempt.
func (w *slotWatch) done() {
	if w.counts != nil {
		w.counts.inflight.Add(-1)
		w.counts = nil
	}
}

// queued reports an attempt known to have spent most of its time queued
// for a slot, and whether it then got a connection, so that it may have
// been sent.
func (w *slotWatch) queued() (queued, sent bool) {
	return w.ct.slotWait()
}

// mayHaveQueued reports an attempt that may have spent most of its time
// queued for a slot: known to, or unfollowed while the pool came under
// pressure.
func (w *slotWatch) mayHaveQueued(counts *slotCounts) bool {
	if w.ct != nil {
		q, _ := w.ct.slotWait()
		return q
	}
	return counts != nil && counts.pressure.Load() != w.seq
}

// noteDial counts a dial beginning and bumps the pressure at the bound.
func (s *slotCounts) noteDial() {
	if followed(s.conns.Add(1), s.inflight.Load(), s.bound.Load()) {
		s.pressure.Add(1)
	}
}

// countedConn is a connection of a NewTransport dialer, counted until its
// first Close.
type countedConn struct {
	net.Conn
	counts *slotCounts
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.counts.conns.Add(-1)
	}
	return c.Conn.Close()
}

// NetConn returns the connection the dialer made (a *net.TCPConn), as
// tls.Conn's NetConn does, for code that needs its own methods.
func (c *countedConn) NetConn() net.Conn { return c.Conn }

// SyscallConn keeps the socket reachable (TCP_INFO, socket options).
func (c *countedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errNoSyscallConn
}

// ReadFrom keeps the TCP connection's sendfile and splice for request
// bodies that are files or sockets.
func (c *countedConn) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(c.Conn, r)
}

// CloseWrite half-closes the connection when it can: a protocol upgrade's
// body (101 Switching Protocols) is the connection itself.
func (c *countedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errNoHalfClose
}

var (
	errNoHalfClose   = errors.New("httpclient: connection cannot be half-closed")
	errNoSyscallConn = errors.New("httpclient: connection has no file descriptor")
)

// slotProbe asks a NewTransport dialer for its counts: New dials with it
// in the context, and the dialer answers without dialing.
type slotProbe struct{ counts *slotCounts }

type slotProbeKey struct{}

var errSlotProbe = errors.New("httpclient: slot probe, not a dial")

// transportSlots returns the counts of rt's dialer, or nil when rt is not
// a net/http transport from NewTransport with its dialer, a bound on
// connections per host and no dialer of its own for TLS.
func transportSlots(rt http.RoundTripper) *slotCounts {
	t, ok := rt.(*http.Transport)
	if !ok || t.MaxConnsPerHost <= 0 || t.DialTLSContext != nil || t.DialTLS != nil || //lint:ignore SA1019 DialTLS still bypasses DialContext
		t.DialContext == nil || reflect.ValueOf(t.DialContext).Pointer() != ownDialPC() {
		return nil // a dialer of the caller's own is never called here
	}
	p := new(slotProbe)
	if _, err := t.DialContext(context.WithValue(context.Background(), slotProbeKey{}, p), "tcp", ""); err != errSlotProbe {
		return nil
	}
	return p.counts
}
