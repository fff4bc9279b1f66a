package httpclient

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclienttest"
)

var update = flag.Bool("update", false, "rewrite docs/fault-matrix.md from the fault matrix test")

// A fault of the matrix, with what the rules say about it.
type matrixFault struct {
	name      string
	script    httpclienttest.Response // ignored by refused and tls
	refused   bool                    // no listener: the dial is refused
	tls       bool                    // a TLS server whose certificate the client does not trust
	retryable bool                    // R6 allows a retry of this outcome
	notSent   bool                    // the failure proves nothing was sent (R7, R38)
	failure   bool                    // each attempt is a breaker failure (R17)
	outcome   string                  // what the caller gets
	short     bool                    // the fault needs the short attempt timeout
	why       string                  // the rule behind it
}

type methodClass struct {
	name   string
	method string
	key    bool // sends an Idempotency-Key
}

var matrixClasses = []methodClass{
	{"GET (safe)", http.MethodGet, false},
	{"PUT (idempotent)", http.MethodPut, false},
	{"POST", http.MethodPost, false},
	{"POST + Idempotency-Key", http.MethodPost, true},
}

// closeConn makes the server close the connection after each response, so
// that no attempt runs on a reused connection, which net/http itself may
// replay once; the counts are then exact.
var closeConn = http.Header{"Connection": {"close"}}

func status(code int, kv ...string) httpclienttest.Response {
	r := httpclienttest.Status(code, kv...)
	r.Header = r.Header.Clone()
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.Header.Set("Connection", "close")
	return r
}

var matrixFaults = []matrixFault{
	{name: "connection refused", refused: true, retryable: true, notSent: true, failure: true, outcome: "error: refused", why: "R6 transient; R7 a refused dial proves nothing was sent"},
	{name: "reset before response", script: httpclienttest.Response{Fault: httpclienttest.ResetBeforeResponse}, retryable: true, failure: true, outcome: "error: reset", why: "R6 transient"},
	{name: "reset mid-body", script: httpclienttest.Response{Body: []byte("0123456789"), Fault: httpclienttest.ResetMidBody, Header: closeConn}, outcome: "response 200, body: reset", why: "R17 a 200 is a success; body errors are the caller's"},
	{name: "hang", short: true, script: httpclienttest.Response{Fault: httpclienttest.Hang}, retryable: true, failure: true, outcome: "error: attempt_timeout", why: "R6 attempt timeouts are transient (R15)"},
	{name: "slow body", short: true, script: httpclienttest.Response{Body: []byte("01234567"), Fault: httpclienttest.SlowBody, BodyDelay: 100 * time.Millisecond, Header: closeConn}, outcome: "response 200, body: attempt_timeout", why: "R14 the attempt timeout covers the body"},
	{name: "500", script: status(500), retryable: true, failure: true, outcome: "response 500", why: "R6 allow-listed status"},
	{name: "502", script: status(502), retryable: true, failure: true, outcome: "response 502", why: "R6 allow-listed status"},
	{name: "503", script: status(503), retryable: true, failure: true, outcome: "response 503", why: "R6 allow-listed status"},
	{name: "504", script: status(504), retryable: true, failure: true, outcome: "response 504", why: "R6 allow-listed status"},
	{name: "429 without Retry-After", script: status(429), retryable: true, outcome: "response 429", why: "R6 allow-listed; R17 not a breaker failure"},
	{name: "429 Retry-After: 0", script: status(429, "Retry-After", "0"), retryable: true, outcome: "response 429", why: "R9 zero means no wait"},
	{name: "429 Retry-After over the cap", script: status(429, "Retry-After", "3600"), outcome: "response 429", why: "R9 over BackoffMax: returned at once"},
	{name: "503 malformed Retry-After", script: status(503, "Retry-After", "soon"), retryable: true, failure: true, outcome: "response 503", why: "R9 invalid value ignored: computed backoff"},
	{name: "redirect loop", script: status(302, "Location", "/loop"), outcome: "error: redirect loop", why: "R24 at most 10 hops; not retried"},
	{name: "TLS untrusted certificate", tls: true, failure: true, outcome: "error: certificate", why: "R6 certificate errors are never retried; R17 a failure"},
}

// matrixPolicy is the scaled policy of every cell.
var matrixPolicy = RetryPolicy{MaxAttempts: 3, BackoffInitial: time.Millisecond, BackoffMax: 500 * time.Millisecond, Jitter: -1}

type cell struct {
	attempts int    // attempts of the first hop, from the hooks
	hops     int    // hops the call made
	outcome  string // response status or error class, and the body's fate
	failures int    // breaker failures reported
}

