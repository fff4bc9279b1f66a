package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tempestsdk/tempest/httpclient"
)

// The outage run: a fixed offered load against an upstream that fails every
// request for a while, then recovers. It is a test, not a benchmark, and it
// asserts no timing: it measures what each client does to the upstream and
// to its callers, logs the table, and writes it to $BENCH_OUTAGE_OUT when
// that is set (make bench puts it in docs/benchmarks.md).

// outagePolicy is DefaultPolicy scaled down so that the run takes seconds:
// millisecond waits and a short recovery.
var outagePolicy = Policy{
	Attempts:         3,
	BackoffInitial:   10 * time.Millisecond,
	BackoffMax:       80 * time.Millisecond,
	FailureThreshold: 5,
	Recovery:         200 * time.Millisecond,
	Timeout:          2 * time.Second,
}

const (
	outageRate     = 200                     // calls per second, per client
	outageDuration = 3 * time.Second         // of offered load
	outageFailing  = 2 * time.Second         // the upstream answers 503 from the start for this long
	outageDeadline = 2500 * time.Millisecond // each caller's own deadline
)

// outageResult is one client's run.
type outageResult struct {
	peer          Peer
	calls         int   // calls made
	hits          int64 // requests the upstream received
	failingCalls  int   // calls started while the upstream failed
	failingHits   int64 // requests it received while failing
	failed        int   // calls that ended in an error or a 5xx
	failedErr     int   // of which with an error (open circuit, deadline, ...)
	failedAfter   int   // calls started after the recovery that failed
	p50, p99, max time.Duration
}

func (r outageResult) perCall() float64 { return float64(r.hits) / float64(r.calls) }
func (r outageResult) perFailingCall() float64 {
	return float64(r.failingHits) / float64(r.failingCalls)
}

// TestOutage runs every client at once, each against its own loopback
// upstream, so that they share the machine alike; it takes about
// outageDuration.
func TestOutage(t *testing.T) {
	results := make([]outageResult, len(Peers))
	start := time.Now().Add(100 * time.Millisecond)
	var wg sync.WaitGroup
	for i, p := range Peers {
		wg.Go(func() { results[i] = runOutage(t, p, start) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	table := outageTable(results)
	t.Log("\n" + table)
	var findings []string
	tempest := results[slices.IndexFunc(results, func(r outageResult) bool { return r.peer.Name == "tempest" })]
	for _, r := range results {
		if r.peer.Name != "tempest" && r.perFailingCall() < tempest.perFailingCall() {
			findings = append(findings, fmt.Sprintf(
				"TARGET MISSED: %s sent the failing upstream %.3f attempts per call (%d for %d calls), fewer than Tempest's %.3f (%d for %d calls)",
				r.peer.Name, r.perFailingCall(), r.failingHits, r.failingCalls,
				tempest.perFailingCall(), tempest.failingHits, tempest.failingCalls))
		}
	}
	if len(findings) == 0 {
		findings = append(findings, fmt.Sprintf(
			"Target met: no client sent the failing upstream fewer attempts per call than Tempest (%.3f: %d for %d calls).",
			tempest.perFailingCall(), tempest.failingHits, tempest.failingCalls))
	}
	for _, f := range findings {
		t.Log(f)
	}
	if path := os.Getenv("BENCH_OUTAGE_OUT"); path != "" {
		out := table + "\n" + strings.Join(findings, "\n\n") + "\n"
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runOutage offers outageRate calls per second for outageDuration from start,
// a goroutine per call, to p's client over a fresh transport and upstream.
func runOutage(t *testing.T, p Peer, start time.Time) outageResult {
	var hits, failingHits atomic.Int64
	recovered := start.Add(outageFailing)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if time.Now().Before(recovered) {
			failingHits.Add(1)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"error":"down"}`))
			return
		}
		w.Write(smallBody)
	}))
	defer srv.Close()
	rt := httpclient.NewTransport()
	defer rt.CloseIdleConnections()
	c, err := p.New(srv.URL, rt, outagePolicy)
	if err != nil {
		t.Error(err) // not Fatal: this runs on a goroutine of its own
		return outageResult{peer: p}
	}
	defer c.Close()
	url := callURL(p, srv.URL, "/work")

	type call struct {
		at      time.Time
		latency time.Duration
		status  int
		err     error
	}
	n := int(outageDuration.Seconds() * outageRate)
	interval := time.Second / outageRate
	calls := make([]call, n)
	var wg sync.WaitGroup
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), outageDeadline)
			defer cancel()
			t0 := time.Now()
			st, err := c.Get(ctx, url)
			calls[i] = call{at: t0, latency: time.Since(t0), status: st, err: err}
		})
	}
	wg.Wait()

	r := outageResult{peer: p, calls: n, hits: hits.Load(), failingHits: failingHits.Load()}
	lat := make([]time.Duration, 0, n)
	for _, c := range calls {
		lat = append(lat, c.latency)
		failing := c.at.Before(recovered)
		if failing {
			r.failingCalls++
		}
		if c.err != nil || c.status >= 500 {
			r.failed++
			if c.err != nil {
				r.failedErr++
			}
			if !failing {
				r.failedAfter++
			}
		}
	}
	slices.Sort(lat)
	r.p50 = lat[len(lat)/2]
	r.p99 = lat[len(lat)*99/100]
	r.max = lat[len(lat)-1]
	return r
}

// outageTable renders the results as a Markdown table.
func outageTable(rs []outageResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Offered load: %d calls/s per client for %v, a goroutine per call, all clients at once, each against its own loopback upstream that answers 503 for the first %v, then 200. Policy: %d attempts, %v initial wait, %v cap, breaker at %d failures and %v recovery, %v timeout; each caller's deadline %v.\n\n",
		outageRate, outageDuration, outageFailing, outagePolicy.Attempts, outagePolicy.BackoffInitial, outagePolicy.BackoffMax,
		outagePolicy.FailureThreshold, outagePolicy.Recovery, outagePolicy.Timeout, outageDeadline)
	b.WriteString("| client | breaker | calls | upstream attempts | attempts/call (while failing) | attempts/call (all) | failed calls (of which errors) | failed after recovery | p50 | p99 | max |\n")
	b.WriteString("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rs {
		breaker := "no"
		if r.peer.Breaker {
			breaker = "yes"
		}
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %.3f | %.3f | %d (%d) | %d | %s | %s | %s |\n",
			r.peer.Name, breaker, r.calls, r.hits, r.perFailingCall(), r.perCall(),
			r.failed, r.failedErr, r.failedAfter, round(r.p50), round(r.p99), round(r.max))
	}
	return b.String()
}

// round shows a latency to three significant figures or so.
func round(d time.Duration) string {
	switch {
	case d >= 100*time.Millisecond:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	default:
		return d.Round(time.Microsecond).String()
	}
}
