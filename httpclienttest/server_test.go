package httpclienttest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

func TestSequenceReturnsStatusesAndHeadersInOrder(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		s := e.start(t, Sequence{
			Status(503, "Retry-After", "2"),
			Status(429, "Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT", "X-Two", "a", "X-Two", "b"),
			Redirect(http.StatusFound, "/next"),
			OK("done"),
		})
		c := client(t, s)
		want := []struct {
			status    int
			key, val  string
			body      string
			multi     []string
			multiName string
		}{
			{status: 503, key: "Retry-After", val: "2"},
			{status: 429, key: "Retry-After", val: "Wed, 21 Oct 2015 07:28:00 GMT", multiName: "X-Two", multi: []string{"a", "b"}},
			{status: 302, key: "Location", val: "/next"},
			{status: 200, body: "done"},
			{status: 200, body: "done"}, // past the end, the last repeats
		}
		for i, w := range want {
			r := get(t, c, s.URL+"/")
			if r.err != nil || r.readErr != nil {
				t.Fatalf("request %d: %v, %v", i+1, r.err, r.readErr)
			}
			if r.resp.StatusCode != w.status {
				t.Errorf("request %d: status %d, want %d", i+1, r.resp.StatusCode, w.status)
			}
			if w.key != "" && r.resp.Header.Get(w.key) != w.val {
				t.Errorf("request %d: %s = %q, want %q", i+1, w.key, r.resp.Header.Get(w.key), w.val)
			}
			if w.multi != nil && !slices.Equal(r.resp.Header.Values(w.multiName), w.multi) {
				t.Errorf("request %d: %s = %q, want %q", i+1, w.multiName, r.resp.Header.Values(w.multiName), w.multi)
			}
			if string(r.body) != w.body {
				t.Errorf("request %d: body %q, want %q", i+1, r.body, w.body)
			}
			if r.resp.ContentLength != int64(len(w.body)) {
				t.Errorf("request %d: ContentLength %d, want %d", i+1, r.resp.ContentLength, len(w.body))
			}
			if r.resp.Proto != e.proto() {
				t.Errorf("request %d: proto %s, want %s", i+1, r.resp.Proto, e.proto())
			}
		}
		if got := s.Hits(); got != len(want) {
			t.Errorf("Hits() = %d, want %d", got, len(want))
		}
	})
}

func TestRequestsRecordMethodPathHostProtoHeaderBody(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		s := e.start(t, ScriptFunc(func(hit int, r *http.Request) Response {
			b, _ := io.ReadAll(r.Body) // the script sees the recorded body
			if r.Method == http.MethodPost {
				return Response{Status: http.StatusCreated, Body: bytes.ToUpper(b)}
			}
			return Response{Status: http.StatusTeapot}
		}))
		c := client(t, s)

		req, _ := http.NewRequest(http.MethodPost, s.URL+"/submit?x=1&y=2", strings.NewReader("payload"))
		req.Header.Set("X-Request-Id", "abc")
		r := do(c, req)
		if r.err != nil || r.resp.StatusCode != http.StatusCreated || string(r.body) != "PAYLOAD" {
			t.Fatalf("POST: %v, %v, %q", r.err, r.resp, r.body)
		}
		r = get(t, c, s.URL+"/b")
		if r.err != nil || r.resp.StatusCode != http.StatusTeapot {
			t.Fatalf("GET: %v, %v", r.err, r.resp)
		}

		host := strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://")
		reqs := s.Requests()
		if len(reqs) != 2 {
			t.Fatalf("Requests() has %d entries, want 2", len(reqs))
		}
		p := reqs[0]
		if p.Hit != 1 || p.Method != "POST" || p.Path != "/submit?x=1&y=2" || p.Host != host ||
			p.Proto != e.proto() || string(p.Body) != "payload" || p.Status != 201 || p.Fault != None {
			t.Errorf("first request recorded as %+v", p)
		}
		if got := p.Header.Get("X-Request-Id"); got != "abc" {
			t.Errorf("recorded X-Request-Id = %q, want abc", got)
		}
		g := reqs[1]
		if g.Hit != 2 || g.Method != "GET" || g.Path != "/b" || g.Body != nil || g.Status != 418 {
			t.Errorf("second request recorded as %+v", g)
		}
		if s.Hits() != 2 {
			t.Errorf("Hits() = %d, want 2", s.Hits())
		}

		// Requests returns copies.
		reqs[0].Header.Set("X-Request-Id", "changed")
		reqs[0].Body[0] = 'X'
		if again := s.Requests()[0]; again.Header.Get("X-Request-Id") != "abc" || string(again.Body) != "payload" {
			t.Errorf("changing a returned Request changed the record: %+v", again)
		}
	})
}

