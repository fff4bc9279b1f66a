// Command benchload is the bench module's real-service run: each client
// under test (bench.Peers, raw net/http first) in turn sends an open-loop
// load of GETs to an upstream running in a separate process on loopback, and
// the tool reports per client the calls completed, the errors, the achieved
// throughput, the latency percentiles measured from each call's scheduled
// time, the upstream requests per call and the CPU time per call.
//
// Usage (from bench/, as `make bench-load` runs it):
//
//	go run ./cmd/benchload [-rate 2000] [-duration 10s] [-commit $(git rev-parse --short HEAD)] \
//		[-md ../docs/benchmarks-load.md] [-json load.json]
//
// The upstream is this program re-executed with -upstream: it listens on
// -addr, prints the address it got on stdout, and serves until its stdin is
// closed. It answers JSON bodies of 1 KiB and 64 KiB with keep-alive, 503 to
// a share -p503 of the requests, resets the connection of a share -preset,
// and counts the requests it receives (GET /_stats, POST /_reset).
//
// The load is open-loop: call i is due at start + i/rate and is started on
// a goroutine of its own at that time, or as soon as possible after it; its
// latency runs from the scheduled time, so a client (or a generator) that
// falls behind shows its queueing in the latencies rather than hiding it by
// sending less (coordinated omission).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/bench"
	"github.com/tempestsdk/tempest/httpclient"
)

// config is a load run's settings.
type config struct {
	rate       float64
	duration   time.Duration
	warmup     time.Duration
	drain      time.Duration
	largeEvery int
	policy     bench.Policy
	verbose    bool
}

func main() {
	upstreamMode := flag.Bool("upstream", false, "run as the upstream process (the tool starts it itself)")
	addr := flag.String("addr", "127.0.0.1:0", "the upstream's listen address")
	p503 := flag.Float64("p503", 0.01, "share of requests the upstream answers 503 (exact in every 1000, so rounded to 0.1%)")
	pReset := flag.Float64("preset", 0.005, "share of requests whose connection the upstream resets (exact in every 1000, so rounded to 0.1%)")
	resetMode := flag.String("reset-mode", resetMidBody, "where the upstream resets: "+resetMidBody+" or "+resetBeforeResponse)

	rate := flag.Float64("rate", 2000, "offered load, calls per second per client")
	duration := flag.Duration("duration", 10*time.Second, "measured load per client")
	warmup := flag.Duration("warmup", time.Second, "load per client before the measured run, at the same rate, not counted")
	drain := flag.Duration("drain", 10*time.Second, "how long to wait for outstanding calls after the last one is started")
	largeEvery := flag.Int("large-every", 5, "every n-th call asks for the 64 KiB body, the others for the 1 KiB one (2: alternate; 0: never)")
	clients := flag.String("clients", "", "comma-separated clients to run, in bench.Peers order (default: all)")
	backoff := flag.Duration("backoff", 10*time.Millisecond, "the policy's initial backoff (bench.DefaultPolicy has 500ms)")
	backoffMax := flag.Duration("backoff-max", 80*time.Millisecond, "the policy's backoff cap (bench.DefaultPolicy has 8s)")
	commit := flag.String("commit", "", "the git commit measured, for the report (e.g. $(git rev-parse --short HEAD))")
	mdPath := flag.String("md", "", "write the Markdown report to this file (default: stdout)")
	jsonPath := flag.String("json", "", "also write the results as JSON to this file")
	verbose := flag.Bool("v", false, "log progress and sample errors to stderr")
	flag.Parse()

	f := faults{p503: *p503, pReset: *pReset, resetMode: *resetMode}
	if err := f.validate(); err != nil {
		fatal(err)
	}
	if *upstreamMode {
		if err := serveUpstream(*addr, f); err != nil {
			fatal(err)
		}
		return
	}
	if *rate <= 0 || *duration <= 0 || *warmup < 0 || *drain <= 0 || *largeEvery < 0 {
		fatal(fmt.Errorf("-rate, -duration and -drain must be positive, -warmup and -large-every not negative"))
	}
	peers, err := selectPeers(*clients)
	if err != nil {
		fatal(err)
	}
	pol := bench.DefaultPolicy
	pol.BackoffInitial, pol.BackoffMax = *backoff, *backoffMax
	cfg := config{rate: *rate, duration: *duration, warmup: *warmup, drain: *drain, largeEvery: *largeEvery, policy: pol, verbose: *verbose}

	r := &report{
		Commit: *commit, Rate: cfg.rate, Duration: cfg.duration.String(), Warmup: cfg.warmup.String(), Drain: cfg.drain.String(),
		LargeEvery: cfg.largeEvery, P503: f.p503, PReset: f.pReset, ResetMode: f.resetMode, Policy: policyText(pol),
	}
	thisMachine(r, time.Now())
	up, err := startUpstream(*addr, f)
	if err != nil {
		fatal(err)
	}
	for _, p := range peers {
		s, err := runClient(p, up, cfg)
		if err != nil {
			up.stop()
			fatal(fmt.Errorf("%s: %w", p.Name, err))
		}
		r.Results = append(r.Results, s)
		if cfg.verbose {
			fmt.Fprintf(os.Stderr, "benchload: %s: %d/%d completed, %d errors (%d 5xx, %d reset, %d other), p50 %s p90 %s p99 %s p99.9 %s, %.3f upstream requests per call, %s CPU per call\n",
				s.Client, s.Completed, s.Scheduled, s.Errors, s.Errors5xx, s.ErrorsReset, s.ErrorsOther,
				latency(s.P50), latency(s.P90), latency(s.P99), latency(s.P999), s.PerCall, cpuPerCall(s.CPUPerCall))
			for _, e := range s.FirstErrors {
				fmt.Fprintf(os.Stderr, "benchload: %s: error: %s\n", s.Client, e)
			}
		}
	}
	if err := up.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "benchload: upstream process:", err)
	}

	var out io.Writer = os.Stdout
	if *mdPath != "" {
		fh, err := os.Create(*mdPath)
		if err != nil {
			fatal(err)
		}
		defer fh.Close()
		out = fh
	}
	if err := writeMarkdown(out, r); err != nil {
		fatal(err)
	}
	if *jsonPath != "" {
		fh, err := os.Create(*jsonPath)
		if err != nil {
			fatal(err)
		}
		if err := writeJSON(fh, r); err != nil {
			fatal(err)
		}
		if err := fh.Close(); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchload:", err)
	os.Exit(1)
}

