package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// needRedisServer skips the test when redis-server is not installed, or
// fails it under CI=true.
func needRedisServer(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("redis-server is not installed, and CI=true: %v", err)
		}
		t.Skip("redis-server is not installed (apt-get install redis-server)")
	}
}

var fleetSummaryRE = regexp.MustCompile(`^fleet: replicas=3 trips_shared=(\d+)/2 probes_max_per_halfopen=(\d+) halfopen_periods=(\d+)` +
	` rate_limit=50/s measured=([\d.]+)/s ok=(true|false)$`)

// TestFleet runs -fleet for 6s with its own redis-server: three replicas
// over real loopback and real Redis. When one replica's circuit opens,
// the other two are opened by the fleet's trip (R72); each half-open
// period lets one probe through for the whole fleet (R72); and in the
// healthy phase the fleet sends the upstream its limit, 50/s, where the
// replicas offer 120/s (R71). Everything stops: goleak checks the
// goroutines, and the server's process is waited for.
func TestFleet(t *testing.T) {
	// Not parallel: the trip's spread and the measured rate are real time
	// on loopback, and the other demo tests would crowd this one's CPU.
	needRedisServer(t)
	out, err := runDemo(t, "-fleet", "-duration=6s", "-quiet")
	if err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out)
	}
	t.Logf("output:\n%s", out)
	if strings.Count(out, "\n") != 1 {
		t.Errorf("-quiet printed %q, want only the summary line", out)
	}
	m := fleetSummaryRE.FindStringSubmatch(lastLine(out))
	if m == nil {
		t.Fatalf("last line %q does not match %v", lastLine(out), fleetSummaryRE)
	}
	// Under a loaded machine a replica's own failures may open it while
	// the trip is on its way (within 50ms): ok=true below covers that; a
	// quiet run has both other replicas opened by the trip.
	if m[1] == "0" && m[5] != "true" {
		t.Errorf("trips_shared=%s/2, want the other replicas opened by the fleet's trip", m[1])
	}
	if m[2] != "1" {
		t.Errorf("probes_max_per_halfopen=%s, want 1", m[2])
	}
	if n, _ := strconv.Atoi(m[3]); n < 1 {
		t.Errorf("halfopen_periods=%d, want at least 1", n)
	}
	// The limit held: never over it by more than 5% (a loaded machine may
	// send less than the limit, never more).
	if rate, _ := strconv.ParseFloat(m[4], 64); rate < 25 || rate > 50*1.05 {
		t.Errorf("measured=%.1f/s, want at most the limit 50/s (+5%%), and at least half of it", rate)
	}
	if m[5] != "true" {
		t.Errorf("ok=%s, want true", m[5])
	}
}

