package main

// -fleet: three replicas of one service, each with its own
// httpclient.Client, go-redis client, redisstore.Store and Breakers, and a
// RateGate shared through Redis, calling one scripted upstream through an
// outage. It shows the three things a fleet gets from redisstore: the
// circuit opens on every replica at once (R72), one probe for the whole
// fleet per half-open period (R72), and one rate limit for the fleet
// (R71).

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
	"github.com/tempestsdk/tempest/httpclienttest"
	"github.com/tempestsdk/tempest/internal/redisproc"
	"github.com/tempestsdk/tempest/ratelimit"
	"github.com/tempestsdk/tempest/redisstore"
)

// fleetTripWindow is how long a trip may take to reach the fleet (the
// issue's p99 target): a replica whose own failures open its circuit
// within it of the first opener's was not yet told.
const fleetTripWindow = 50 * time.Millisecond

const (
	fleetReplicas        = 3
	defaultFleetDuration = 12 * time.Second
	// Headers the replicas' AttemptStart hook sets on each attempt, for
	// the upstream to count its hits by replica and tell the probes.
	replicaHeader = "X-Fleet-Replica"
	probeHeader   = "X-Fleet-Probe"
	attemptHeader = "X-Fleet-Attempt" // unique per attempt: net/http may send one attempt twice
)

// errNoRedis is -fleet's error when there is no Redis to use.
var errNoRedis = errors.New("-fleet needs a Redis server: install redis-server (apt-get install redis-server) or pass -redis redis://host:port")

// fleetSettings are the values a -fleet run uses, derived from the flags.
type fleetSettings struct {
	duration time.Duration
	rate     int             // calls per second offered to each replica
	limit    ratelimit.Limit // the fleet's one rate limit
	// The phases: healthy [0, outageStart), outage [outageStart,
	// outageEnd), recovered [outageEnd, duration).
	outageStart, outageEnd time.Duration
	// measureFrom is where the healthy phase's rate is measured from (to
	// outageStart): past the burst the gate starts with.
	measureFrom    time.Duration
	attemptTimeout time.Duration
	threshold      int
	recovery       time.Duration // the breaker's open period
	storeTimeout   time.Duration // each Redis call's bound
}

// scaleFleet derives the settings: a healthy 40% of the run in which the
// rate is measured (from its first quarter on), an outage of 35%, a
// recovery of 25%. The breaker's open period is a twelfth of the run (1s
// for the default 12s), at least 400ms (above the 300ms attempt timeout,
// which bounds a probe and its token in Redis), so that the outage sees
// several half-open periods. The limit is 1.25 times one replica's load:
// one replica alone stays under it, three do not.
func scaleFleet(cfg config) fleetSettings {
	d := cfg.duration
	round := func(x time.Duration) time.Duration { return x.Round(10 * time.Millisecond) }
	return fleetSettings{
		duration:       d,
		rate:           cfg.rate,
		limit:          ratelimit.Limit{Rate: max(1, cfg.rate*5/4), Burst: 5},
		outageStart:    round(d * 40 / 100),
		outageEnd:      round(d * 75 / 100),
		measureFrom:    round(d * 10 / 100),
		attemptTimeout: 300 * time.Millisecond,
		threshold:      5,
		recovery:       round(min(3*time.Second, max(400*time.Millisecond, d/12))),
		storeTimeout:   250 * time.Millisecond,
	}
}

// parseRedisURL checks -redis's value as go-redis reads it.
func parseRedisURL(u string) (*redis.Options, error) {
	opt, err := redis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("-redis %q: want redis://host:port (%v)", u, err)
	}
	opt.ContextTimeoutEnabled = true // so that the Store's timeout bounds a Redis that hangs
	return opt, nil
}

// fleetHit is one hit of the upstream, as its script saw it.
type fleetHit struct {
	at      time.Duration // since the start
	replica int           // from 0; -1 when the header is missing
	attempt string        // the attempt's unique id
	probe   bool
	failed  bool
}

// fleetChange is one state change of a replica's breaker.
type fleetChange struct {
	at time.Duration
	ch breaker.Change
}

// replicaCounts are a replica's calls by outcome.
type replicaCounts struct {
	calls, ok, failed, fastFails, limited int
}

