package httpclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/tempestsdk/tempest/breaker"
)

// withSlotFloor sets the process-wide floor for one test and restores it.
func withSlotFloor(t *testing.T, floor int64) {
	t.Helper()
	prev := slotFloorP1.Load()
	slotFloorP1.Store(floor + 1)
	t.Cleanup(func() { slotFloorP1.Store(prev) })
}

// R59: an attempt is followed through the pool exactly when the
// connections of NewTransport's dialers plus the attempts in flight pass
// the floor.
func TestFollowed_R59_AboveTheFloorOnly(t *testing.T) {
	for _, tc := range []struct {
		conns, inflight, floor int64
		want                   bool
	}{
		{0, 1, 256, false},
		{255, 1, 256, false},
		{256, 1, 256, true},
		{0, 257, 256, true},
		{0, 1, 0, true}, // MaxConnsPerHost 1: every attempt is followed
		{0, 1, slotFloor(), slotFloor() < 1},
	} {
		if got := followed(tc.conns, tc.inflight, tc.floor); got != tc.want {
			t.Errorf("followed(%d, %d, %d) = %v, want %v", tc.conns, tc.inflight, tc.floor, got, tc.want)
		}
	}
}

// R59: the floor is half the smallest MaxConnsPerHost of a slot-aware
// client, and a larger bound never raises it.
func TestSlotFloor_R59_SmallestBoundWins(t *testing.T) {
	prev := slotFloorP1.Load()
	defer slotFloorP1.Store(prev)
	slotFloorP1.Store(0)
	if slotFloor() < 1<<40 {
		t.Fatalf("floor %d before any slot-aware client", slotFloor())
	}
	for _, tc := range []struct{ bound, want int }{{512, 256}, {1024, 256}, {9, 4}, {512, 4}, {1, 0}, {64, 0}} {
		lowerSlotFloor(tc.bound)
		if got := slotFloor(); got != int64(tc.want) {
			t.Fatalf("after a client with MaxConnsPerHost %d: floor %d, want %d", tc.bound, got, tc.want)
		}
	}
	tr := NewTransport()
	tr.MaxConnsPerHost = 40
	slotFloorP1.Store(0)
	c, err := New("", WithTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := slotFloor(); got != 20 {
		t.Fatalf("New with MaxConnsPerHost 40 left the floor at %d, want 20", got)
	}
}

// R59: below the floor an attempt goes unfollowed (no trace, no
// allocation for it); above it, it is followed as R57 describes.
func TestWatchSlots_R59_FollowsOnlyAboveTheFloor(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	tr := NewTransport()
	defer tr.CloseIdleConnections()
	var seen atomic.Int32 // 1: unfollowed, 2: followed
	hooks := Hooks{AttemptStart: func(ctx context.Context, _ *http.Request, _ Attempt) context.Context {
		if _, ok := ctx.Value(attemptTraceKey{}).(*attemptTrace); ok {
			seen.Store(2)
		} else {
			seen.Store(1)
		}
		return ctx
	}}
	c, err := New(srv.URL, WithTransport(tr), WithHooks(hooks))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tc := range []struct {
		floor int64
		want  int32
	}{{1 << 30, 1}, {0, 2}} {
		withSlotFloor(t, tc.floor)
		before := slotInflight.Load()
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := seen.Load(); got != tc.want {
			t.Errorf("floor %d: attempt followed=%v, want %v", tc.floor, got == 2, tc.want == 2)
		}
		if after := slotInflight.Load(); after != before {
			t.Errorf("attempts in flight %d after the call, %d before", after, before)
		}
	}
}

// R59: an unfollowed attempt that times out counts against the upstream as
// R4 says, unless the pool came under pressure while it waited: then it may
// have queued for a slot, so it counts for nothing, and, since it may also
// have been sent, a POST is not sent again.
func TestUnfollowedTimeout_R59_PressureMeansNoBlame(t *testing.T) {
	for _, pressure := range []bool{false, true} {
		release := make(chan struct{})
		var hits atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if pressure {
				slotPressure.Add(1) // another attempt found the pool above the floor
			}
			<-release
		}))
		tr := NewTransport()
		hooks, attempts := countAttempts()
		c, err := New(srv.URL, WithTransport(tr), WithCircuitBreaker(1, time.Hour), WithHooks(hooks),
			WithRetryPolicy(RetryPolicy{MaxAttempts: 2, BackoffInitial: time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		withSlotFloor(t, 1<<30)
		_, err = c.Post(context.Background(), "/", Timeout(50*time.Millisecond), Body(bytes.NewReader([]byte("x")), ""))
		close(release)
		if !errors.Is(err, ErrAttemptTimeout) || errors.Is(err, ErrNotSent) {
			t.Fatalf("pressure=%v: err %v, want an attempt timeout that may have been sent", pressure, err)
		}
		if n := attempts.Load(); n != 1 || hits.Load() != 1 {
			t.Errorf("pressure=%v: %d attempts, %d requests seen: a POST that may have been sent went again", pressure, n, hits.Load())
		}
		s, err := c.Breaker(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if want := breaker.Open; pressure {
			if s.State != breaker.Closed || s.ConsecutiveFailures != 0 {
				t.Errorf("pressure: breaker %v with %d failures, want nothing counted", s.State, s.ConsecutiveFailures)
			}
		} else if s.State != want {
			t.Errorf("no pressure: breaker %v, want the timeout counted (R4)", s.State)
		}
		c.Close()
		tr.CloseIdleConnections()
		srv.Close()
	}
}

// R59: NewTransport's dialer counts a connection from the dial to its first
// Close, uncounts a failed dial, and its connection keeps the TCP
// connection's ReadFrom and CloseWrite.
func TestCountedConn_R59_CountsUntilClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan []byte, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(conn) // until the client's CloseWrite
		conn.Close()
		got <- b
	}()
	d := &ownDialer{d: &net.Dialer{}}
	before := slotConns.Load()
	conn, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if n := slotConns.Load() - before; n != 1 {
		t.Fatalf("%d connections counted after a dial, want 1", n)
	}
	f := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(f, []byte("from a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := conn.(io.ReaderFrom).ReadFrom(fh); err != nil {
		t.Fatal(err)
	}
	if err := conn.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != "from a file" {
		t.Fatalf("the server read %q", b)
	}
	conn.Close()
	conn.Close()
	if n := slotConns.Load() - before; n != 0 {
		t.Fatalf("%d connections counted after two Closes, want 0", n)
	}
	ln.Close()
	if _, err := d.DialContext(context.Background(), "tcp", ln.Addr().String()); err == nil {
		t.Fatal("dialled a closed listener")
	}
	if n := slotConns.Load() - before; n != 0 {
		t.Fatalf("%d connections counted after a failed dial, want 0", n)
	}
}

// R59: an unfollowed attempt knows it may have queued only after a bump; a
// followed one knows exactly.
func TestSlotWatch_R59_MayHaveQueued(t *testing.T) {
	w := slotWatch{on: true, seq: slotPressure.Load()}
	if q, _ := w.queued(); q || w.mayHaveQueued() {
		t.Fatal("unfollowed, no pressure: it cannot have queued")
	}
	slotPressure.Add(1)
	if q, _ := w.queued(); q || !w.mayHaveQueued() {
		t.Fatal("unfollowed, pressure since it began: it may have queued, not known to")
	}
	f := slotWatch{on: true, follow: true, ct: traced(context.Background())}
	if q, _ := f.queued(); !q || !f.mayHaveQueued() {
		t.Fatal("followed, no connection, no dial: it queued")
	}
	f.ct.trace.GotConn(httptrace.GotConnInfo{})
	f.ct.start = f.ct.start.Add(-time.Second)
	if q, _ := f.queued(); q || f.mayHaveQueued() {
		t.Fatal("followed and got a connection at once: it did not queue, whatever the pressure")
	}
	var off slotWatch
	if q, _ := off.queued(); q || off.mayHaveQueued() {
		t.Fatal("not slot-aware: never a slot wait")
	}
}

// R57, R59: a burst far past MaxConnsPerHost to a slow upstream blames the
// upstream only for the attempts it was sent: the ones queued for a slot,
// followed or not, count for nothing.
func TestSlotBurst_R59_OnlySentAttemptsBlamed(t *testing.T) {
	prev := slotFloorP1.Load()
	defer slotFloorP1.Store(prev)
	slotFloorP1.Store(0)
	release := make(chan struct{})
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	tr := NewTransport()
	tr.MaxConnsPerHost = 8
	defer tr.CloseIdleConnections()
	c, err := New(srv.URL, WithTransport(tr), WithCircuitBreaker(1000, time.Hour),
		WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if slotFloor() != 4 {
		t.Fatalf("floor %d, want 4", slotFloor())
	}
	const calls = 64
	errs := make(chan error, calls)
	for range calls {
		go func() {
			_, err := c.Post(context.Background(), "/", Timeout(100*time.Millisecond), Body(bytes.NewReader([]byte("x")), ""))
			errs <- err
		}()
	}
	queued := 0
	for range calls {
		err := <-errs
		if !errors.Is(err, ErrAttemptTimeout) {
			t.Fatalf("err %v, want an attempt timeout", err)
		}
		if errors.Is(err, ErrNotSent) {
			queued++
		}
	}
	s, err := c.Breaker(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	sent := int(hits.Load())
	t.Logf("%d calls: %d reached the upstream, %d known queued, %d failures counted", calls, sent, queued, s.ConsecutiveFailures)
	if sent == 0 || queued == 0 {
		t.Fatalf("%d requests reached the upstream and %d calls queued: no burst past the bound", sent, queued)
	}
	if s.ConsecutiveFailures == 0 || s.ConsecutiveFailures > sent {
		t.Fatalf("%d failures counted for %d requests the upstream saw: queued attempts were blamed", s.ConsecutiveFailures, sent)
	}
}

// R60: the registry keeps an origin's key in memory of its own, not as a
// slice of the caller's URL, so that a long query is not kept alive; every
// origin's breaker shares the client's one copy of its settings.
func TestRegistryKeys_R60_OwnTheirMemory(t *testing.T) {
	c, err := New("", WithTransport(RoundTripperFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	})))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, host := range []string{"a.example", "b.example"} {
		url := "http://" + host + "/x?" + string(bytes.Repeat([]byte("q"), 1<<16))
		resp, err := c.Get(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		start := uintptr(unsafe.Pointer(unsafe.StringData(url)))
		c.reg.mu.Lock()
		for k := range c.reg.dirty {
			if k.host != host {
				continue
			}
			p := uintptr(unsafe.Pointer(unsafe.StringData(k.host)))
			if p >= start && p < start+uintptr(len(url)) {
				t.Errorf("origin %d: the registry's key is a slice of the caller's 64 KiB URL", i)
			}
		}
		c.reg.mu.Unlock()
	}
	a, b := c.reg.find("http", "a.example"), c.reg.find("http", "b.example")
	if a == nil || b == nil || a.br == nil || a.budget == nil || b.budget == nil || a.budget == b.budget {
		t.Fatal("two origins do not have budgets and breakers of their own")
	}
	if hasPointers(reflect.TypeFor[budget]()) {
		t.Fatal("an origin's budget holds a pointer: the collector scans it, once per origin")
	}
}

// hasPointers reports whether values of t hold a pointer the collector
// must follow.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.String, reflect.Chan, reflect.Func, reflect.Interface, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
