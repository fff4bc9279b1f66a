package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/tempestsdk/tempest/httpclienttest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunOutage posts four charges to an upstream that always answers 503:
// charge-1 makes 3 attempts (R7: its Idempotency-Key allows retrying a POST),
// charge-2 makes 2 and stops when its second opens the circuit (R18, R21),
// and charges 3 and 4 fail fast with ErrCircuitOpen without a hit. So the
// upstream sees exactly 5 requests.
func TestRunOutage(t *testing.T) {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusServiceUnavailable)})
	defer upstream.Close()

	var out bytes.Buffer
	err := run(context.Background(), []string{"-upstream", upstream.URL, "-backoff", "1ms", "-api-key", "k-123"}, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := upstream.Hits(); got != 5 {
		t.Errorf("upstream hits = %d, want 5 (3 for charge-1, 2 for charge-2, none once the circuit is open)", got)
	}

	want := []string{
		"charge-1  attempt 1/3 POST /charge -> 503",
		"charge-1  attempt 2/3 POST /charge -> 503",
		"charge-1  attempt 3/3 POST /charge -> 503",
		"charge-1  result: 503 Service Unavailable",
		"charge-2  attempt 1/3 POST /charge -> 503",
		"breaker   " + upstream.URL + " closed -> open (failures)",
		"charge-2  attempt 2/3 POST /charge -> 503",
		"charge-2  stopped retrying after attempt 2: circuit_open",
		"charge-2  result: 503 Service Unavailable",
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != len(want)+2 {
		t.Fatalf("got %d lines, want %d", len(lines), len(want)+2)
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %q, want %q", i+1, lines[i], w)
		}
	}
	fastFail := regexp.MustCompile(`^charge-[34]  circuit open: failed fast, nothing sent \(half-opens in [0-9]+s\)$`)
	for _, l := range lines[len(want):] {
		if !fastFail.MatchString(l) {
			t.Errorf("line %q does not match %v", l, fastFail)
		}
	}

	// Every attempt carried the default header, the charge's request ID, and
	// the same Idempotency-Key as the other attempts of its charge.
	for _, r := range upstream.Requests() {
		charge := "charge-1"
		if r.Hit > 3 {
			charge = "charge-2"
		}
		if got := r.Header.Get("X-Api-Key"); got != "k-123" {
			t.Errorf("hit %d: X-Api-Key = %q", r.Hit, got)
		}
		if got := r.Header.Get("Idempotency-Key"); got != charge {
			t.Errorf("hit %d: Idempotency-Key = %q, want %q", r.Hit, got, charge)
		}
		if got := r.Header.Get("X-Request-ID"); got != charge {
			t.Errorf("hit %d: X-Request-ID = %q, want %q", r.Hit, got, charge)
		}
		if want := `{"id":"` + charge + `","amount":100}`; string(r.Body) != want {
			t.Errorf("hit %d: body %s, want %s", r.Hit, r.Body, want)
		}
	}
}

// TestRunHealthy checks the happy path: one attempt per charge.
func TestRunHealthy(t *testing.T) {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.OK(`{"ok":true}`)})
	defer upstream.Close()

	var out bytes.Buffer
	if err := run(context.Background(), []string{"-upstream", upstream.URL, "-charges", "2"}, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	want := "charge-1  attempt 1/3 POST /charge -> 200\n" +
		"charge-1  result: 200 OK\n" +
		"charge-2  attempt 1/3 POST /charge -> 200\n" +
		"charge-2  result: 200 OK\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}

func TestRunBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{"-nope"},
		{"-charges", "0"},
		{"-backoff", "-1s"},
		{"-backoff", "9s"}, // above BackoffMax
		{"-upstream", "not a url"},
		{"extra"},
	} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
