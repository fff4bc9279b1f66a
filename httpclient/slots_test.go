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
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/tempestsdk/tempest/breaker"
)

// slotsOf returns the counts of NewTransport transport tr.
func slotsOf(t *testing.T, tr *http.Transport) *slotCounts {
	t.Helper()
	s := transportSlots(tr)
	if s == nil {
		t.Fatal("a NewTransport with its dialer has no counts")
	}
	return s
}

// R59: an attempt is followed through the pool exactly when the
// transport's connections plus the attempts in flight through it reach the
// bound.
func TestFollowed_R59_AtTheBoundOnly(t *testing.T) {
	for _, tc := range []struct {
		conns, inflight, bound int64
		want                   bool
	}{
		{0, 1, 448, false},
		{446, 1, 448, false},
		{447, 1, 448, true},
		{0, 448, 448, true},
		{0, 1, 1, true}, // MaxConnsPerHost 1: every attempt is followed
		{3, 3, 7, false},
	} {
		if got := followed(tc.conns, tc.inflight, tc.bound); got != tc.want {
			t.Errorf("followed(%d, %d, %d) = %v, want %v", tc.conns, tc.inflight, tc.bound, got, tc.want)
		}
	}
}

// R59: the bound is the transport's MaxConnsPerHost less an eighth, the
// smallest any client of it saw; the counts are the transport's own, shared
// by its clients and by no other transport; a transport whose dialer is
// the caller's own has none, and its dialer is never called to find out.
func TestSlotBound_R59_PerTransport(t *testing.T) {
	var s slotCounts
	for _, tc := range []struct{ limit, want int }{{512, 448}, {1024, 448}, {8, 7}, {512, 7}, {1, 1}, {64, 1}} {
		s.lower(tc.limit)
		if got := s.bound.Load(); got != int64(tc.want) {
			t.Fatalf("after MaxConnsPerHost %d: bound %d, want %d", tc.limit, got, tc.want)
		}
	}
	tr := NewTransport()
	tr.MaxConnsPerHost = 40
	a, err := New("", WithTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := New("", WithTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	other, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if a.slots == nil || a.slots != b.slots || a.slots == other.slots || a.slots.bound.Load() != 35 || other.slots.bound.Load() != 448 {
		t.Fatalf("counts: a %p b %p other %p; bounds %d and %d, want one shared at 35 and another at 448", a.slots, b.slots, other.slots, a.slots.bound.Load(), other.slots.bound.Load())
	}
	own := NewTransport()
	var called atomic.Int32
	own.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		called.Add(1)
		return nil, errors.New("no")
	}
	c, err := New("", WithTransport(own))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.slots != nil || called.Load() != 0 {
		t.Fatalf("a dialer of the caller's own: counts %v, called %d times", c.slots, called.Load())
	}
}

// R59: below the bound an attempt goes unfollowed (no trace, no
// allocation for it); at it, it is followed as R57 describes; either way it
// is uncounted when it ends.
func TestWatchSlots_R59_FollowsOnlyAtTheBound(t *testing.T) {
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
		bound int64
		want  int32
	}{{1 << 30, 1}, {1, 2}} {
		c.slots.bound.Store(tc.bound)
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := seen.Load(); got != tc.want {
			t.Errorf("bound %d: attempt followed=%v, want %v", tc.bound, got == 2, tc.want == 2)
		}
		if n := c.slots.inflight.Load(); n != 0 {
			t.Errorf("%d attempts in flight after the call", n)
		}
	}
}