func runCell(t *testing.T, f matrixFault, mc methodClass) cell {
	t.Helper()
	var mu sync.Mutex
	var got cell
	hooks := Hooks{AttemptDone: func(_ context.Context, a Attempt, r AttemptResult) {
		mu.Lock()
		defer mu.Unlock()
		if a.N == 1 {
			got.hops++
		}
		if got.hops == 1 {
			got.attempts++
		}
		if r.Outcome == breaker.Failure {
			got.failures++
		}
	}}
	// A long attempt timeout unless the fault is about timeouts, so that a
	// loaded machine's slow handshake is never mistaken for the fault.
	timeout := 5 * time.Second
	if f.short {
		timeout = 200 * time.Millisecond
	}
	opts := []Option{WithRetryPolicy(matrixPolicy), WithTimeout(timeout),
		WithCircuitBreaker(1000, time.Hour), WithRetryBudget(RetryBudget{Disabled: true}), WithHooks(hooks)}
	var base string
	switch {
	case f.refused:
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base = "http://" + ln.Addr().String()
		ln.Close()
	default:
		var sopts []httpclienttest.Option
		if f.tls {
			sopts = append(sopts, httpclienttest.WithTLS())
		}
		srv := httpclienttest.NewServer(httpclienttest.Sequence{f.script}, sopts...)
		defer srv.Close()
		base = srv.URL
	}
	c, err := New(base, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ropts := []RequestOption{}
	if mc.method != http.MethodGet {
		ropts = append(ropts, Body(strings.NewReader("payload"), "text/plain"))
	}
	if mc.key {
		ropts = append(ropts, Header("Idempotency-Key", "key-1"))
	}
	resp, err := c.Request(context.Background(), mc.method, "/loop", ropts...)
	switch {
	case err != nil && strings.Contains(err.Error(), "stopped after 10 redirects"):
		got.outcome = "error: redirect loop"
	case err != nil:
		got.outcome = "error: " + string(ClassOf(err))
	default:
		_, berr := io.ReadAll(resp.Body)
		resp.Body.Close()
		got.outcome = fmt.Sprintf("response %d", resp.StatusCode)
		if berr != nil {
			got.outcome += ", body: " + string(ClassOf(berr))
		}
	}
	return got
}

// TestFaultMatrix_R52 runs every fault of httpclienttest against every method
// class and checks attempts and breaker accounting against the rules (R6,
// R7, R9, R14, R17, R24), then compares the table with docs/fault-matrix.md
// (`go test ./httpclient -run FaultMatrix -update` rewrites it).
func TestFaultMatrix_R52(t *testing.T) {
	var table bytes.Buffer
	table.WriteString(matrixHeader)
	for _, f := range matrixFaults {
		for _, mc := range matrixClasses {
			got := runCell(t, f, mc)
			safe := mc.method == http.MethodGet || mc.method == http.MethodPut
			want := 1
			if f.retryable && (safe || mc.key || f.notSent) {
				want = matrixPolicy.MaxAttempts
			}
			if got.attempts != want {
				t.Errorf("%s / %s: %d attempts, want %d (%s)", f.name, mc.name, got.attempts, want, f.why)
			}
			if got.outcome != f.outcome {
				t.Errorf("%s / %s: outcome %q, want %q", f.name, mc.name, got.outcome, f.outcome)
			}
			if wantFailures := map[bool]int{true: got.attempts}[f.failure]; got.failures != wantFailures {
				t.Errorf("%s / %s: %d breaker failures, want %d (R17)", f.name, mc.name, got.failures, wantFailures)
			}
			retried := "no"
			if got.attempts > 1 {
				retried = "yes"
			}
			why := f.why
			if f.retryable && !safe && !mc.key && !f.notSent {
				why = "R7 not retried: a POST without a key may have been processed"
			}
			fmt.Fprintf(&table, "| %s | %s | %d | %d | %s | %d | %s | %s |\n",
				f.name, mc.name, got.attempts, got.hops, got.outcome, got.failures, retried, why)
		}
	}
	const path = "../docs/fault-matrix.md"
	if *update {
		if err := os.WriteFile(path, table.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run: go test ./httpclient -run FaultMatrix -update)", err)
	}
	if !bytes.Equal(doc, table.Bytes()) {
		t.Errorf("docs/fault-matrix.md is stale; run: go test ./httpclient -run FaultMatrix -update\n--- measured:\n%s", table.String())
	}
}

const matrixHeader = `# Fault matrix

What the client does with each fault of ` + "`httpclienttest`" + ` for each method class,
measured over real loopback HTTP/1.1 by ` + "`TestFaultMatrix_R52`" + ` with a scaled policy
(3 attempts, 1 ms backoff, 500 ms BackoffMax, retry budget off; attempt
timeout 200 ms for the hang and the slow body, 5 s otherwise). Deterministic values only; regenerate with

    go test ./httpclient -run FaultMatrix -update

Columns: attempts of the first hop; hops made (redirects); what the caller got
(a response and the fate of reading its body, or an error class from
` + "`ClassOf`" + `); breaker failures reported (R17); retried or not; the rule.

| fault | method | attempts | hops | outcome | breaker failures | retried | why |
| --- | --- | --- | --- | --- | --- | --- | --- |
`
