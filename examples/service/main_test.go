package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/requestid"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lines collects what run prints, line by line, through a pipe, so that the
// test can wait for a line while run is still going.
type lines struct {
	mu      sync.Mutex
	all     []string
	changed chan struct{} // closed and replaced on every new line
	done    chan struct{} // closed when the pipe is drained
}

func readLines(r io.Reader) *lines {
	l := &lines{changed: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.all = append(l.all, sc.Text())
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, r) // never block the writer
	}()
	return l
}

// waitFor returns the first line that starts with prefix, waiting up to 10s.
func (l *lines) waitFor(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		for _, s := range l.all {
			if strings.HasPrefix(s, prefix) {
				l.mu.Unlock()
				return s
			}
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("no line starting with %q in:\n%s", prefix, strings.Join(l.snapshot(), "\n"))
		}
	}
}

func (l *lines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.all)
}

// TestRunServesAndShutsDownInOrder starts the service against a local
// upstream, checks that a request's X-Request-ID reaches the upstream (R25,
// R26), then cancels the context while a request is in flight: the request
// completes, and the output says "server stopped" before "client closed"
// (R29: the client is closed after the server has shut down).
func TestRunServesAndShutsDownInOrder(t *testing.T) {
	var mu sync.Mutex
	var upstreamIDs []string
	arrived, release := make(chan struct{}), make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		upstreamIDs = append(upstreamIDs, r.Header.Get(requestid.Header))
		mu.Unlock()
		switch r.URL.Path {
		case "/users/slow":
			close(arrived)
			<-release
			w.Write([]byte(`{"id":"slow","name":"Slow Poke"}`))
		case "/users/42":
			w.Write([]byte(`{"id":"42","name":"Ada Lovelace"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer upstream.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	out := readLines(pr)
	runErr := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0", "-upstream", upstream.URL}, pw)
		pw.Close()
		runErr <- err
	}()
	base := strings.TrimPrefix(out.waitFor(t, "listening on http://"), "listening on ")

	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	get := func(path, id string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if id != "" {
			req.Header.Set(requestid.Header, id)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	// An inbound ID goes through to the upstream and back to the caller.
	resp, body := get("/users/42", "trace-abc-1")
	var u User
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &u) != nil || u.Name != "Ada Lovelace" {
		t.Fatalf("GET /users/42: %d %q", resp.StatusCode, body)
	}
	if got := resp.Header.Get(requestid.Header); got != "trace-abc-1" {
		t.Errorf("response X-Request-ID = %q, want trace-abc-1", got)
	}
	out.waitFor(t, `level=INFO msg="GET /users/{id}" request_id=trace-abc-1 id=42 status=200`)

	// Without one, the middleware generates an ID, and the upstream gets it.
	resp, _ = get("/users/7", "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /users/7: %d, want 404", resp.StatusCode)
	}
	generated := resp.Header.Get(requestid.Header)
	mu.Lock()
	if len(upstreamIDs) != 2 || upstreamIDs[0] != "trace-abc-1" || upstreamIDs[1] != generated || len(generated) != 36 {
		t.Errorf("upstream saw request IDs %q; want trace-abc-1 and the generated %q", upstreamIDs, generated)
	}
	mu.Unlock()

	// Shut down while a request is in flight: it must complete.
	slow := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, base+"/users/slow", nil)
		req.Header.Set(requestid.Header, "in-flight-1")
		resp, err := hc.Do(req)
		if err != nil {
			t.Errorf("in-flight request: %v", err)
			slow <- 0
			return
		}
		resp.Body.Close()
		slow <- resp.StatusCode
	}()
	<-arrived
	cancel()
	out.waitFor(t, "shutting down")
	close(release)
	if code := <-slow; code != http.StatusOK {
		t.Errorf("in-flight request during shutdown: status %d, want 200", code)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("run returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after the context was cancelled")
	}
	<-out.done

	all := out.snapshot()
	idx := func(prefix string) int {
		return slices.IndexFunc(all, func(s string) bool { return strings.HasPrefix(s, prefix) })
	}
	inflight := idx(`level=INFO msg="GET /users/{id}" request_id=in-flight-1 id=slow status=200`)
	stopped, closed := idx("server stopped"), idx("client closed")
	if inflight < 0 || stopped < 0 || closed < 0 || !(idx("shutting down") < inflight && inflight < stopped && stopped < closed) {
		t.Errorf("want: shutting down, the in-flight request's log line, server stopped, client closed; got:\n%s",
			strings.Join(all, "\n"))
	}
}

// TestRunStandIn runs the service with its own stand-in upstream, as `go run`
// does, and checks the request ID in the stand-in's log line.
func TestRunStandIn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	out := readLines(pr)
	runErr := make(chan error, 1)
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0"}, pw)
		pw.Close()
		runErr <- err
	}()
	base := strings.TrimPrefix(out.waitFor(t, "listening on http://"), "listening on ")

	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, base+"/users/42", nil)
	req.Header.Set(requestid.Header, "abc-1")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	out.waitFor(t, "upstream: GET /users/42 X-Request-ID=abc-1")

	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("run: %v", err)
	}
	<-out.done
}

func TestRunBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{"-nope"},
		{"extra"},
		{"-grace", "0s"},
		{"-addr", "127.0.0.1:99999"},
		{"-upstream", "ftp://example.com"},
	} {
		if err := run(context.Background(), args, io.Discard); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
