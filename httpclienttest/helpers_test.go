package httpclienttest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"syscall"
	"testing"
	"testing/synctest"
	"time"
)

// env is one cell of the test matrix: transport (TCP, TCP+TLS, or memory
// under synctest) × protocol (HTTP/1.1 or HTTP/2).
type env struct {
	memory bool
	tls    bool
	h2     bool
}

var envs = []env{
	{h2: false}, {h2: true},
	{tls: true, h2: false}, {tls: true, h2: true},
	{memory: true, h2: false}, {memory: true, h2: true},
}

func (e env) String() string {
	s := "tcp"
	switch {
	case e.memory:
		s = "memory"
	case e.tls:
		s = "tls"
	}
	if e.h2 {
		return s + "/HTTP2"
	}
	return s + "/HTTP1"
}

func (e env) proto() string {
	if e.h2 {
		return "HTTP/2.0"
	}
	return "HTTP/1.1"
}

// forEachEnv runs f once per env, memory ones inside a synctest bubble.
func forEachEnv(t *testing.T, f func(t *testing.T, e env)) {
	for _, e := range envs {
		t.Run(e.String(), func(t *testing.T) {
			if e.memory {
				synctest.Test(t, func(t *testing.T) { f(t, e) })
				return
			}
			t.Parallel()
			f(t, e)
		})
	}
}

// start makes the env's server, closed at cleanup.
func (e env) start(t *testing.T, sc Script, opts ...Option) *Server {
	t.Helper()
	if e.h2 {
		opts = append(opts, WithHTTP2())
	}
	if e.tls {
		opts = append(opts, WithTLS())
	}
	var s *Server
	if e.memory {
		s = NewMemoryServer(sc, opts...)
	} else {
		s = NewServer(sc, opts...)
	}
	t.Cleanup(s.Close)
	return s
}

// client returns a client of a new transport of s that does not follow
// redirects; its idle connections are closed at cleanup, before s closes.
func client(t *testing.T, s *Server) *http.Client {
	t.Helper()
	tr := s.Transport()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// result is what the client saw for one request.
type result struct {
	resp    *http.Response
	err     error // from Do
	body    []byte
	readErr error // from reading the body
	elapsed time.Duration
}

func do(c *http.Client, req *http.Request) result {
	start := time.Now()
	var r result
	r.resp, r.err = c.Do(req)
	if r.err == nil {
		r.body, r.readErr = io.ReadAll(r.resp.Body)
		r.resp.Body.Close()
	}
	r.elapsed = time.Since(start)
	return r
}

func get(t *testing.T, c *http.Client, url string) result {
	t.Helper()
	return getContext(t, context.Background(), c, url)
}

func getContext(t *testing.T, ctx context.Context, c *http.Client, url string) result {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return do(c, req)
}

// isReset reports whether err is what a reset produces in env e: a
// connection reset on HTTP/1 (a real RST on TCP, the same error emulated in
// memory), a stream reset with INTERNAL_ERROR on HTTP/2.
func (e env) isReset(err error) bool {
	if e.h2 {
		return isStreamReset(err)
	}
	return errors.Is(err, syscall.ECONNRESET)
}

func isStreamReset(err error) bool {
	var se StreamError
	return errors.As(err, &se) && se.Code == ErrCodeInternal
}