func TestKeepAliveReusesOneConnection(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		s := e.start(t, Sequence{OK("a")})
		c := client(t, s)
		const n = 5
		for i := range n {
			var reused bool
			trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}
			ctx := httptrace.WithClientTrace(context.Background(), trace)
			r := getContext(t, ctx, c, s.URL+"/")
			if r.err != nil || r.readErr != nil || string(r.body) != "a" {
				t.Fatalf("request %d: %v, %v, %q", i+1, r.err, r.readErr, r.body)
			}
			if i > 0 && !reused {
				t.Errorf("request %d: connection not reused", i+1)
			}
		}
		if s.Conns() != 1 || s.Hits() != n {
			t.Errorf("Conns() = %d, Hits() = %d; want 1, %d", s.Conns(), s.Hits(), n)
		}
	})
}

func TestResetBeforeResponseFailsWithoutResponse(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		s := e.start(t, Sequence{{Fault: ResetBeforeResponse}, OK("after")})
		r := get(t, client(t, s), s.URL+"/")
		if r.err == nil {
			t.Fatalf("got a response %d, want an error", r.resp.StatusCode)
		}
		if !e.isReset(r.err) {
			t.Errorf("error %v is not a reset", r.err)
		}
		if errors.Is(r.err, io.EOF) {
			t.Errorf("error %v is io.EOF, want a reset", r.err)
		}
		if s.Hits() != 1 {
			t.Errorf("Hits() = %d, want 1", s.Hits())
		}
		// The server is still up.
		if r := get(t, client(t, s), s.URL+"/"); r.err != nil || string(r.body) != "after" {
			t.Errorf("next request: %v, %q", r.err, r.body)
		}
	})
}

func TestCloseBeforeResponseFailsWithEOF(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		s := e.start(t, Sequence{{Fault: CloseBeforeResponse}})
		r := get(t, client(t, s), s.URL+"/")
		if r.err == nil {
			t.Fatalf("got a response %d, want an error", r.resp.StatusCode)
		}
		if e.h2 {
			// HTTP/2 cannot close one request's connection: the stream is reset.
			if !isStreamReset(r.err) {
				t.Errorf("error %v is not a stream reset", r.err)
			}
			return
		}
		if !errors.Is(r.err, io.EOF) && !errors.Is(r.err, io.ErrUnexpectedEOF) {
			t.Errorf("error %v does not wrap io.EOF or io.ErrUnexpectedEOF", r.err)
		}
		if errors.Is(r.err, syscall.ECONNRESET) {
			t.Errorf("error %v is a reset, want a clean close", r.err)
		}
	})
}

func TestResetMidBodyFailsBodyReadAfterHalf(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		body := strings.Repeat("0123456789", 10)
		s := e.start(t, Sequence{{Status: 206, Body: []byte(body), Fault: ResetMidBody}})
		r := get(t, client(t, s), s.URL+"/")
		if r.err != nil {
			t.Fatalf("Do: %v; want the headers", r.err)
		}
		if r.resp.StatusCode != 206 || r.resp.ContentLength != int64(len(body)) {
			t.Errorf("status %d, ContentLength %d; want 206, %d", r.resp.StatusCode, r.resp.ContentLength, len(body))
		}
		if string(r.body) != body[:len(body)/2] {
			t.Errorf("read %q before the error, want the first half", r.body)
		}
		if r.readErr == nil || !e.isReset(r.readErr) {
			t.Errorf("body read error %v, want a reset", r.readErr)
		}
	})
}

