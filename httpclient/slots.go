package httpclient

import (
	"errors"
	"io"
	"math"
	"net"
	"sync/atomic"
)

// Following an attempt through net/http's pool (attemptTrace) costs an
// allocation and, over HTTP/2, a lock on the connection; it is only needed
// when the attempt could queue for a connection slot (R57). An attempt
// queues only when its host already has MaxConnsPerHost connections open or
// dialing, and every one of those went through a NewTransport dialer. So
// while the connections those dialers hold plus the attempts in flight on
// slot-aware clients stay at or below half the smallest such bound (the
// floor), no attempt can queue, and attempts go unfollowed (R59).
//
// The two counts are process-wide, over every host and every transport:
// they only ever overstate a host's connections, which makes more attempts
// followed, never fewer. Whoever finds them above the floor (an attempt as
// it starts, a dial as it begins) bumps slotPressure; an unfollowed attempt
// that times out after a bump may have queued, and is not blamed on the
// upstream (R59).
var (
	slotConns    atomic.Int64  // connections of NewTransport's dialers, open or dialing
	slotInflight atomic.Int64  // attempts in flight on slot-aware clients
	slotPressure atomic.Uint64 // bumped whenever the two pass the floor
	slotFloorP1  atomic.Int64  // the floor plus one; 0 before any slot-aware client
)

// slotFloor returns half the smallest MaxConnsPerHost of a slot-aware client.
func slotFloor() int64 {
	f := slotFloorP1.Load()
	if f == 0 {
		return math.MaxInt64
	}
	return f - 1
}

// lowerSlotFloor takes a slot-aware client's bound into the floor. The floor
// never rises again: a closed client's bound only makes attempts followed
// that need not be.
func lowerSlotFloor(maxConnsPerHost int) {
	f := int64(maxConnsPerHost/2) + 1
	for {
		cur := slotFloorP1.Load()
		if cur != 0 && cur <= f {
			return
		}
		if slotFloorP1.CompareAndSwap(cur, f) {
			return
		}
	}
}

// slotWatch is what an attempt on a slot-aware client knows of the pool.
type slotWatch struct {
	on     bool          // the client is slot-aware: the attempt is counted in flight
	follow bool          // the pool was above the floor: follow the attempt
	ct     *attemptTrace // the attempt's trace when followed
	seq    uint64        // slotPressure when an unfollowed attempt began
}

// followed decides whether an attempt must be followed through the pool,
// given the pool's connections and the attempts in flight (itself included).
func followed(conns, inflight, floor int64) bool {
	return conns+inflight > floor
}

// watchSlots counts an attempt in flight and tells it whether to follow
// itself. The pressure is read before the attempt is counted, so that any
// attempt that starts followed after this one counted itself is seen as a
// bump when this one ends.
func watchSlots() slotWatch {
	seq := slotPressure.Load()
	n := slotInflight.Add(1)
	if followed(slotConns.Load(), n, slotFloor()) {
		slotPressure.Add(1)
		return slotWatch{on: true, follow: true}
	}
	return slotWatch{on: true, seq: seq}
}

// done uncounts the attempt once its round trip returned: it holds a
// connection or wants none.
func (w *slotWatch) done() {
	if w.on {
		slotInflight.Add(-1)
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
func (w *slotWatch) mayHaveQueued() bool {
	if w.ct != nil {
		q, _ := w.ct.slotWait()
		return q
	}
	return w.on && slotPressure.Load() != w.seq
}

// countedConn is a connection of a NewTransport dialer, counted in
// slotConns until its first Close.
type countedConn struct {
	net.Conn
	closed atomic.Bool
}

func countConn(c net.Conn) *countedConn {
	return &countedConn{Conn: c}
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		slotConns.Add(-1)
	}
	return c.Conn.Close()
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

var errNoHalfClose = errors.New("httpclient: connection cannot be half-closed")

// noteSlotDial counts a dial beginning and bumps the pressure past the floor.
func noteSlotDial() {
	if slotConns.Add(1) > slotFloor() {
		slotPressure.Add(1)
	}
}