// R59: an unfollowed attempt that times out counts against the upstream as
// R4 says, unless its transport came under pressure while it waited: then
// it may have queued for a slot, so it counts for nothing, and, since it
// may also have been sent, a POST is not sent again.
func TestUnfollowedTimeout_R59_PressureMeansNoBlame(t *testing.T) {
	for _, pressure := range []bool{false, true} {
		release := make(chan struct{})
		var hits atomic.Int32
		var counts atomic.Pointer[slotCounts]
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if pressure {
				counts.Load().pressure.Add(1) // another attempt brought the pool to the bound
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
		counts.Store(c.slots)
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
		if pressure {
			if s.State != breaker.Closed || s.ConsecutiveFailures != 0 {
				t.Errorf("pressure: breaker %v with %d failures, want nothing counted", s.State, s.ConsecutiveFailures)
			}
		} else if s.State != breaker.Open {
			t.Errorf("no pressure: breaker %v, want the timeout counted (R4)", s.State)
		}
		c.Close()
		tr.CloseIdleConnections()
		srv.Close()
	}
}

// hangingUpstream is a server that holds every request until the client
// gives up on it, and says when one arrives.
func hangingUpstream(t *testing.T, arrivals int) (*httptest.Server, chan struct{}) {
	hit := make(chan struct{}, arrivals)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, hit
}

// R59: a burst through another transport, however near its own bound,
// takes no blame from a hanging upstream's timeout on this one.
func TestSlotPressure_R59_OtherTransportsDoNotHideBlame(t *testing.T) {
	hang, hit := hangingUpstream(t, 1)
	const burst = 64
	all := make(chan struct{})
	var arrived atomic.Int32
	busy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		<-all // two at a time hold the transport's connections; the rest queue
	}))
	defer busy.Close()
	b, err := New(hang.URL, WithCircuitBreaker(1, time.Hour), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	trA := NewTransport()
	trA.MaxConnsPerHost = 2 // bound 2: the burst is far past it
	defer trA.CloseIdleConnections()
	a, err := New(busy.URL, WithTransport(trA))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	done := make(chan error, 1)
	go func() {
		_, err := b.Get(context.Background(), "/", Timeout(time.Second))
		done <- err
	}()
	<-hit
	errs := make(chan error, burst)
	for range burst {
		go func() {
			resp, err := a.Get(context.Background(), "/", NoTimeout())
			if err == nil {
				resp.Body.Close()
			}
			errs <- err
		}()
	}
	if err := <-done; !errors.Is(err, ErrAttemptTimeout) {
		t.Fatalf("err %v, want an attempt timeout", err)
	}
	if n := arrived.Load(); n == 0 || a.slots.pressure.Load() == 0 {
		t.Fatalf("the burst: %d requests arrived, pressure %d: the other transport never reached its bound", n, a.slots.pressure.Load())
	}
	if s, _ := b.Breaker(hang.URL); s.State != breaker.Open {
		t.Errorf("hanging upstream's breaker %v with %d failures after a burst through another transport; want open (R4)", s.State, s.ConsecutiveFailures)
	}
	close(all)
	for range burst {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// R59: attempts that each hold a connection of their own, well under the
// transport's bound, are each blamed on the hanging upstream.
func TestSlotPressure_R59_UnderTheBoundEveryTimeoutCounts(t *testing.T) {
	hang, hit := hangingUpstream(t, 3)
	tr := NewTransport()
	tr.MaxConnsPerHost = 8
	defer tr.CloseIdleConnections()
	c, err := New(hang.URL, WithTransport(tr), WithCircuitBreaker(1000, time.Hour), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := c.Get(context.Background(), "/", Timeout(300*time.Millisecond))
			errs <- err
		}()
		<-hit // the upstream has it: sent, on a connection of its own
	}
	for range 3 {
		if err := <-errs; !errors.Is(err, ErrAttemptTimeout) || errors.Is(err, ErrNotSent) {
			t.Fatalf("err %v", err)
		}
	}
	if s, _ := c.Breaker(hang.URL); s.ConsecutiveFailures != 3 {
		t.Errorf("%d failures counted for 3 requests the hanging upstream received on 3 of 8 connections; want 3", s.ConsecutiveFailures)
	}
}

// R59: an attempt whose goroutine exits inside the transport (Goexit from
// the caller's Proxy func) is uncounted all the same.
func TestSlotInflight_R59_UncountedOnGoexit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	tr := NewTransport()
	tr.Proxy = func(*http.Request) (*url.URL, error) { runtime.Goexit(); return nil, nil }
	c, err := New(srv.URL, WithTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Get(context.Background(), "/")
	}()
	<-done
	if n := c.slots.inflight.Load(); n != 0 {
		t.Errorf("%d attempts in flight after the attempt's goroutine exited, want 0", n)
	}
}

// R59: NewTransport's dialer counts a connection from the dial to its first
// Close and uncounts a failed dial; the connection keeps the TCP
// connection's ReadFrom, CloseWrite and socket, and unwraps to it.
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
	counts := new(slotCounts)
	d := &ownDialer{d: &net.Dialer{}, counts: counts}
	conn, err := d.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if n := counts.conns.Load(); n != 1 {
		t.Fatalf("%d connections counted after a dial, want 1", n)
	}
	if _, ok := conn.(interface{ NetConn() net.Conn }).NetConn().(*net.TCPConn); !ok {
		t.Fatal("NetConn does not give the TCP connection")
	}
	raw, err := conn.(syscall.Conn).SyscallConn()
	if err != nil || raw == nil {
		t.Fatalf("SyscallConn: %v", err)
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
	if n := counts.conns.Load(); n != 0 {
		t.Fatalf("%d connections counted after two Closes, want 0", n)
	}
	ln.Close()
	if _, err := d.DialContext(context.Background(), "tcp", ln.Addr().String()); err == nil {
		t.Fatal("dialled a closed listener")
	}
	if n := counts.conns.Load(); n != 0 {
		t.Fatalf("%d connections counted after a failed dial, want 0", n)
	}
}