func TestTruncatedBodyFailsWithUnexpectedEOF(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		body := strings.Repeat("abcdefghij", 10)
		s := e.start(t, Sequence{{Body: []byte(body), Fault: TruncatedBody}})
		r := get(t, client(t, s), s.URL+"/")
		if r.err != nil {
			t.Fatalf("Do: %v; want the headers", r.err)
		}
		if r.resp.StatusCode != 200 || r.resp.ContentLength != int64(len(body)) {
			t.Errorf("status %d, ContentLength %d; want 200, %d", r.resp.StatusCode, r.resp.ContentLength, len(body))
		}
		if string(r.body) != body[:len(body)/2] {
			t.Errorf("read %q before the error, want the first half", r.body)
		}
		if !errors.Is(r.readErr, io.ErrUnexpectedEOF) {
			t.Errorf("body read error %v, want io.ErrUnexpectedEOF", r.readErr)
		}
	})
}

func TestSlowBodyArrivesWholeAfterChunkDelays(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		body := []byte(strings.Repeat("x", 1000))
		for _, tc := range []struct {
			chunks, delays int
		}{{chunks: 0, delays: 3}, {chunks: 5, delays: 4}, {chunks: 1, delays: 0}} {
			delay := 250 * time.Millisecond
			if !e.memory {
				delay = time.Millisecond // real time: no timing assertion
			}
			s := e.start(t, Sequence{{Body: body, Fault: SlowBody, BodyDelay: delay, BodyChunks: tc.chunks}})
			r := get(t, client(t, s), s.URL+"/")
			if r.err != nil || r.readErr != nil || !bytes.Equal(r.body, body) {
				t.Fatalf("chunks %d: %v, %v, %d bytes", tc.chunks, r.err, r.readErr, len(r.body))
			}
			if want := time.Duration(tc.delays) * delay; e.memory && r.elapsed != want {
				t.Errorf("chunks %d: took %v, want exactly %v", tc.chunks, r.elapsed, want)
			}
		}
	})
}

func TestSlowBodyFlushesEachChunk(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		e := env{memory: true, h2: h2}
		t.Run(e.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := e.start(t, Sequence{{Body: []byte("aabbcc"), Fault: SlowBody, BodyChunks: 3, BodyDelay: time.Second}})
				resp, err := client(t, s).Get(s.URL + "/")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				start := time.Now()
				var got []string
				buf := make([]byte, 10)
				for {
					n, err := resp.Body.Read(buf)
					if n > 0 {
						got = append(got, time.Since(start).String()+":"+string(buf[:n]))
					}
					if err != nil {
						break
					}
				}
				want := []string{"0s:aa", "1s:bb", "2s:cc"}
				if !slices.Equal(got, want) {
					t.Errorf("reads %q, want %q", got, want)
				}
			})
		})
	}
}

func TestDelayHoldsTheHeaders(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		delay := 3 * time.Second
		if !e.memory {
			delay = time.Millisecond
		}
		s := e.start(t, Sequence{{Status: 202, Body: []byte("late"), Delay: delay}})
		r := get(t, client(t, s), s.URL+"/")
		if r.err != nil || r.resp.StatusCode != 202 || string(r.body) != "late" {
			t.Fatalf("%v, %v, %q", r.err, r.resp, r.body)
		}
		if e.memory && r.elapsed != delay {
			t.Errorf("took %v, want exactly %v", r.elapsed, delay)
		}
	})
}

