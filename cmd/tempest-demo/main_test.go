package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/requestid"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var summaryRE = regexp.MustCompile(`^summary: calls=\d+ attempts=\d+ fastfails=[1-9]\d* admitted_while_open=0 recovered=true` +
	` retry_after_honoured=true probes_max_per_halfopen=1 unkeyed_post_duplicates=0$`)

// runDemo runs the demo with args and returns its output and error.
func runDemo(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var buf bytes.Buffer
	start := time.Now()
	err := run(ctx, args, &buf)
	t.Logf("run %q took %v", args, time.Since(start).Round(time.Millisecond))
	return buf.String(), err
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestRunShortScenario runs the default scenario for 5s over real loopback,
// on the plain (not a terminal) path. The circuit must fail calls fast during
// the outage (R18), admit one probe per half-open period and nothing while
// open (R19, R21, counted from the hooks), honour Retry-After in the
// rate-limited phase (R9), never send an unkeyed POST twice (R7), close again,
// and carry one request ID from the inbound log line through the client's
// attempts to the upstream (R25-R27).
func TestRunShortScenario(t *testing.T) {
	t.Parallel()
	out, err := runDemo(t, "-duration=5s", "-rate=40")
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out)
	}
	t.Logf("output:\n%s", out)
	if last := lastLine(out); !summaryRE.MatchString(last) {
		t.Errorf("last line %q does not match %v", last, summaryRE)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("the plain path printed ANSI escapes")
	}
	for _, want := range []string{
		"phase 2/5 outage begins", "phase 5/5 recovered begins", "traffic over;", // plain progress lines
		"closed -> open", "open -> half-open", "half-open -> closed", " probe request_id=",
		"the upstream asks for 1s", "per phase (",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  ok   outage: [1-9]\d* of \d+ calls failed fast`),
		regexp.MustCompile(`(?m)^  ok   Retry-After honoured: [1-9]\d* retries after a 429 with Retry-After: 1, the shortest 1\.\d\ds later; the upstream saw 0 come back early$`),
		regexp.MustCompile(`(?m)^  ok   POSTs without an Idempotency-Key never retried: [1-9]\d* sent, 0 received twice`),
		regexp.MustCompile(`(?m)^  ok   one probe per half-open period: half-open periods=[1-9]\d*, most probes in one=1; attempts admitted while open=0$`),
		regexp.MustCompile(`(?m)^  ok   full recovery: breaker closed`),
	} {
		if !re.MatchString(out) {
			t.Errorf("output lacks a line matching %v", re)
		}
	}
	if strings.Contains(out, "FAIL") || strings.Contains(out, "problem:") {
		t.Errorf("output reports a problem")
	}

	m := regexp.MustCompile(`trace of request (demo-\d{6}) \(`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no traced call in the output")
	}
	id := regexp.QuoteMeta(m[1])
	for what, re := range map[string]*regexp.Regexp{
		"service inbound line": regexp.MustCompile(`service +level=INFO msg="inbound request" request_id=` + id + ` `),
		"client attempt line":  regexp.MustCompile(`client +attempt 1/3 request_id=` + id + ` admitted `),
		"upstream line":        regexp.MustCompile(`upstream +hit=\d+ (GET|POST) \S+ X-Request-ID=` + id + ` X-Call-ID=call-\d+`),
		"service done line":    regexp.MustCompile(`service +level=INFO msg="request done" request_id=` + id + ` `),
	} {
		if !re.MatchString(out) {
			t.Errorf("the traced ID %s is missing from the %s (%v)", m[1], what, re)
		}
	}
	// The traced call of the default scenario is one that waited out a
	// Retry-After: its wait shows in the trace, and the next attempt
	// follows it a second later.
	if strings.Contains(out, "Retry-After waited out") {
		re := regexp.MustCompile(`client +retry request_id=` + id + ` after attempt \d \(429\): waiting 1\.00s \(Retry-After\)`)
		if !re.MatchString(out) {
			t.Errorf("the traced call's Retry-After wait is missing (%v)", re)
		}
	}
}

// TestCompare runs -compare briefly: three columns, the naive loop receives
// unkeyed POSTs twice and tempest never does (R7), and tempest sends the
// upstream fewer requests during the outage than the naive loop (R18).
func TestCompare(t *testing.T) {
	t.Parallel()
	out, err := runDemo(t, "-compare", "-duration=4s", "-quiet")
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out)
	}
	t.Logf("output:\n%s", out)
	header := regexp.MustCompile(`(?m)^ +plain http\.Client +naive retry loop +tempest$`)
	if !header.MatchString(out) {
		t.Fatalf("no header with the three columns (%v)", header)
	}
	cells := func(label, cell string) [3]int {
		t.Helper()
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + ` +` + cell + ` +` + cell + ` +` + cell + `$`)
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no row %v", re)
		}
		var v [3]int
		for i := range v {
			v[i], _ = strconv.Atoi(m[i+1])
		}
		return v
	}
	dup := cells("unkeyed POSTs received twice / received", `(\d+) / \d+`)
	if dup[1] == 0 {
		t.Errorf("the naive loop received no unkeyed POST twice; want some")
	}
	if dup[0] != 0 || dup[2] != 0 {
		t.Errorf("unkeyed POSTs received twice: plain %d, tempest %d; want 0 and 0", dup[0], dup[2])
	}
	hits := cells("upstream hits during outage (per call)", `(\d+) \([\d.-]+\)`)
	if hits[2] >= hits[1] {
		t.Errorf("upstream hits during the outage: tempest %d, naive %d; want tempest lower", hits[2], hits[1])
	}
	if last := lastLine(out); !strings.HasPrefix(last, "summary: ") || !strings.Contains(last, " recovered=true") {
		t.Errorf("last line %q, want tempest's summary with recovered=true", last)
	}
}

func TestRunBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-nope"},
		{"-duration=soon"},
		{"-duration=1s"},
		{"-duration=1h"},
		{"-rate=0"},
		{"-rate=-5"},
		{"-rate=1000000"},
		{"-scenario=meltdown"},
		{"-scenario="},
		{"-svg="},
		{"-observe=9090"},
		{"-observe=:9464"},
		{"-observe=0.0.0.0:9464"},
		{"-observe=ops.example:9464"},
		{"-observe="},
		{"-compare=maybe"},
		{"extra"},
		{"-fleet=maybe"},
		{"-fleet", "-compare"},
		{"-fleet", "-scenario=outage-only"},
		{"-fleet", "-svg=fleet.svg"},
		{"-fleet", "-observe=127.0.0.1:9464"},
		{"-fleet", "-redis="},
		{"-fleet", "-redis=http://127.0.0.1:6379"},
		{"-fleet", "-duration=1s"},
		{"-redis=redis://127.0.0.1:6379"},
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
	t.Parallel()
	var buf bytes.Buffer
	err := run(context.Background(), []string{"-h"}, &buf)
	if !errors.Is(err, flag.ErrHelp) {
		t.Errorf("run(-h) = %v, want flag.ErrHelp", err)
	}
	for _, want := range []string{"-duration", "-scenario", "outage-only", "saturate", "-svg", "-compare", "-fleet", "-redis"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("run(-h) printed %q, want the usage with %q", buf.String(), want)
		}
	}
}

// TestRunInterrupted: a cancelled context (SIGINT in main) stops the scenario
// early, shuts everything down (goleak checks) and reports an error; -quiet
// prints the summary line only.
func TestRunInterrupted(t *testing.T) {
	t.Parallel()
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
	if out := buf.String(); strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "summary: calls=") {
		t.Errorf("-quiet printed %q, want only the summary line", out)
	}
}

// TestLiveView runs the terminal path (main passes a terminal when stdout is
// one) until an interruption: the live block is drawn, then redrawn in place
// with ANSI cursor-up and clear-line, and its goroutine stops (goleak).
func TestLiveView(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	err := run(ctx, []string{"-duration=10s", "-scenario=outage-only"}, terminal{&buf})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run = %v, want an error wrapping the context's", err)
	}
	out := buf.String()
	for _, want := range []string{"\x1b[4A", "\r\x1b[2K", "█", "phase 1/3", "inbound ", "fast-fails ", "breaker \x1b[1;32mclosed", "p50 "} {
		if !strings.Contains(out, want) {
			t.Errorf("live output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "phase 1/3 healthy begins") {
		t.Errorf("the terminal path printed plain progress lines")
	}
}

// TestScale: every scenario's phases tile the run, and the breaker's
// recovery fits in each phase, at the shortest and the default durations.
func TestScale(t *testing.T) {
	t.Parallel()
	for _, sc := range scenarioNames() {
		for _, d := range []time.Duration{minDuration, defaultCompareDuration, defaultDuration, time.Minute} {
			set := scale(config{duration: d, rate: 40, scenario: sc})
			if set.phases[0].start != 0 || set.phases[len(set.phases)-1].end != d {
				t.Errorf("%s %v: phases span %v-%v", sc, d, set.phases[0].start, set.phases[len(set.phases)-1].end)
			}
			for i, p := range set.phases {
				if i > 0 && p.start != set.phases[i-1].end {
					t.Errorf("%s %v: phase %s starts at %v, the one before ends at %v", sc, d, p.name, p.start, set.phases[i-1].end)
				}
				if p.end-p.start <= set.recovery {
					t.Errorf("%s %v: phase %s lasts %v, not longer than the recovery %v", sc, d, p.name, p.end-p.start, set.recovery)
				}
			}
			if time.Duration(set.retryAfter)*time.Second >= set.policy.BackoffMax {
				t.Errorf("Retry-After %ds is not below BackoffMax %v: it would not be waited out (R9)", set.retryAfter, set.policy.BackoffMax)
			}
		}
	}
	if got := scale(config{duration: defaultDuration, rate: 40, scenario: "default"}).recovery; got != time.Second {
		t.Errorf("default recovery = %v, want 1s", got)
	}
}

// TestReportFlagsMisbehaviour feeds the accounting made-up hook events and
// upstream hits of a misbehaving client: each must become a problem, which
// run returns as an error (exit status 1). R18, R21: nothing admitted while
// open; R19: one probe per half-open generation; R9: no retry before
// Retry-After; R7: no unkeyed POST twice.
func TestReportFlagsMisbehaviour(t *testing.T) {
	t.Parallel()
	set := scale(config{duration: defaultDuration, rate: 40, scenario: "default"})
	w := newWorld(set, modeTempest)
	idCtx := func(n int) context.Context {
		return requestid.NewContext(context.Background(), "demo-00000"+strconv.Itoa(n))
	}
	w.stateChange("http://upstream:80", breaker.Change{From: breaker.Closed, To: breaker.Open, Generation: 2, At: w.start, Until: w.start.Add(time.Second)})
	w.attemptStart(idCtx(1), nil, httpclient.Attempt{N: 1, Max: 3, Breaker: breaker.Open, Generation: 2})
	for range 2 {
		w.attemptStart(idCtx(2), nil, httpclient.Attempt{N: 1, Max: 3, Breaker: breaker.HalfOpen, Generation: 3, Probe: true})
	}
	w.attemptStart(idCtx(3), nil, httpclient.Attempt{N: 1, Max: 3, Breaker: breaker.HalfOpen, Generation: 3})
	// A 429 with Retry-After: 1, and the next attempt at once.
	w.attemptDone(idCtx(4), httpclient.Attempt{N: 1, Max: 3}, httpclient.AttemptResult{Status: http.StatusTooManyRequests, Class: "status"})
	w.attemptStart(idCtx(4), nil, httpclient.Attempt{N: 2, Max: 3})
	// An unkeyed POST received twice.
	for hit := range 2 {
		w.upstreamLog(httpclienttest.Request{Hit: hit + 1, Method: http.MethodPost, Status: 503,
			Header: http.Header{http.CanonicalHeaderKey(requestid.HeaderName()): {"demo-000005"}, http.CanonicalHeaderKey(callIDHeader): {"call-000005"}}})
	}
	w.calls = append(w.calls,
		callRecord{id: "demo-000001", start: set.phases[1].start, outcome: outcome5xx},
		callRecord{id: "demo-000002", start: set.duration - time.Millisecond, outcome: outcome5xx})

	r := w.report(true)
	if r.admittedOpen != 1 {
		t.Errorf("admitted_while_open = %d, want 1", r.admittedOpen)
	}
	if r.recovered || r.retryAfterHonoured() {
		t.Errorf("recovered = %t, retry_after_honoured = %t; want both false", r.recovered, r.retryAfterHonoured())
	}
	got := strings.Join(r.problems, "\n")
	for _, want := range []string{
		"1 attempts were admitted while the circuit was open",
		"half-open generation 3 admitted 2 probes",
		"1 attempts were admitted half-open without being the probe",
		"1 retries came less than Retry-After (1s) after a 429",
		"1 POSTs without an Idempotency-Key reached the upstream more than once",
		"no call failed fast during the outage phase",
		"no recovery",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q; got:\n%s", want, got)
		}
	}
	if err := finish(context.Background(), w, r, nil); err == nil || !strings.Contains(err.Error(), "the client misbehaved") {
		t.Errorf("finish = %v, want the client misbehaved", err)
	}

	// Interrupted: only the checks that hold at any moment remain.
	r = w.report(false)
	if got := strings.Join(r.problems, "\n"); strings.Contains(got, "no recovery") || strings.Contains(got, "failed fast") {
		t.Errorf("an interrupted run's problems include whole-scenario checks:\n%s", got)
	}
}

// saturateBound bounds the calls the service holds in flight in the
// saturate scenario with the limiter: a call either holds one of the
// origin's slots or waits in the limiter's queue (at most
// DefaultConcurrencyQueue); one shed or answered leaves at once, and none
// is in a retry's backoff, since no attempt comes near the 2s timeout.
// The limit starts at 8 and grows by at most half a window, and only
// while nothing queues upstream: during the saturated phase every window
// shows the upstream's queue, so twice the start is generous. 16 + 16 =
// 32 at 40 calls/s; the runs measure 11 to 14.
func saturateBound(t *testing.T) int {
	t.Helper()
	set := scale(config{duration: 6 * time.Second, rate: 40, scenario: "saturate"})
	return 2*initialLimit(set.limit) + httpclient.DefaultConcurrencyQueue
}

// TestSaturate runs the saturate scenario for 5s with the limiter (tempest
// mode) on the plain path: calls are shed during the saturated phase
// (R75), the service's calls in flight stay under saturateBound, the
// limit moves down from its start and is shown, a shed call is traced, and
// every call succeeds again after the phase.
func TestSaturate(t *testing.T) {
	t.Parallel()
	out, err := runDemo(t, "-scenario=saturate", "-duration=5s", "-rate=40")
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out)
	}
	t.Logf("output:\n%s", out)
	summary := regexp.MustCompile(`^summary: calls=\d+ attempts=\d+ fastfails=\d+ admitted_while_open=0 recovered=true` +
		` probes_max_per_halfopen=\d unkeyed_post_duplicates=0 shed_by_limit=[1-9]\d* goodput_back=true$`)
	if last := lastLine(out); !summary.MatchString(last) {
		t.Errorf("last line %q does not match %v", last, summary)
	}
	if strings.Contains(out, "FAIL") || strings.Contains(out, "problem:") {
		t.Errorf("output reports a problem")
	}
	for _, want := range []string{
		"phase 2/3 saturated begins", "concurrency      adaptive limit", "load per phase (",
		"http.outcome=shed-limit http.cause=concurrency_limited",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^  ok   saturated: [1-9]\d* of \d+ calls shed by the concurrency limit`),
		regexp.MustCompile(`(?m)^  ok   goodput back \d+\.\d\ds after the saturated phase`),
		regexp.MustCompile(`(?m)^  ok   full recovery: breaker closed`),
	} {
		if !re.MatchString(out) {
			t.Errorf("output lacks a line matching %v", re)
		}
	}

	// The load table's saturated row: calls shed, and the calls in flight.
	row := regexp.MustCompile(`(?m)^  saturated +(\d+) +\S+ +\S+ +(\d+) +\d+ +\S+$`).FindStringSubmatch(out)
	if row == nil {
		t.Fatalf("no saturated row in the load table")
	}
	shed, _ := strconv.Atoi(row[1])
	inflight, _ := strconv.Atoi(row[2])
	if shed == 0 {
		t.Errorf("no call shed during the saturated phase")
	}
	if bound := saturateBound(t); inflight > bound {
		t.Errorf("the service held %d calls in flight during the saturated phase; want at most %d", inflight, bound)
	}

	// The limit: it starts at its Initial, falls during the phase, and
	// every call the service shed is one the limiter counted.
	m := regexp.MustCompile(`concurrency limit of http://127\.0\.0\.1:\d+, every 500ms \(\| where a phase begins\): ([\d ]+) \| ([\d ]+) \| ([\d ]+)\n` +
		`  (\d+) changes?, down to (\d+) at the least; (\d+) calls refused \(ConcurrencyLimits: rejected=(\d+)\)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no concurrency limit trail in the output")
	}
	start := initialLimit(scale(config{duration: 5 * time.Second, rate: 40, scenario: "saturate"}).limit)
	if !strings.HasPrefix(m[1], strconv.Itoa(start)+" ") {
		t.Errorf("the limit's trail begins %q, want at %d", m[1], start)
	}
	lowest := start
	for _, f := range strings.Fields(m[2]) {
		n, _ := strconv.Atoi(f)
		lowest = min(lowest, n)
	}
	if lowest >= start {
		t.Errorf("the limit did not fall during the saturated phase: %q", m[2])
	}
	changes, _ := strconv.Atoi(m[4])
	refused, _ := strconv.Atoi(m[6])
	rejected, _ := strconv.Atoi(m[7])
	total := regexp.MustCompile(`(?m)^callers' errors: \[.*shed-limit=(\d+)`).FindStringSubmatch(out)
	if total == nil {
		t.Fatalf("no shed-limit among the callers' errors")
	}
	if changes == 0 || strconv.Itoa(refused) != total[1] || rejected < refused || refused < shed {
		t.Errorf("limit changes %d, calls refused %d (the callers saw %s, %d of them in the saturated phase), the limiter's rejected %d:"+
			" want changes, and rejected >= refused = the callers' >= the phase's", changes, refused, total[1], shed, rejected)
	}
}