func (f faults) validate() error {
	if f.p503 < 0 || f.pReset < 0 || f.p503+f.pReset > 1 {
		return fmt.Errorf("-p503 and -preset must be shares in [0, 1] adding up to at most 1")
	}
	if f.resetMode != resetMidBody && f.resetMode != resetBeforeResponse {
		return fmt.Errorf("-reset-mode %q: want %s or %s", f.resetMode, resetMidBody, resetBeforeResponse)
	}
	return nil
}

// selectPeers returns the peers named in list (comma-separated), in
// bench.Peers order; all of them for an empty list.
func selectPeers(list string) ([]bench.Peer, error) {
	if strings.TrimSpace(list) == "" {
		return bench.Peers, nil
	}
	want := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if _, ok := bench.PeerByName(name); !ok {
			return nil, fmt.Errorf("-clients: no client %q", name)
		}
		want[name] = true
	}
	var ps []bench.Peer
	for _, p := range bench.Peers {
		if want[p.Name] {
			ps = append(ps, p)
		}
	}
	return ps, nil
}

func policyText(p bench.Policy) string {
	name := "bench.DefaultPolicy"
	if p != bench.DefaultPolicy {
		name += " with a shorter backoff"
	}
	return fmt.Sprintf("%s: %d attempts, %v initial wait doubling up to %v, "+
		"a breaker at %d failures and %v (where the library has one), %v timeout",
		name, p.Attempts, p.BackoffInitial, p.BackoffMax, p.FailureThreshold, p.Recovery, p.Timeout)
}

// callURL is the URL p's users pass: the relative path when the library
// joins a base URL itself, the absolute URL otherwise (as the bench
// module's tests do).
func callURL(p bench.Peer, base, path string) string {
	if p.BaseURL {
		return path
	}
	return base + path
}

// pathFor is the path of call i: every largeEvery-th call the large body.
func pathFor(i, largeEvery int) string {
	if largeEvery > 0 && i%largeEvery == largeEvery-1 {
		return pathLarge
	}
	return pathSmall
}

// runClient runs p's client over a fresh transport: the warm-up, then the
// measured run between two readings of the process's CPU time and of the
// upstream's request count.
func runClient(p bench.Peer, up *upstreamProcess, cfg config) (summary, error) {
	rt := httpclient.NewTransport()
	defer rt.CloseIdleConnections()
	c, err := p.New(up.base, rt, cfg.policy)
	if err != nil {
		return summary{}, err
	}
	defer c.Close()
	urls := [2]string{callURL(p, up.base, pathSmall), callURL(p, up.base, pathLarge)}
	call := func(ctx context.Context, i int) (int, error) {
		u := urls[0]
		if pathFor(i, cfg.largeEvery) == pathLarge {
			u = urls[1]
		}
		return c.Get(ctx, u)
	}
	ctx := context.Background()
	if cfg.verbose {
		fmt.Fprintf(os.Stderr, "benchload: %s: warm-up %v, then %v at %g calls/s\n", p.Name, cfg.warmup, cfg.duration, cfg.rate)
	}
	if cfg.warmup > 0 {
		runOpenLoop(ctx, schedule{rate: cfg.rate, duration: cfg.warmup}, cfg.drain, call, nil)
	}
	runtime.GC()
	if err := up.resetStats(); err != nil {
		return summary{}, err
	}
	cpu0 := cpuTime()
	r := runOpenLoop(ctx, schedule{rate: cfg.rate, duration: cfg.duration}, cfg.drain, call, nil)
	cpu1 := cpuTime()
	st, err := up.stats()
	if err != nil {
		return summary{}, err
	}
	cpu := cpu1 - cpu0
	if cpu0 < 0 || cpu1 < 0 {
		cpu = -1
	}
	s := summarize(p.Name, r, st.Requests, cpu)
	s.Upstream503, s.UpstreamResets = st.Status, st.Resets
	return s, nil
}
