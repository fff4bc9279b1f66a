package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/tempestsdk/tempest/httpclienttest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunRetriesThroughStandardClient: the SDK calls Do once; the upstream
// fails twice, so the client's transport makes three attempts under that one
// Do (R31), with the Retry option from the context (R40: MaxAttempts 4) and
// the context's request ID on every attempt (R25).
func TestRunRetriesThroughStandardClient(t *testing.T) {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{
		httpclienttest.Status(http.StatusServiceUnavailable),
		httpclienttest.Status(http.StatusTooManyRequests, "Retry-After", "0"),
		httpclienttest.OK(`{"city":"Porto","celsius":18,"sky":"cloudy"}`),
	})
	defer upstream.Close()

	var out bytes.Buffer
	err := run(context.Background(), []string{"-upstream", upstream.URL, "-city", "Porto", "-backoff", "1ms"}, &out)
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	want := "attempt 1/4 GET /forecast -> 503 (request_id=weather-job-1)\n" +
		"attempt 2/4 GET /forecast -> 429 (request_id=weather-job-1)\n" +
		"attempt 3/4 GET /forecast -> 200 (request_id=weather-job-1)\n" +
		"forecast for Porto: 18°C, cloudy\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
	if got := upstream.Hits(); got != 3 {
		t.Errorf("upstream hits = %d, want 3", got)
	}
	for _, r := range upstream.Requests() {
		if r.Path != "/forecast?city=Porto" || r.Header.Get("X-Request-ID") != "weather-job-1" {
			t.Errorf("hit %d: %s with X-Request-ID %q", r.Hit, r.Path, r.Header.Get("X-Request-ID"))
		}
	}
}

// TestRunGivesUp: after MaxAttempts the SDK sees the last response (a 503
// with a nil error, as net/http returns it) and reports it.
func TestRunGivesUp(t *testing.T) {
	upstream := httpclienttest.NewServer(httpclienttest.Sequence{httpclienttest.Status(http.StatusServiceUnavailable)})
	defer upstream.Close()

	var out bytes.Buffer
	err := run(context.Background(), []string{"-upstream", upstream.URL, "-backoff", "1ms"}, &out)
	if err == nil || !strings.Contains(err.Error(), "weather: 503 Service Unavailable") {
		t.Fatalf("run = %v, want the SDK's error for the last 503", err)
	}
	if got := upstream.Hits(); got != 4 {
		t.Errorf("upstream hits = %d, want 4", got)
	}
}

func TestRunStandIn(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-backoff", "1ms"}, &out); err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.HasSuffix(out.String(), "attempt 3/4 GET /forecast -> 200 (request_id=weather-job-1)\nforecast for Lisbon: 21°C, sunny\n") {
		t.Errorf("output:\n%s", out.String())
	}
}

func TestRunBadArgs(t *testing.T) {
	for _, args := range [][]string{{"-nope"}, {"extra"}, {"-backoff", "-1s"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