// TestSaturateCompare runs the saturate scenario with -compare: a fourth
// column, the same client without the limiter; and against it, the
// limiter's run sheds calls, holds fewer calls in flight (under
// saturateBound, and under half), and its successful calls' p99 is under
// half of the other's; goodput comes back after the phase. The margins are
// wide: at 6s the runs measure about 11 calls in flight against 64, and
// 450ms against 1.6s, set by the upstream's schedule rather than by how
// fast the machine is.
func TestSaturateCompare(t *testing.T) {
	t.Parallel()
	out, err := runDemo(t, "-scenario=saturate", "-compare", "-duration=6s", "-quiet")
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out)
	}
	t.Logf("output:\n%s", out)
	header := regexp.MustCompile(`(?m)^ +plain http\.Client +naive retry loop +tempest, no limiter +tempest$`)
	if !header.MatchString(out) {
		t.Fatalf("no header with the four columns (%v)", header)
	}
	cells := func(label, cell string) [4]string {
		t.Helper()
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + ` +` + cell + ` +` + cell + ` +` + cell + ` +` + cell + `$`)
		m := re.FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no row %v", re)
		}
		return [4]string(m[1:])
	}
	ints := func(label string) [4]int {
		t.Helper()
		var v [4]int
		for i, s := range cells(label, `(\d+)`) {
			v[i], _ = strconv.Atoi(s)
		}
		return v
	}
	const plain, naive, noLimit, limited = 0, 1, 2, 3

	shed := ints("  shed (concurrency limit)")
	if shed[limited] == 0 || shed[plain]+shed[naive]+shed[noLimit] != 0 {
		t.Errorf("calls shed by the limit: %v; want some with the limiter only", shed)
	}
	inflight := ints("service's calls in flight, most during saturated")
	if bound := saturateBound(t); inflight[limited] > bound || 2*inflight[limited] >= inflight[noLimit] {
		t.Errorf("calls in flight during the saturated phase: %d with the limiter, %d without; want at most %d, and under half",
			inflight[limited], inflight[noLimit], bound)
	}
	var p99 [4]time.Duration
	for i, s := range cells("successful calls' p50 / p99 during saturated", `\S+ / (\S+)`) {
		p99[i] = parseFmtDur(t, s)
	}
	if 2*p99[limited] >= p99[noLimit] {
		t.Errorf("p99 of the calls that succeeded during the saturated phase: %v with the limiter, %v without; want under half",
			p99[limited], p99[noLimit])
	}
	if back := cells("goodput back after saturated (>= 90% of calls ok)", `(\d+\.\d\ds|not within the run)`); back[limited] == "not within the run" {
		t.Errorf("goodput did not come back after the saturated phase with the limiter: %v", back)
	}
	if last := lastLine(out); !strings.HasPrefix(last, "summary: ") || !strings.Contains(last, " recovered=true") ||
		!strings.Contains(last, " goodput_back=true") {
		t.Errorf("last line %q, want tempest's summary with recovered=true and goodput_back=true", last)
	}
}

