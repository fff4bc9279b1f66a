package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var summaryRE = regexp.MustCompile(`^summary: calls=\d+ attempts=\d+ fastfails=[1-9]\d* admitted_while_open=0 recovered=true$`)

// TestRunShortScenario runs a 4s scenario over real loopback: the circuit
// must open during the outage and fail calls fast (R18), admit one probe at a
// time and never an attempt while open (R19, R21), close again after the
// outage, and carry one request ID from the inbound log line through the
// client's attempts to the upstream (R25-R27).
func TestRunShortScenario(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var buf bytes.Buffer
	start := time.Now()
	err := run(ctx, []string{"-duration=4s", "-rate=40"}, &buf)
	out := buf.String()
	t.Logf("run took %v; output:\n%s", time.Since(start).Round(time.Millisecond), out)
	if err != nil {
		t.Fatalf("run: %v", err)
	}

	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if last := lines[len(lines)-1]; !summaryRE.MatchString(last) {
		t.Errorf("last line %q does not match %v", last, summaryRE)
	}
	for _, want := range []string{"closed -> open", "open -> half-open", "half-open -> closed", " probe request_id="} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}

	m := regexp.MustCompile(`trace of request (demo-\d{6}) \(an outage call with [2-9] attempts\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no traced outage call with several attempts in the output")
	}
	id := m[1]
	checks := map[string]*regexp.Regexp{
		"service inbound line": regexp.MustCompile(`service +level=INFO msg="inbound request" request_id=` + id + ` `),
		"client attempt line":  regexp.MustCompile(`client +attempt 1/3 request_id=` + id + ` `),
		"upstream line":        regexp.MustCompile(`upstream +hit=\d+ GET /quote\?symbol=TMP X-Request-ID=` + id + ` `),
	}
	for what, re := range checks {
		if !re.MatchString(out) {
			t.Errorf("the traced ID %s is missing from the %s (%v)", id, what, re)
		}
	}
}

func TestRunBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-nope"},
		{"-duration=soon"},
		{"-duration=1s"},
		{"-duration=1h"},
		{"-rate=0"},
		{"-rate=-5"},
		{"-rate=1000000"},
		{"extra"},
	} {
		var buf bytes.Buffer
		err := run(context.Background(), args, &buf)
		if err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
		if buf.Len() != 0 {
			t.Errorf("run(%q) printed %q before failing", args, buf.String())
		}
	}
}

func TestRunHelp(t *testing.T) {
	var buf bytes.Buffer
	err := run(context.Background(), []string{"-h"}, &buf)
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run(-h) = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(buf.String(), "-duration") {
		t.Errorf("run(-h) printed %q, want the usage", buf.String())
	}
}

// TestRunInterrupted: a cancelled context (SIGINT in main) stops the scenario
// early, shuts everything down (goleak checks) and reports an error; -quiet
// prints the summary line only.
func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	start := time.Now()
	err := run(ctx, []string{"-duration=10s", "-quiet"}, &buf)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run = %v, want an error wrapping the context's", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("run took %v after its context ended", d)
	}
	// -quiet: the summary line only.
	if out := buf.String(); strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "summary: calls=") {
		t.Errorf("-quiet printed %q, want only the summary line", out)
	}
}

// TestReportFlagsMisbehaviour feeds the accounting made-up hook events of a
// misbehaving client: each must become a problem, which run returns as an
// error (exit status 1). R19: one probe per half-open generation; R18, R21:
// nothing admitted while open.
func TestReportFlagsMisbehaviour(t *testing.T) {
	set := scale(config{duration: 10 * time.Second, rate: 40})
	d := newDemo(config{duration: set.duration, rate: 40}, set)
	ctx := context.Background()
	d.stateChange(httpclient.StateChange{From: breaker.Closed, To: breaker.Open, Generation: 2})
	d.attemptDone(ctx, httpclient.Attempt{N: 1, Max: 3, Breaker: breaker.Open, Generation: 2},
		httpclient.AttemptResult{Status: 503, Class: "status", Outcome: breaker.Failure})
	for range 2 {
		d.attemptDone(ctx, httpclient.Attempt{N: 1, Max: 3, Breaker: breaker.HalfOpen, Generation: 3, Probe: true},
			httpclient.AttemptResult{Status: 200, Class: "status"})
	}
	d.calls = append(d.calls, call{id: "demo-000001", at: set.outageStart, status: 502},
		call{id: "demo-000002", at: set.duration - time.Millisecond, status: 502})

	r := d.report(true)
	if r.admittedOpen != 1 {
		t.Errorf("admitted_while_open = %d, want 1", r.admittedOpen)
	}
	if r.recovered {
		t.Errorf("recovered = true with the breaker open and the last call failed")
	}
	got := strings.Join(r.problems, "\n")
	for _, want := range []string{
		"1 attempts were admitted while the circuit was open",
		"half-open generation 3 admitted 2 probes",
		"no call failed fast during the outage",
		"no recovery",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q; got:\n%s", want, got)
		}
	}

	// Interrupted: only the checks that hold at any moment remain.
	r = d.report(false)
	if got := strings.Join(r.problems, "\n"); strings.Contains(got, "no recovery") || strings.Contains(got, "outage") {
		t.Errorf("an interrupted run's problems include whole-scenario checks:\n%s", got)
	}
}