// replica is one process of the fleet.
type replica struct {
	name string
	rdb  *redis.Client
	br   *redisstore.Breakers
	hc   *httpclient.Client

	mu      sync.Mutex
	changes []fleetChange
	counts  replicaCounts
	lost    []time.Duration // when it lost Redis (gate or breakers)
}

// fleet is one -fleet run: what it starts and what it records.
type fleet struct {
	set   fleetSettings
	start time.Time
	ended time.Duration // when the load stopped; 0 for the whole run

	mu   sync.Mutex
	hits []fleetHit

	replicas []*replica
	attempts atomic.Int64
}

func (f *fleet) since(t time.Time) time.Duration { return t.Sub(f.start) }

// script is the upstream: 200 while healthy; in the outage 503s, and
// every third hit a connection reset. It records each hit.
func (f *fleet) script(hit int, r *http.Request) httpclienttest.Response {
	at := f.since(time.Now())
	h := fleetHit{at: at, replica: -1, attempt: r.Header.Get(attemptHeader), probe: r.Header.Get(probeHeader) == "1"}
	if n, err := strconv.Atoi(r.Header.Get(replicaHeader)); err == nil && n >= 1 && n <= len(f.replicas) {
		h.replica = n - 1
	}
	resp := httpclienttest.OK("ok\n")
	if at >= f.set.outageStart && at < f.set.outageEnd {
		h.failed = true
		resp = httpclienttest.Response{Status: http.StatusServiceUnavailable, Body: []byte("overloaded\n")}
		if hit%3 == 0 {
			resp = httpclienttest.Response{Fault: httpclienttest.ResetBeforeResponse}
		}
	}
	f.mu.Lock()
	f.hits = append(f.hits, h)
	f.mu.Unlock()
	return resp
}

// hooks are replica i's: its attempts carry its name and whether they are
// the probe, and its breaker's changes are recorded.
func (f *fleet) hooks(r *replica, i int) httpclient.Hooks {
	return httpclient.Hooks{
		AttemptStart: func(ctx context.Context, req *http.Request, a httpclient.Attempt) context.Context {
			if req != nil {
				req.Header.Set(replicaHeader, strconv.Itoa(i+1))
				req.Header.Set(attemptHeader, strconv.FormatInt(f.attempts.Add(1), 10))
				if a.Probe {
					req.Header.Set(probeHeader, "1")
				}
			}
			return ctx
		},
		StateChange: func(_ string, ch breaker.Change) {
			r.mu.Lock()
			r.changes = append(r.changes, fleetChange{at: f.since(ch.At), ch: ch})
			r.mu.Unlock()
		},
	}
}

func (r *replica) noteLost(f *fleet) func(up bool) {
	return func(up bool) {
		if !up {
			r.mu.Lock()
			r.lost = append(r.lost, f.since(time.Now()))
			r.mu.Unlock()
		}
	}
}