// giveUp makes a request that the server holds forever and checks that it
// ends when the client gives up: in memory after exactly a 2s timeout; on
// TCP when the context is cancelled as soon as the server has the request.
func giveUp(t *testing.T, e env, resp Response) {
	hits := make(chan Request, 1)
	s := e.start(t, Sequence{resp, OK("after")}, WithLog(func(r Request) { hits <- r }))
	c := client(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if !e.memory {
		ctx, cancel = context.WithCancel(context.Background())
		defer cancel()
		go func() {
			<-hits
			cancel()
		}()
	}
	r := getContext(t, ctx, c, s.URL+"/")
	if r.err == nil {
		t.Fatalf("got a response %d, want an error", r.resp.StatusCode)
	}
	if e.memory {
		if !errors.Is(r.err, context.DeadlineExceeded) {
			t.Errorf("error %v, want context.DeadlineExceeded", r.err)
		}
		if r.elapsed != 2*time.Second {
			t.Errorf("took %v, want exactly the 2s timeout", r.elapsed)
		}
		<-hits
	} else if !errors.Is(r.err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", r.err)
	}
	// The server is still up, and Close (at cleanup) returns.
	if r := get(t, c, s.URL+"/"); r.err != nil || string(r.body) != "after" {
		t.Errorf("next request: %v, %q", r.err, r.body)
	}
}

func TestHangEndsWhenTheClientGivesUp(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		giveUp(t, e, Response{Fault: Hang})
	})
}

func TestDelayEndsWhenTheClientGivesUp(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		giveUp(t, e, Response{Delay: 1000 * time.Hour, Body: []byte("never")})
	})
}

func TestSlowBodyEndsWhenTheClientGivesUp(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		s := e.start(t, Sequence{{Body: []byte("abcd"), Fault: SlowBody, BodyDelay: 1000 * time.Hour}})
		resp, err := client(t, s).Get(s.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		if _, err := io.ReadFull(resp.Body, buf); err != nil || buf[0] != 'a' {
			t.Fatalf("first chunk: %q, %v", buf, err)
		}
		resp.Body.Close() // gives up mid-body; the server must not wait 1000h
	})
}

func TestCloseEndsHungRequests(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		hits := make(chan Request, 3)
		s := e.start(t, Sequence{
			{Fault: Hang},
			{Delay: 1000 * time.Hour},
			{Fault: SlowBody, BodyDelay: 1000 * time.Hour, Body: []byte("ab")},
		}, WithLog(func(r Request) { hits <- r }))
		c := client(t, s)
		errs := make(chan error, 3)
		for range 3 {
			go func() {
				r := get(t, c, s.URL+"/")
				if r.err == nil {
					r.err = r.readErr
				}
				errs <- r.err
			}()
		}
		for range 3 {
			<-hits
		}
		start := time.Now()
		s.Close()
		for range 3 {
			if err := <-errs; err == nil {
				t.Error("a request held by the server succeeded after Close")
			}
		}
		if e.memory && time.Since(start) != 0 {
			t.Errorf("Close took %v of fake time, want 0", time.Since(start))
		}
		s.Close() // a second Close is a no-op
	})
}

func TestClosedServerRefusesConnections(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		s := e.start(t, nil)
		c := client(t, s)
		if r := get(t, c, s.URL+"/"); r.err != nil || r.resp.StatusCode != 200 {
			t.Fatalf("before Close: %v", r.err)
		}
		s.Close()
		if _, err := s.DialContext(context.Background(), "tcp", "example.com:80"); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("DialContext after Close: %v, want ECONNREFUSED", err)
		}
		if r := get(t, c, s.URL+"/"); r.err == nil {
			t.Errorf("request after Close succeeded")
		}
	})
}

func TestDialContextIgnoresTheAddress(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		if e.tls {
			t.Skip("the certificate names only the loopback addresses and upstream.test")
		}
		s := e.start(t, nil)
		r := get(t, client(t, s), "http://other.example:1234/x")
		if r.err != nil || r.resp.StatusCode != 200 {
			t.Fatalf("%v", r.err)
		}
		if got := s.Requests()[0].Host; got != "other.example:1234" {
			t.Errorf("Host recorded as %q", got)
		}
	})
}