// R59: the counts come back to zero after TLS handshake failures, HTTP/2
// over TLS, and a 101 upgrade whose connection the caller owns.
func TestSlotCounts_R59_DoNotDrift(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer tlsSrv.Close()
	tr := NewTransport()
	c, err := New(tlsSrv.URL, WithTransport(tr), WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.Get(context.Background(), "/"); err == nil {
			t.Fatal("an untrusted certificate was accepted")
		}
	}
	if n, m := c.slots.conns.Load(), c.slots.inflight.Load(); n != 0 || m != 0 {
		t.Fatalf("TLS handshake failures: %d connections and %d attempts still counted", n, m)
	}
	c.Close()

	h2 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			w.WriteHeader(500)
		}
	}))
	h2.EnableHTTP2 = true
	h2.StartTLS()
	defer h2.Close()
	tr = NewTransport()
	tr.TLSClientConfig = h2.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	c, err = New(h2.URL, WithTransport(tr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range 5 {
		resp, err := c.Get(context.Background(), "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: not HTTP/2", resp.StatusCode)
		}
	}
	if n := c.slots.conns.Load(); n != 1 {
		t.Fatalf("HTTP/2: %d connections counted, want 1", n)
	}
	tr.CloseIdleConnections()
	if n := c.slots.conns.Load(); n != 0 {
		t.Fatalf("HTTP/2 after CloseIdleConnections: %d connections counted", n)
	}

	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		b, _ := io.ReadAll(brw) // until the client's half-close
		conn.Write(b)
	}))
	defer up.Close()
	tr = NewTransport()
	counts := slotsOf(t, tr)
	req, _ := http.NewRequest(http.MethodGet, up.URL, nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "echo")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok || resp.StatusCode != 101 {
		t.Fatalf("101 body %T", resp.Body)
	}
	rwc.Write([]byte("ping"))
	if err := resp.Body.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(rwc); string(b) != "ping" {
		t.Fatalf("echo %q", b)
	}
	if n := counts.conns.Load(); n != 1 {
		t.Fatalf("upgraded connection: %d counted, want 1 until the caller closes it", n)
	}
	rwc.Close()
	rwc.Close()
	if n := counts.conns.Load(); n != 0 {
		t.Fatalf("upgraded connection closed by the caller: %d still counted", n)
	}
}

// R59: an unfollowed attempt knows it may have queued only after a bump; a
// followed one knows exactly.
func TestSlotWatch_R59_MayHaveQueued(t *testing.T) {
	counts := new(slotCounts)
	counts.lower(512)
	w := counts.watch()
	if w.follow {
		t.Fatal("followed with nothing in flight")
	}
	w.done()
	if q, _ := w.queued(); q || w.mayHaveQueued(counts) {
		t.Fatal("unfollowed, no pressure: it cannot have queued")
	}
	counts.pressure.Add(1)
	if q, _ := w.queued(); q || !w.mayHaveQueued(counts) {
		t.Fatal("unfollowed, pressure since it began: it may have queued, not known to")
	}
	f := slotWatch{counts: counts, follow: true, ct: traced(context.Background())}
	if q, _ := f.queued(); !q || !f.mayHaveQueued(counts) {
		t.Fatal("followed, no connection, no dial: it queued")
	}
	f.ct.trace.GotConn(httptrace.GotConnInfo{})
	f.ct.start = f.ct.start.Add(-time.Second)
	if q, _ := f.queued(); q || f.mayHaveQueued(counts) {
		t.Fatal("followed and got a connection at once: it did not queue, whatever the pressure")
	}
	var off slotWatch
	if q, _ := off.queued(); q || off.mayHaveQueued(nil) {
		t.Fatal("not slot-aware: never a slot wait")
	}
}

// R57, R59: a burst far past MaxConnsPerHost to a slow upstream blames the
// upstream only for the attempts it was sent: the ones queued for a slot,
// followed or not, count for nothing.
func TestSlotBurst_R59_OnlySentAttemptsBlamed(t *testing.T) {
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