// runFleet is -fleet: it starts Redis (unless -redis names one), the
// upstream and the replicas, runs the load, and reports.
func runFleet(ctx context.Context, cfg config, stdout io.Writer) (err error) {
	set := scaleFleet(cfg)
	var opt *redis.Options
	redisDesc := ""
	if cfg.redisURL != "" {
		if opt, err = parseRedisURL(cfg.redisURL); err != nil {
			return err
		}
		redisDesc = cfg.redisURL
	} else {
		srv, err := startRedis()
		if err != nil {
			return err
		}
		defer func() {
			if serr := srv.stop(); serr != nil {
				err = errors.Join(err, serr)
			}
		}()
		opt = &redis.Options{Addr: srv.p.Addr(), ContextTimeoutEnabled: true}
		redisDesc = fmt.Sprintf("a private redis-server on %s (pid %d), stopped at the end", srv.p.Addr(), srv.p.Pid())
	}
	if cfg.redisURL != "" {
		// A plain dial first: go-redis would retry, and log each failure.
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		conn, err := d.DialContext(dctx, opt.Network, opt.Addr)
		cancel()
		if err != nil {
			return fmt.Errorf("redis at %s does not answer: %w", opt.Addr, err)
		}
		conn.Close()
	}
	ns := "tempest-demo-" + rand.Text()[:10] // a namespace of this run's, on a shared Redis too

	f := &fleet{set: set}
	upstream := httpclienttest.NewServer(httpclienttest.ScriptFunc(f.script))
	defer upstream.Close() // safe twice

	// Everything a replica holds is closed in the documented order: the
	// client, then its Breakers, then its go-redis client.
	defer func() {
		for _, r := range f.replicas {
			if r.hc != nil {
				r.hc.Close()
			}
			if r.br != nil {
				r.br.Close()
			}
			r.rdb.Close()
		}
	}()
	for i := range fleetReplicas {
		o := *opt
		r := &replica{name: "r" + strconv.Itoa(i+1), rdb: redis.NewClient(&o)}
		f.replicas = append(f.replicas, r)
		if i == 0 {
			pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			perr := r.rdb.Ping(pctx).Err()
			cancel()
			if perr != nil {
				return fmt.Errorf("redis at %s does not answer: %w", opt.Addr, perr)
			}
		}
		store, err := redisstore.New(r.rdb, redisstore.WithNamespace(ns), redisstore.WithTimeout(set.storeTimeout), redisstore.WithLogger(nil))
		if err != nil {
			return err
		}
		gate, err := store.RateGate("upstream", set.limit, redisstore.WithOnTransition(r.noteLost(f)))
		if err != nil {
			return err
		}
		if r.br, err = store.Breakers(redisstore.WithBreakerOnTransition(r.noteLost(f))); err != nil {
			return err
		}
		r.hc, err = httpclient.New(upstream.URL,
			httpclient.WithTimeout(set.attemptTimeout),
			httpclient.WithRetryPolicy(httpclient.RetryPolicy{MaxAttempts: 1}),
			httpclient.WithCircuitBreaker(set.threshold, set.recovery),
			httpclient.WithSharedBreakers(r.br),
			httpclient.WithRateLimit(httpclient.RateLimit{Gate: gate, FailFast: true}),
			httpclient.WithHooks(f.hooks(r, i)))
		if err != nil {
			return fmt.Errorf("building replica %s's client: %w", r.name, err)
		}
	}

	if !cfg.quiet {
		printFleetSettings(stdout, set, redisDesc, ns, upstream.URL)
	}
	f.start = time.Now()
	var wg sync.WaitGroup
	for i, r := range f.replicas {
		wg.Go(func() { f.load(ctx, r, i) })
	}
	if !cfg.quiet {
		f.progress(ctx, stdout)
	}
	wg.Wait()
	complete := ctx.Err() == nil
	if !complete {
		f.ended = f.since(time.Now())
	}

	for _, r := range f.replicas {
		r.hc.Close()
	}
	upstream.Close()
	rep := f.report(complete)
	if cfg.quiet {
		fmt.Fprintln(stdout, rep.summary())
	} else {
		f.printReport(stdout, rep)
	}
	var errs []error
	if len(rep.problems) > 0 {
		errs = append(errs, errors.New("the fleet misbehaved: "+strings.Join(rep.problems, "; ")))
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("interrupted at t=%s, before the scenario ended: %w", offset(f.since(time.Now())), err))
	}
	return errors.Join(errs...)
}

// load sends replica r its calls, rate a second, the replicas' schedules
// staggered, until the end of the run; it returns when its last call has.
func (f *fleet) load(ctx context.Context, r *replica, i int) {
	every := time.Second / time.Duration(f.set.rate)
	next := f.start.Add(every * time.Duration(i) / fleetReplicas)
	end := f.start.Add(f.set.duration)
	t := time.NewTimer(time.Until(next))
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for next.Before(end) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wg.Go(func() { f.call(ctx, r) })
		next = next.Add(every)
		t.Reset(time.Until(next))
	}
}

func (f *fleet) call(ctx context.Context, r *replica) {
	resp, err := r.hc.Get(ctx, "/quote")
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts.calls++
	switch {
	case err == nil && resp.StatusCode == http.StatusOK:
		r.counts.ok++
	case errors.Is(err, httpclient.ErrRateLimited):
		r.counts.limited++
	case errors.Is(err, httpclient.ErrCircuitOpen):
		r.counts.fastFails++
	default:
		r.counts.failed++
	}
}