// parseFmtDur reads back what fmtDur printed.
func parseFmtDur(t *testing.T, s string) time.Duration {
	t.Helper()
	if s == "0" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("latency %q: %v", s, err)
	}
	return d
}

// TestSaturatedUpstream: the saturate scenario's upstream is a pool of
// workers that serves first come first served, each request in the
// service time of the phase it starts in, a request whose caller left
// included; the longest wait for a worker is kept per phase.
func TestSaturatedUpstream(t *testing.T) {
	t.Parallel()
	set := scale(config{duration: 10 * time.Second, rate: 40, scenario: "saturate"})
	if set.workers != 4 || set.phases[1].kind != kindSaturated || set.phases[1].start != 2*time.Second || set.phases[1].end != 7*time.Second {
		t.Fatalf("settings: %d workers, phases %+v", set.workers, set.phases)
	}
	r := httptest.NewRequest(http.MethodGet, "/quote?symbol=TMP", nil)
	delays := func(w *world, at time.Duration, n int) []time.Duration {
		var out []time.Duration
		for i := range n {
			resp := w.pooled(w.start.Add(at), i+1, r)
			if resp.Status != http.StatusOK {
				t.Fatalf("status %d", resp.Status)
			}
			out = append(out, resp.Delay)
		}
		return out
	}
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		at   time.Duration
		want []time.Duration
		wait time.Duration // the longest wait for a worker
	}{
		{"healthy", 500 * ms, []time.Duration{20 * ms, 20 * ms, 20 * ms, 20 * ms, 40 * ms, 40 * ms}, 20 * ms},
		{"saturated", 3 * time.Second, []time.Duration{200 * ms, 200 * ms, 200 * ms, 200 * ms, 400 * ms, 400 * ms, 400 * ms, 400 * ms, 600 * ms}, 400 * ms},
		// Queued past the phase's end: served at the healthy speed.
		{"across the end", 6900 * ms, []time.Duration{200 * ms, 200 * ms, 200 * ms, 200 * ms, 220 * ms, 220 * ms}, 200 * ms},
	} {
		w := newWorld(set, modeTempest)
		if got := delays(w, tc.at, len(tc.want)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: delays %v, want %v", tc.name, got, tc.want)
		}
		ph := set.phaseAt(tc.at)
		if w.peakUpWait[ph] != tc.wait {
			t.Errorf("%s: longest wait %v, want %v", tc.name, w.peakUpWait[ph], tc.wait)
		}
	}
}