func TestConcurrentHitsAreCountedOnce(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		var logged sync.Map
		s := e.start(t, nil, WithLog(func(r Request) { logged.Store(r.Hit, r.Status) }))
		c := client(t, s)
		const n = 20
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if i == n/2 {
					s.SetScript(Sequence{Status(201)})
				}
				if r := get(t, c, s.URL+"/"); r.err != nil {
					t.Error(r.err)
				}
			})
		}
		wg.Wait()
		if e.h2 && s.Conns() != 1 {
			t.Errorf("HTTP/2: Conns() = %d, want 1 connection for all streams", s.Conns())
		}
		reqs := s.Requests()
		if s.Hits() != n || len(reqs) != n {
			t.Fatalf("Hits() = %d, %d requests; want %d", s.Hits(), len(reqs), n)
		}
		for i, r := range reqs {
			if r.Hit != i+1 {
				t.Errorf("Requests()[%d].Hit = %d", i, r.Hit)
			}
			if st, ok := logged.Load(r.Hit); !ok || st != r.Status {
				t.Errorf("hit %d logged as %v, recorded status %d", r.Hit, st, r.Status)
			}
		}
	})
}

// http.Transport replays an idempotent request whose reused HTTP/1
// connection fails before any response byte: a fault "before response" on a
// kept-alive connection costs two hits and the client sees the second. This
// test pins that down for client authors.
func TestTransportRetriesFaultBeforeResponseOnReusedHTTP1Conn(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		if e.h2 {
			t.Skip("HTTP/2 stream resets are not retried")
		}
		for _, f := range []Fault{ResetBeforeResponse, CloseBeforeResponse} {
			s := e.start(t, Sequence{OK("first"), {Fault: f}, OK("third")})
			c := client(t, s)
			get(t, c, s.URL+"/")
			r := get(t, c, s.URL+"/")
			if r.err != nil || string(r.body) != "third" || s.Hits() != 3 || s.Conns() != 2 {
				t.Errorf("%v: %v, %q, Hits() = %d, Conns() = %d; want the retry's response, 3 hits, 2 conns",
					f, r.err, r.body, s.Hits(), s.Conns())
			}
		}
	})
}

func TestMemoryBubbleEndsCleanlyAfterEveryFault(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		e := env{memory: true, h2: h2}
		t.Run(e.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var opts []Option
				if h2 {
					opts = append(opts, WithHTTP2())
				}
				s := NewMemoryServer(nil, opts...)
				tr := s.Transport()
				c := &http.Client{Transport: tr}
				body := []byte("some body")
				for f := None; f <= Hang; f++ {
					s.SetScript(Sequence{{Body: body, Fault: f, Delay: time.Second, BodyDelay: time.Second}})
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					r := getContext(t, ctx, c, s.URL+"/")
					cancel()
					t.Logf("%v: %v %v", f, r.err, r.readErr)
				}
				// Leave a request hanging and an idle connection open.
				s.SetScript(Sequence{{Fault: Hang}})
				go c.Get(s.URL + "/")
				synctest.Wait()
				tr.CloseIdleConnections()
				s.Close()
				// synctest.Test fails if any goroutine is left blocked.
			})
		})
	}
}

func TestTLSTransportTrustsTheCertificate(t *testing.T) {
	for _, h2 := range []bool{false, true} {
		e := env{tls: true, h2: h2}
		t.Run(e.String(), func(t *testing.T) {
			t.Parallel()
			s := e.start(t, Sequence{OK("secure")})
			if !strings.HasPrefix(s.URL, "https://127.0.0.1:") {
				t.Errorf("URL %q", s.URL)
			}
			r := get(t, client(t, s), s.URL+"/")
			if r.err != nil || string(r.body) != "secure" {
				t.Fatalf("%v, %q", r.err, r.body)
			}
			if r.resp.TLS == nil || r.resp.Proto != e.proto() {
				t.Errorf("TLS state %v, proto %s; want TLS and %s", r.resp.TLS, r.resp.Proto, e.proto())
			}
			if s.Certificate() == nil || !r.resp.TLS.PeerCertificates[0].Equal(s.Certificate()) {
				t.Errorf("peer certificate is not Certificate()")
			}
		})
	}
}