// progress prints a line as each phase begins, until the end of the run.
func (f *fleet) progress(ctx context.Context, out io.Writer) {
	s := f.set
	for _, p := range []struct {
		at   time.Duration
		text string
	}{
		{0, "phase 1/3 healthy begins: the replicas offer 3x" + strconv.Itoa(s.rate) + "/s, the fleet's limit is " + strconv.Itoa(s.limit.Rate) + "/s"},
		{s.outageStart, "phase 2/3 outage begins: 503s and connection resets"},
		{s.outageEnd, "phase 3/3 recovered begins: 200s again"},
		{s.duration, "traffic over; waiting for the last calls"},
	} {
		t := time.NewTimer(time.Until(f.start.Add(p.at)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		fmt.Fprintf(out, "%7s  %s\n", "+"+offset(p.at), p.text)
	}
}

func printFleetSettings(out io.Writer, s fleetSettings, redisDesc, ns, upstreamURL string) {
	fmt.Fprintf(out, "tempest-demo -fleet: %d replicas of one service, in this process, each with its own httpclient.Client,\n", fleetReplicas)
	fmt.Fprintf(out, "go-redis client, redisstore.Store and Breakers (WithSharedBreakers) and a RateGate shared through Redis\n\n")
	fmt.Fprintf(out, "  redis      %s; namespace %s\n", redisDesc, ns)
	fmt.Fprintf(out, "  upstream   %s (httpclienttest)\n", upstreamURL)
	fmt.Fprintf(out, "  load       %d calls/s to each replica, %d/s in all\n", s.rate, fleetReplicas*s.rate)
	fmt.Fprintf(out, "  rate limit %d/s for the whole fleet, burst %d (RateGate, fail fast: a call over it is not sent)\n", s.limit.Rate, s.limit.Burst)
	fmt.Fprintf(out, "  breaker    %d failures in a row open it for %v; attempt timeout %v; 1 attempt per call\n", s.threshold, s.recovery, s.attemptTimeout)
	fmt.Fprintf(out, "  phases     healthy 0-%s, outage %s-%s (503s, every third hit a reset), recovered %s-%s\n\n",
		offset(s.outageStart), offset(s.outageStart), offset(s.outageEnd), offset(s.outageEnd), offset(s.duration))
}

// fleetOpening is a replica's first opening in the outage.
type fleetOpening struct {
	replica int
	at      time.Duration
	cause   breaker.Cause
}

// fleetPeriod is one half-open period of the fleet: the hits that reached
// the upstream in it.
type fleetPeriod struct {
	at   time.Duration
	hits []fleetHit
}

// attempts returns the period's hits one per attempt, in order: a hit
// that repeats an attempt is net/http's Transport sending it again (a GET
// whose reused connection was reset before the response is resent once on
// a new one), not another probe.
func (p fleetPeriod) attempts() []fleetHit {
	var out []fleetHit
	for _, h := range p.hits {
		if h.attempt == "" || !slices.ContainsFunc(out, func(o fleetHit) bool { return o.attempt == h.attempt }) {
			out = append(out, h)
		}
	}
	return out
}

// fleetReport is what the run shows.
type fleetReport struct {
	complete  bool
	limitRate int

	measured       float64 // the upstream's hits a second in the measured window
	measuredHits   int
	window         [2]time.Duration
	openings       []fleetOpening // by time; the first is the fleet's
	tripsShared    int            // the other replicas opened by the fleet's trip
	together       int            // the others that opened on their own failures within fleetTripWindow of the first
	closeAt        time.Duration  // when a probe closed a circuit after the outage; 0 if none
	closer         int
	inFlight       int // hits just after the fleet opened, admitted before the trip arrived
	periods        []fleetPeriod
	maxProbes      int
	notClosed      []string // replicas whose circuit is not closed at the end
	outageFailures int      // hits that failed before the fleet opened

	problems []string
}

func (r fleetReport) summary() string {
	return fmt.Sprintf("fleet: replicas=%d trips_shared=%d/%d probes_max_per_halfopen=%d halfopen_periods=%d rate_limit=%d/s measured=%.1f/s ok=%t",
		fleetReplicas, r.tripsShared, fleetReplicas-1, r.maxProbes, len(r.periods), r.rate(), r.measured, len(r.problems) == 0)
}

func (r fleetReport) rate() int { return r.limitRate }

// report counts what the run did, from the upstream's hits and the
// breakers' changes. complete is false for an interrupted run: the checks
// that need the whole scenario are then skipped.
func (f *fleet) report(complete bool) fleetReport {
	s := f.set
	rep := fleetReport{complete: complete, closer: -1, limitRate: s.limit.Rate}
	f.mu.Lock()
	hits := slices.Clone(f.hits)
	f.mu.Unlock()
	slices.SortFunc(hits, func(a, b fleetHit) int { return int(a.at - b.at) })

	// (3) The shared rate limit, measured at the upstream in the healthy
	// phase, past the gate's first burst.
	rep.window = [2]time.Duration{s.measureFrom, s.outageStart}
	if f.ended > 0 {
		rep.window[1] = min(rep.window[1], f.ended) // interrupted
	}
	for _, h := range hits {
		if h.at >= rep.window[0] && h.at < rep.window[1] {
			rep.measuredHits++
		}
	}
	if rep.window[1] > rep.window[0] {
		rep.measured = float64(rep.measuredHits) / (rep.window[1] - rep.window[0]).Seconds()
	}
	if complete && rep.measured > float64(s.limit.Rate)*1.05 {
		rep.problems = append(rep.problems, fmt.Sprintf("the fleet sent the upstream %.1f requests/s, over its limit of %d/s by more than 5%%", rep.measured, s.limit.Rate))
	}

	// (1) The fleet-wide trip: each replica's first opening in the outage.
	for i, r := range f.replicas {
		r.mu.Lock()
		for _, c := range r.changes {
			if c.ch.To == breaker.Open && c.at >= s.outageStart {
				rep.openings = append(rep.openings, fleetOpening{replica: i, at: c.at, cause: c.ch.Cause})
				break
			}
		}
		r.mu.Unlock()
	}
	slices.SortFunc(rep.openings, func(a, b fleetOpening) int { return int(a.at - b.at) })
	if len(rep.openings) == 0 {
		if complete {
			rep.problems = append(rep.problems, "no replica's circuit opened during the outage")
		}
		return rep
	}
	first := rep.openings[0]
	for _, o := range rep.openings[1:] {
		switch {
		case o.cause == breaker.CauseTrip:
			rep.tripsShared++
		case o.at-first.at <= fleetTripWindow:
			// Its own failures reached the threshold while the fleet's
			// trip was on its way: not a fault of the sharing.
			rep.together++
		default:
			rep.problems = append(rep.problems, fmt.Sprintf("%s opened by %s %v after %s opened, not by the fleet's trip",
				f.replicas[o.replica].name, o.cause, (o.at-first.at).Round(time.Millisecond), f.replicas[first.replica].name))
		}
	}
	if complete && len(rep.openings) < fleetReplicas {
		rep.problems = append(rep.problems, fmt.Sprintf("only %d of %d replicas' circuits opened during the outage", len(rep.openings), fleetReplicas))
	}

	// When a probe closed the fleet's circuit, after the outage.
	for i, r := range f.replicas {
		r.mu.Lock()
		for _, c := range r.changes {
			if c.ch.To == breaker.Closed && c.ch.Cause == breaker.CauseProbeSuccess && c.at > first.at &&
				(rep.closer < 0 || c.at < rep.closeAt) {
				rep.closeAt, rep.closer = c.at, i
				break
			}
		}
		if complete && len(r.changes) > 0 && r.changes[len(r.changes)-1].ch.To != breaker.Closed {
			rep.notClosed = append(rep.notClosed, r.name)
		}
		r.mu.Unlock()
	}
	if complete && rep.closer < 0 {
		rep.problems = append(rep.problems, "no probe closed the circuit after the outage")
	}
	if len(rep.notClosed) > 0 {
		rep.problems = append(rep.problems, "not closed at the end: "+strings.Join(rep.notClosed, ", "))
	}

	// (2) One probe for the fleet per half-open period: every hit from
	// the fleet's opening to its close, those just after the opening (in
	// flight, admitted before the trip reached their replica) aside,
	// grouped into half-open periods, which are a recovery apart.
	end := rep.closeAt
	if rep.closer < 0 {
		end = s.duration + time.Minute
	}
	settle := first.at + s.recovery/2
	for _, h := range hits {
		switch {
		case h.at < first.at:
			if h.at >= s.outageStart {
				rep.outageFailures++
			}
		case h.at < settle:
			rep.inFlight++
		case h.at <= end:
			if n := len(rep.periods); n == 0 || h.at-rep.periods[n-1].at > s.recovery/2 {
				rep.periods = append(rep.periods, fleetPeriod{at: h.at})
			}
			p := &rep.periods[len(rep.periods)-1]
			p.hits = append(p.hits, h)
		}
	}
	for _, p := range rep.periods {
		n := len(p.attempts())
		rep.maxProbes = max(rep.maxProbes, n)
		if n > 1 {
			rep.problems = append(rep.problems, fmt.Sprintf("the half-open period at +%s let %d attempts through to the upstream, not one probe", offset(p.at), n))
		}
	}
	if complete && len(rep.periods) == 0 {
		rep.problems = append(rep.problems, "no probe reached the upstream after the fleet opened")
	}
	return rep
}

func (f *fleet) printReport(out io.Writer, rep fleetReport) {
	s := f.set
	status := func(ok bool) string {
		if ok {
			return "ok  "
		}
		return "FAIL"
	}
	name := func(i int) string {
		if i < 0 || i >= len(f.replicas) {
			return "?"
		}
		return f.replicas[i].name
	}

	fmt.Fprintf(out, "\nper replica (calls made by the load, by outcome):\n")
	fmt.Fprintf(out, "  %-8s %6s %6s %7s %11s %13s\n", "replica", "calls", "ok", "failed", "fast-fails", "rate-limited")
	for _, r := range f.replicas {
		r.mu.Lock()
		c := r.counts
		r.mu.Unlock()
		fmt.Fprintf(out, "  %-8s %6d %6d %7d %11d %13d\n", r.name, c.calls, c.ok, c.failed, c.fastFails, c.limited)
	}

	fmt.Fprintf(out, "\n1. the fleet-wide trip (the outage began at +%s):\n", offset(s.outageStart))
	if rep.outageFailures > 0 {
		fmt.Fprintf(out, "  the upstream failed %d requests before a circuit opened\n", rep.outageFailures)
	}
	for k, o := range rep.openings {
		why := "tripped by the fleet: another replica's opening, through Redis"
		switch {
		case k == 0 && o.cause == breaker.CauseFailures:
			why = fmt.Sprintf("%d failures in a row, its own", s.threshold)
		case o.cause != breaker.CauseTrip:
			why = "its own " + o.cause.String()
		}
		rel := ""
		if k > 0 {
			rel = fmt.Sprintf("(%s later)", fmtDur(o.at-rep.openings[0].at))
		}
		fmt.Fprintf(out, "  %-3s opened at +%.3fs %-15s %s\n", name(o.replica), o.at.Seconds(), rel, why)
	}
	fmt.Fprintf(out, "  %s %d of %d other replicas opened by the fleet's trip\n",
		status(rep.tripsShared == fleetReplicas-1), rep.tripsShared, fleetReplicas-1)

	fmt.Fprintf(out, "\n2. one probe for the whole fleet per half-open period (open for %v after each failed probe):\n", s.recovery)
	if rep.inFlight > 0 {
		fmt.Fprintf(out, "  %d requests were in flight when the fleet opened (admitted before the trip reached their replica)\n", rep.inFlight)
	}
	resent := 0
	for k, p := range rep.periods {
		var who []string
		for _, h := range p.attempts() {
			w := name(h.replica) + "'s probe"
			if !h.probe {
				w = name(h.replica) + "'s attempt, not a probe"
			}
			who = append(who, w)
		}
		result := "closed the circuit"
		if p.hits[len(p.hits)-1].failed {
			result = "failed: open again"
		}
		hits := ""
		if d := len(p.hits) - len(p.attempts()); d > 0 {
			hits = fmt.Sprintf(" (%d hits: resent by net/http*)", len(p.hits))
			resent += d
		}
		fmt.Fprintf(out, "  half-open %d at +%s: %s%s; %s\n", k+1, offset(p.at), strings.Join(who, ", "), hits, result)
	}
	if rep.closer >= 0 {
		fmt.Fprintf(out, "  %s's probe closed its circuit at +%.3fs", name(rep.closer), rep.closeAt.Seconds())
		for i, r := range f.replicas {
			if i == rep.closer {
				continue
			}
			r.mu.Lock()
			for _, c := range r.changes {
				if c.ch.To == breaker.Closed && c.at >= rep.closeAt {
					how := "reset by the fleet"
					if c.ch.Cause != breaker.CauseReset {
						how = "closed by its own " + c.ch.Cause.String()
					}
					fmt.Fprintf(out, "; %s %s %s later", r.name, how, fmtDur(c.at-rep.closeAt))
					break
				}
			}
			r.mu.Unlock()
		}
		fmt.Fprintln(out)
	}
	fmt.Fprintf(out, "  %s %d half-open periods, most probes in one: %d for the whole fleet (each replica on its own: up to %d)\n",
		status(rep.maxProbes == 1), len(rep.periods), rep.maxProbes, fleetReplicas)
	if resent > 0 {
		fmt.Fprintf(out, "  * net/http's Transport sends a GET again, once, on a new connection when a reused one is reset\n"+
			"    before the response: the upstream saw %d such repeat(s) of a probe, with the same attempt id\n", resent)
	}

	fmt.Fprintf(out, "\n3. one rate limit for the fleet, measured at the upstream (+%s to +%s, healthy):\n", offset(rep.window[0]), offset(rep.window[1]))
	fmt.Fprintf(out, "  offered %d/s (%d replicas x %d/s); the upstream received %d requests, %.1f/s; the limit is %d/s\n",
		fleetReplicas*s.rate, fleetReplicas, s.rate, rep.measuredHits, rep.measured, s.limit.Rate)
	fmt.Fprintf(out, "  %s the fleet's rate is not over the limit by more than 5%% (a limit of %d/s in each replica would let %d/s through)\n",
		status(rep.measured <= float64(s.limit.Rate)*1.05), s.limit.Rate, fleetReplicas*min(s.rate, s.limit.Rate))

	for _, r := range f.replicas {
		r.mu.Lock()
		if len(r.lost) > 0 {
			fmt.Fprintf(out, "  note: %s lost Redis at +%s (it then runs on a local share of the limit, and its breaker locally)\n", r.name, offset(r.lost[0]))
		}
		r.mu.Unlock()
	}
	for _, p := range rep.problems {
		fmt.Fprintf(out, "  problem: %s\n", p)
	}
	fmt.Fprintf(out, "\n%s\n", rep.summary())
}

// redisServer is a private redis-server that -fleet started.
type redisServer struct {
	p   *redisproc.Process
	dir string
}

// startRedis starts redis-server from $PATH on a free port of 127.0.0.1,
// with no persistence, in a temporary directory, and returns once it
// answers PING. Another process may take the port between the probe that
// found it free and redis-server's bind: three ports are tried. The server
// has a process group of its own, so that a Ctrl-C at the terminal reaches
// the demo only, which stops the server after its clients.
func startRedis() (*redisServer, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errNoRedis
	}
	var errs []error
	for range 3 {
		port, err := redisproc.FreePort()
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp("", "tempest-demo-redis-")
		if err != nil {
			return nil, err
		}
		p, err := redisproc.Start(redisproc.Config{Bin: bin, Port: port, Dir: dir, Timeout: 10 * time.Second, OwnGroup: true})
		if err == nil {
			return &redisServer{p: p, dir: dir}, nil
		}
		errs = append(errs, fmt.Errorf("port %d: %w\n%s", port, err, redisproc.LogTail(dir)))
		os.RemoveAll(dir)
	}
	return nil, fmt.Errorf("starting redis-server: %w", errors.Join(errs...))
}

// stop kills the server, waits for it and removes its directory.
func (s *redisServer) stop() error {
	s.p.Kill()
	return os.RemoveAll(s.dir)
}