// TestGoodputBack: goodput is back at the first 50ms step after the
// saturated phase from which, of the calls that start within a second, at
// least 90% of the rate succeed; never, when no such second fits.
func TestGoodputBack(t *testing.T) {
	t.Parallel()
	set := scale(config{duration: 10 * time.Second, rate: 40, scenario: "saturate"})
	end := set.phases[1].end
	calls := func(okFrom time.Duration) []callRecord {
		var out []callRecord
		for at := time.Duration(0); at < set.duration; at += 25 * time.Millisecond {
			c := callRecord{start: at, end: at + 20*time.Millisecond, outcome: outcomeOK}
			if at >= end-time.Second && at < okFrom {
				c.outcome, c.end = outcomeShed, at+50*time.Millisecond
			}
			out = append(out, c)
		}
		return out
	}
	for _, tc := range []struct {
		okFrom, want time.Duration
	}{
		{end, 0},
		{end + 300*time.Millisecond, 200 * time.Millisecond}, // 36 of the 40 calls in [200ms, 1.2s) succeed
		{end + 2*time.Second, 2*time.Second - 100*time.Millisecond},
		{set.duration, -1},
	} {
		w := newWorld(set, modeTempest)
		w.calls = calls(tc.okFrom)
		if got := w.goodputBack(); got != tc.want {
			t.Errorf("calls ok from %v: goodput back after %v, want %v", tc.okFrom, got, tc.want)
		}
	}
}