// TestFleetNoRedis: with no redis-server on $PATH and no -redis, -fleet
// says what it needs and fails; with a -redis that does not answer, it
// says so.
func TestFleetNoRedis(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var buf bytes.Buffer
	err := run(context.Background(), []string{"-fleet", "-quiet"}, &buf)
	if err == nil || err.Error() != errNoRedis.Error() {
		t.Errorf("run(-fleet) without redis-server = %v, want %q", err, errNoRedis)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a port that refuses connections
	start := time.Now()
	err = run(context.Background(), []string{"-fleet", "-quiet", "-redis", "redis://" + addr}, &buf)
	if err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("run(-fleet -redis %s) = %v, want an error saying Redis does not answer", addr, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("run took %v to find Redis missing", d)
	}
	if buf.Len() != 0 {
		t.Errorf("printed %q before failing", buf.String())
	}
}

// TestFleetReportFlagsMisbehaviour feeds the accounting a made-up fleet
// that misbehaves: a replica opened by its own failures after another
// opened (the trip was not shared), two replicas probing in one half-open
// period, a rate over the limit, and a replica still open at the end.
// Each must be a problem, and the summary says ok=false.
func TestFleetReportFlagsMisbehaviour(t *testing.T) {
	t.Parallel()
	set := scaleFleet(config{duration: 6 * time.Second, rate: 40})
	f := &fleet{set: set, start: time.Now()}
	for i := range fleetReplicas {
		f.replicas = append(f.replicas, &replica{name: "r" + strconv.Itoa(i+1)})
	}
	at := func(d time.Duration) time.Duration { return set.outageStart + d }
	change := func(r int, d time.Duration, to breaker.State, c breaker.Cause) {
		f.replicas[r].changes = append(f.replicas[r].changes, fleetChange{at: at(d), ch: breaker.Change{To: to, Cause: c}})
	}
	change(0, 100*time.Millisecond, breaker.Open, breaker.CauseFailures)
	change(1, 101*time.Millisecond, breaker.Open, breaker.CauseTrip)
	change(2, 200*time.Millisecond, breaker.Open, breaker.CauseFailures) // not shared, and past the 50ms a trip may take
	change(0, 700*time.Millisecond, breaker.Closed, breaker.CauseProbeSuccess)
	change(1, 701*time.Millisecond, breaker.Closed, breaker.CauseReset)
	// r3 stays open.

	// Over the limit in the measured window: 60/s.
	window := set.outageStart - set.measureFrom
	n := int(60 * window.Seconds())
	for k := range n {
		f.hits = append(f.hits, fleetHit{at: set.measureFrom + window*time.Duration(k)/time.Duration(n), replica: k % 3, attempt: "h" + strconv.Itoa(k)})
	}
	// Two probes in one half-open period, and one attempt sent twice by
	// net/http (one probe, not two).
	f.hits = append(f.hits,
		fleetHit{at: at(600 * time.Millisecond), replica: 0, attempt: "p1", probe: true, failed: true},
		fleetHit{at: at(601 * time.Millisecond), replica: 0, attempt: "p1", probe: true, failed: true},
		fleetHit{at: at(602 * time.Millisecond), replica: 1, attempt: "p2", probe: true, failed: true},
		fleetHit{at: at(690 * time.Millisecond), replica: 0, attempt: "p3", probe: true})

	rep := f.report(true)
	if rep.tripsShared != 1 || rep.maxProbes != 3 {
		t.Errorf("trips shared %d, most probes in a period %d; want 1 and 3", rep.tripsShared, rep.maxProbes)
	}
	got := strings.Join(rep.problems, "\n")
	for _, want := range []string{
		"r3 opened by failures 100ms after r1 opened, not by the fleet's trip",
		"let 3 attempts through to the upstream, not one probe",
		"the fleet sent the upstream 60.0 requests/s, over its limit of 50/s",
		"not closed at the end: r3",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q; got:\n%s", want, got)
		}
	}
	if s := rep.summary(); !strings.HasSuffix(s, " ok=false") || !strings.Contains(s, " trips_shared=1/2 ") {
		t.Errorf("summary %q, want trips_shared=1/2 and ok=false", s)
	}
	var buf bytes.Buffer
	f.printReport(&buf, rep)
	for _, want := range []string{"FAIL 1 of 2 other replicas", "(4 hits: resent by net/http*)", "problem: ", "r2 reset by the fleet"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, buf.String())
		}
	}
}

// TestFleetInterrupted: a cancelled context stops -fleet early; the
// replicas, their Redis clients and the redis-server are all stopped
// (goleak), the summary line is printed and the error says why.
func TestFleetInterrupted(t *testing.T) {
	t.Parallel()
	needRedisServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	var buf bytes.Buffer
	start := time.Now()
	err := run(ctx, []string{"-fleet", "-quiet"}, &buf)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("run = %v, want an error wrapping the context's", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("run took %v after its context ended", d)
	}
	if out := buf.String(); strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "fleet: replicas=3 ") {
		t.Errorf("-quiet printed %q, want only the summary line", out)
	}
}