func TestTLSPlainTransportFailsVerification(t *testing.T) {
	t.Parallel()
	s := NewServer(nil, WithTLS())
	defer s.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(s.URL + "/")
	if err == nil {
		resp.Body.Close()
		t.Fatal("an untrusting transport got a response")
	}
	var cve *tls.CertificateVerificationError
	if !errors.As(err, &cve) {
		t.Fatalf("error %v is not a certificate verification error", err)
	}
	if s.Hits() != 0 {
		t.Errorf("Hits() = %d, want 0", s.Hits())
	}
}

func TestNewMemoryServerPanicsWithTLS(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewMemoryServer(nil, WithTLS()) did not panic")
		}
	}()
	s := NewMemoryServer(nil, WithTLS())
	s.Close()
}

func TestFaultString(t *testing.T) {
	for f, want := range map[Fault]string{
		None: "None", ResetBeforeResponse: "ResetBeforeResponse", CloseBeforeResponse: "CloseBeforeResponse",
		ResetMidBody: "ResetMidBody", TruncatedBody: "TruncatedBody", SlowBody: "SlowBody", Hang: "Hang",
		Fault(42): "Fault(42)", Fault(-1): "Fault(-1)",
	} {
		if got := f.String(); got != want {
			t.Errorf("Fault(%d).String() = %q, want %q", int(f), got, want)
		}
	}
}

func TestHelpersBuildResponses(t *testing.T) {
	if r := Status(503, "Retry-After", "2", "X-A", "1"); r.Status != 503 || r.Header.Get("Retry-After") != "2" || r.Header.Get("X-A") != "1" {
		t.Errorf("Status: %+v", r)
	}
	if r := Status(500); r.Status != 500 || r.Header != nil {
		t.Errorf("Status without headers: %+v", r)
	}
	if r := OK("hi"); r.Status != 200 || string(r.Body) != "hi" {
		t.Errorf("OK: %+v", r)
	}
	if r := Redirect(307, "/there"); r.Status != 307 || r.Header.Get("Location") != "/there" {
		t.Errorf("Redirect: %+v", r)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Status with an odd number of header strings did not panic")
			}
		}()
		kv := strings.Fields("X-Lonely") // not a literal, which staticcheck would reject
		Status(200, kv...)
	}()
}

func TestSequenceRepeatsItsLastElement(t *testing.T) {
	seq := Sequence{Status(500), Status(502)}
	for hit, want := range map[int]int{1: 500, 2: 502, 3: 502, 100: 502} {
		if got := seq.Respond(hit, nil).Status; got != want {
			t.Errorf("hit %d: %d, want %d", hit, got, want)
		}
	}
	if got := (Sequence{}).Respond(1, nil); got.Status != 0 || got.Fault != None || got.Body != nil {
		t.Errorf("empty Sequence: %+v, want the zero Response (200 OK)", got)
	}
}

func TestRequestBodyIsRecordedUpTo1MiB(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		s := e.start(t, nil)
		big := bytes.Repeat([]byte("z"), 1<<20+100)
		req, _ := http.NewRequest(http.MethodPut, s.URL+"/big", bytes.NewReader(big))
		r := do(client(t, s), req)
		if r.err != nil || r.resp.StatusCode != 200 {
			t.Fatalf("%v", r.err)
		}
		if got := len(s.Requests()[0].Body); got != 1<<20 {
			t.Errorf("recorded %d body bytes, want %d", got, 1<<20)
		}
	})
}

func TestScriptPanicFailsOnlyThatRequest(t *testing.T) {
	forEachEnv(t, func(t *testing.T, e env) {
		s := e.start(t, ScriptFunc(func(hit int, r *http.Request) Response {
			if hit == 1 {
				panic(http.ErrAbortHandler) // a quiet panic; others are also printed
			}
			return OK("fine")
		}))
		if r := get(t, client(t, s), s.URL+"/"); r.err == nil {
			t.Errorf("a panicking script produced a response")
		}
		if r := get(t, client(t, s), s.URL+"/"); r.err != nil || string(r.body) != "fine" {
			t.Errorf("next request: %v, %q", r.err, r.body)
		}
	})
}