// TestReportSaturateProblems: with the limiter, a saturated phase without
// a call shed, and goodput that never came back, are problems; without
// the limiter (the other columns of -compare) they are not judged.
func TestReportSaturateProblems(t *testing.T) {
	t.Parallel()
	set := scale(config{duration: 10 * time.Second, rate: 40, scenario: "saturate"})
	for _, m := range []mode{modeTempest, modeTempestNoLimit} {
		w := newWorld(set, m)
		if m == modeTempest {
			w.limits = func() []limitState { return nil }
		}
		w.calls = append(w.calls, callRecord{id: "demo-000001", start: 3 * time.Second, end: 5 * time.Second, outcome: outcomeTimeout})
		got := strings.Join(w.report(true).problems, "\n")
		for _, want := range []string{"no call was shed by the concurrency limit during the saturated phase", "never came back"} {
			if has := strings.Contains(got, want); has != (m == modeTempest) {
				t.Errorf("%s: problems include %q: %t; got:\n%s", m, want, has, got)
			}
		}
	}
}

// TestLiveViewSaturate: the live block of the saturate scenario has a
// fifth line with the service's load and the concurrency limit.
func TestLiveViewSaturate(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	err := run(ctx, []string{"-duration=10s", "-scenario=saturate"}, terminal{&buf})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run = %v, want an error wrapping the context's", err)
	}
	out := buf.String()
	for _, want := range []string{"\x1b[5A", "phase 1/3", "  service: in flight ", ", shed 0, limit 8 (in flight "} {
		if !strings.Contains(out, want) {
			t.Errorf("live output lacks %q:\n%s", want, out)
		}
	}
}
