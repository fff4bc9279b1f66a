package httpclient

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclienttest"
)

// protos runs wire tests over HTTP/1.1 and HTTP/2 both (STYLE 6).
var protos = []struct {
	name string
	opts []httpclienttest.Option
}{
	{"HTTP1", nil},
	{"HTTP2", []httpclienttest.Option{httpclienttest.WithHTTP2()}},
}

func eachProto(t *testing.T, f func(t *testing.T, opts []httpclienttest.Option)) {
	for _, p := range protos {
		t.Run(p.name, func(t *testing.T) { f(t, p.opts) })
	}
}

// fastRetry is a scaled policy for loopback tests: millisecond waits.
var fastRetry = RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond, BackoffMax: 5 * time.Millisecond}

// upstream starts a loopback server and a client whose base URL is its URL,
// with a scaled policy (millisecond waits).
func upstream(t *testing.T, script httpclienttest.Script, sopts []httpclienttest.Option, copts ...Option) (*httpclienttest.Server, *Client) {
	t.Helper()
	srv := httpclienttest.NewServer(script, sopts...)
	return srv, clientFor(t, srv, append([]Option{WithRetryPolicy(fastRetry)}, copts...)...)
}

// memUpstream is upstream in memory, for use inside a synctest bubble, with
// the default policy unless copts set one.
func memUpstream(t *testing.T, script httpclienttest.Script, copts ...Option) (*httpclienttest.Server, *Client) {
	t.Helper()
	srv := httpclienttest.NewMemoryServer(script)
	return srv, clientFor(t, srv, copts...)
}

// clientFor builds a client over srv's transport and cleans both up.
func clientFor(t *testing.T, srv *httpclienttest.Server, copts ...Option) *Client {
	t.Helper()
	tr := srv.Transport()
	c, err := New(srv.URL, append([]Option{WithTransport(tr)}, copts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		tr.CloseIdleConnections()
		srv.Close()
	})
	return c
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return string(b)
}

// recorder collects hook events.
type recorder struct {
	mu       sync.Mutex
	attempts []Attempt
	results  []AttemptResult
	retries  []RetryEvent
	giveUps  []giveUpRec
	changes  []changeRec
}

func (r *recorder) hooks() Hooks {
	return Hooks{
		AttemptDone: func(_ ctxT, a Attempt, res AttemptResult) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.attempts = append(r.attempts, a)
			r.results = append(r.results, res)
		},
		Retry: func(_ ctxT, e RetryEvent) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.retries = append(r.retries, e)
		},
		GiveUp: func(_ ctxT, a Attempt, why Stop) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.giveUps = append(r.giveUps, giveUpRec{Attempt: a, Reason: why})
		},
		StateChange: func(origin string, ch breaker.Change) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.changes = append(r.changes, changeRec{Origin: origin, Change: ch})
		},
	}
}

func (r *recorder) nAttempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.attempts)
}

type ctxT = context.Context

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// giveUpRec is one GiveUp hook call.
type giveUpRec struct {
	Attempt Attempt
	Reason  Stop
}

// changeRec is one StateChange hook call.
type changeRec struct {
	Origin string
	breaker.Change
}
