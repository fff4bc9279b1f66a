package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
	"github.com/tempestsdk/tempest/httpclient"
)

// phaseStats adds up the calls that started in one phase, and the upstream
// hits that arrived during it.
type phaseStats struct {
	calls, ok, fastfails, failed int
	attempts                     int // attempts made for the calls that started in the phase
	timeouts                     int // of which ran out of the attempt timeout
	hits                         int // upstream hits during the phase
	lat                          []time.Duration
	shed                         int             // calls refused by the concurrency limit
	okLat                        []time.Duration // the latency of the calls that succeeded
	shedLat                      []time.Duration // and of those shed
	inflight, goroutines         int             // the most seen as a call arrived during the phase
	upWait                       time.Duration   // the longest an upstream request waited for a worker
}

// report is what one run added up to.
type report struct {
	mode                                mode
	calls, attempts, retries, fastfails int
	hits                                int
	admittedOpen                        int // attempts admitted while open: must be 0
	strayHalfOpen                       int // half-open admissions that were not the probe: must be 0
	phases                              []phaseStats
	errors                              map[string]int // failed calls by outcome
	latency                             []time.Duration
	halfOpenPeriods, probeCount         int
	maxProbes                           int // most probes in one half-open generation: at most 1
	hasRateLimit                        bool
	raRetries, raShort                  int // retries after a 429, and those that came too early
	raMinGap                            time.Duration
	earlyRetries                        int // the upstream's count of early comebacks
	unkeyedPosts, unkeyedDup            int // unkeyed POSTs sent, and received more than once
	keyedPosts, keyedRepeated           int
	finalCalls, finalOK                 int // calls in the final window
	endState                            breaker.State
	recovered                           bool
	tracedID, tracedWhy                 string
	hasSaturation                       bool
	shed                                int
	limited                             bool // the client had the concurrency limit
	// goodputBack is how long after the saturated phase's end the calls
	// that start within a second and succeed are again at least 90% of
	// the load; -1 if they never were within the run.
	goodputBack time.Duration
	limitTrail  string // the concurrency limit over the run, compactly
	limitLow    int    // the least the limit was
	limitMoves  int    // its changes
	limitEnd    []limitState
	problems    []string // how the client misbehaved
}

func (r report) retryAfterHonoured() bool {
	return r.raRetries > 0 && r.raShort == 0 && r.earlyRetries == 0
}

func (r report) summary() string {
	s := fmt.Sprintf("summary: calls=%d attempts=%d fastfails=%d admitted_while_open=%d recovered=%t",
		r.calls, r.attempts, r.fastfails, r.admittedOpen, r.recovered)
	if r.hasRateLimit {
		s += fmt.Sprintf(" retry_after_honoured=%t", r.retryAfterHonoured())
	}
	s += fmt.Sprintf(" probes_max_per_halfopen=%d unkeyed_post_duplicates=%d", r.maxProbes, r.unkeyedDup)
	if r.hasSaturation {
		s += fmt.Sprintf(" shed_by_limit=%d goodput_back=%t", r.shed, r.goodputBack >= 0)
	}
	return s
}

// successRate is ok calls over calls, in percent; -1 for no calls.
func successRate(ok, calls int) float64 {
	if calls == 0 {
		return -1
	}
	return 100 * float64(ok) / float64(calls)
}

// report adds everything up once the run is over and every goroutine that
// records has stopped. complete is false when the run was interrupted: the
// checks that need the whole scenario (a fast-fail during the outage,
// Retry-After seen, the recovery) are then left out of the problems.
func (w *world) report(complete bool) report {
	w.mu.Lock()
	defer w.mu.Unlock()
	set := w.set
	slices.SortFunc(w.calls, func(a, b callRecord) int { return strings.Compare(a.id, b.id) })

	r := report{
		mode:          w.mode,
		calls:         len(w.calls),
		attempts:      len(w.attemptTimes),
		retries:       w.retries,
		fastfails:     w.fastfails,
		hits:          len(w.hits),
		admittedOpen:  w.admittedOpen,
		strayHalfOpen: w.strayHalfOpen,
		phases:        make([]phaseStats, len(set.phases)),
		errors:        make(map[string]int),
		hasRateLimit:  set.has(kindRateLimited),
		earlyRetries:  w.earlyRetries,
		endState:      w.state,
		hasSaturation: set.has(kindSaturated),
		shed:          w.shed,
		limited:       w.limits != nil,
		limitEnd:      w.limitEnd,
	}
	finalStart := set.duration - set.finalWindow
	for _, c := range w.calls {
		ps := &r.phases[set.phaseAt(c.start)]
		ps.calls++
		ps.attempts += w.attemptsPerID[c.id]
		ps.timeouts += w.timeoutsPerID[c.id]
		ps.lat = append(ps.lat, c.end-c.start)
		r.latency = append(r.latency, c.end-c.start)
		switch c.outcome {
		case outcomeOK:
			ps.ok++
			ps.okLat = append(ps.okLat, c.end-c.start)
		case outcomeShed:
			ps.shed++
			ps.shedLat = append(ps.shedLat, c.end-c.start)
			ps.failed++
			r.errors[c.outcome]++
		case outcomeFastFail:
			ps.fastfails++
			r.errors[c.outcome]++
		default:
			ps.failed++
			r.errors[c.outcome]++
		}
		if c.start >= finalStart {
			r.finalCalls++
			if c.outcome == outcomeOK {
				r.finalOK++
			}
		}
	}
	for i := range r.phases {
		ps := &r.phases[i]
		slices.Sort(ps.lat)
		slices.Sort(ps.okLat)
		slices.Sort(ps.shedLat)
		ps.inflight, ps.goroutines, ps.upWait = w.peakInflight[i], w.peakGoros[i], w.peakUpWait[i]
	}
	slices.Sort(r.latency)
	if r.hasSaturation {
		r.goodputBack = w.goodputBack()
	}
	if r.limited {
		r.limitTrail, r.limitLow, r.limitMoves = w.limitTrail()
	}

	received := make(map[string]int) // POSTs per call ID
	keyed := make(map[string]bool)
	for _, h := range w.hits {
		r.phases[set.phaseAt(h.at)].hits++
		if h.method == http.MethodPost {
			received[h.callID]++
			keyed[h.callID] = h.keyed
		}
	}
	for id, n := range received {
		switch {
		case keyed[id]:
			r.keyedPosts++
			if n > 1 {
				r.keyedRepeated++
			}
		default:
			r.unkeyedPosts++
			if n > 1 {
				r.unkeyedDup++
			}
		}
	}

	r.halfOpenPeriods = len(w.probes)
	for _, n := range w.probes {
		r.probeCount += n
		r.maxProbes = max(r.maxProbes, n)
	}
	r.raRetries = len(w.raGaps)
	for i, g := range w.raGaps {
		if i == 0 || g < r.raMinGap {
			r.raMinGap = g
		}
		if g < time.Duration(set.retryAfter)*time.Second {
			r.raShort++
		}
	}
	r.recovered = w.state == breaker.Closed && r.finalCalls > 0 && r.finalOK == r.finalCalls
	r.tracedID, r.tracedWhy = w.pickTrace()

	if w.mode != modeTempest {
		return r // the checks are about tempest (with its concurrency limit in the saturate scenario)
	}
	if r.admittedOpen > 0 {
		r.problems = append(r.problems, fmt.Sprintf("%d attempts were admitted while the circuit was open (R18, R21)", r.admittedOpen))
	}
	if r.strayHalfOpen > 0 {
		r.problems = append(r.problems, fmt.Sprintf("%d attempts were admitted half-open without being the probe (R19)", r.strayHalfOpen))
	}
	for gen, n := range w.probes {
		if n > 1 {
			r.problems = append(r.problems, fmt.Sprintf("half-open generation %d admitted %d probes (R19)", gen, n))
		}
	}
	if r.unkeyedDup > 0 {
		r.problems = append(r.problems, fmt.Sprintf("%d POSTs without an Idempotency-Key reached the upstream more than once (R7)", r.unkeyedDup))
	}
	if r.raShort > 0 {
		r.problems = append(r.problems, fmt.Sprintf("%d retries came less than Retry-After (%ds) after a 429 (R9)", r.raShort, set.retryAfter))
	}
	if r.earlyRetries > 0 {
		r.problems = append(r.problems, fmt.Sprintf("the upstream saw %d calls come back before their Retry-After ended (R9)", r.earlyRetries))
	}
	if w.missingIDs > 0 {
		r.problems = append(r.problems, fmt.Sprintf("%d upstream hits arrived without the caller's request ID (R25)", w.missingIDs))
	}
	if w.echoMismatch > 0 {
		r.problems = append(r.problems, fmt.Sprintf("%d responses did not echo the call's request ID (R26)", w.echoMismatch))
	}
	if complete {
		for i, p := range set.phases {
			if p.kind == kindOutage && r.phases[i].fastfails == 0 {
				r.problems = append(r.problems, fmt.Sprintf("no call failed fast during the %s phase (R18)", p.name))
			}
		}
		for i, p := range set.phases {
			if p.kind == kindSaturated && r.limited && r.phases[i].shed == 0 {
				r.problems = append(r.problems, fmt.Sprintf("no call was shed by the concurrency limit during the %s phase (R75)", p.name))
			}
		}
		if r.hasSaturation && r.goodputBack < 0 {
			r.problems = append(r.problems, "the calls answered ok never came back to 90% of the load after the saturated phase")
		}
		if r.hasRateLimit && r.raRetries == 0 {
			r.problems = append(r.problems, "no call was retried after a 429 with Retry-After, so honouring it was never shown (R9)")
		}
		if !r.recovered {
			r.problems = append(r.problems, fmt.Sprintf("no recovery: the breaker ended %s and %d of the last %d calls succeeded",
				w.state, r.finalOK, r.finalCalls))
		}
	}
	slices.Sort(r.problems)
	return r
}

// goodputBack returns how long after the end of the (first) saturated
// phase the calls that started within one second and succeeded were again
// at least 90% of the load's rate, on a 50ms grid; -1 when no such second
// fits in the run. A call counts when it started, so that a backlog of
// calls from the phase, answered in a burst as it ends, does not pass for
// recovery. w.mu is held.
func (w *world) goodputBack() time.Duration {
	set := w.set
	var end time.Duration
	for _, p := range set.phases {
		if p.kind == kindSaturated {
			end = p.end
			break
		}
	}
	var oks []time.Duration
	for _, c := range w.calls {
		if c.outcome == outcomeOK && c.start >= end {
			oks = append(oks, c.start)
		}
	}
	slices.Sort(oks)
	need := int(math.Ceil(0.9 * float64(set.rate)))
	for t := end; t+time.Second <= set.duration; t += 50 * time.Millisecond {
		lo, _ := slices.BinarySearch(oks, t)
		hi, _ := slices.BinarySearch(oks, t+time.Second)
		if hi-lo >= need {
			return t - end
		}
	}
	return -1
}

// initialLimit is the adaptive concurrency limit's starting point, as
// concurrency.New derives it from the settings.
func initialLimit(l httpclient.ConcurrencyLimit) int {
	if l.Fixed > 0 {
		return l.Fixed
	}
	lo, hi := l.Adaptive.Min, l.Adaptive.Max
	if lo == 0 {
		lo = concurrency.DefaultMin
	}
	if hi == 0 {
		hi = max(concurrency.DefaultMax, lo)
	}
	return min(max(cmp.Or(l.Initial, concurrency.DefaultInitial), lo), hi)
}

// limitTrail shows the concurrency limit over the run compactly: its value
// every step, with a bar where a phase begins; and the least it was, and
// how often it changed. w.mu is held.
func (w *world) limitTrail() (trail string, low, moves int) {
	set := w.set
	step := max(500*time.Millisecond, (set.duration / 40).Round(100*time.Millisecond))
	cur := initialLimit(set.limit)
	low = cur
	var b strings.Builder
	next := 0
	for i, ph := range set.phases {
		if i > 0 {
			b.WriteString("| ")
		}
		for t := ph.start; t < ph.end; t += step {
			for next < len(w.limitLog) && w.limitLog[next].at <= t {
				cur = w.limitLog[next].to
				next++
			}
			fmt.Fprintf(&b, "%d ", cur)
		}
	}
	for _, e := range w.limitLog {
		low = min(low, e.to)
	}
	return strings.TrimSpace(b.String()), low, len(w.limitLog)
}

// pickTrace chooses the call whose request ID the report traces: a call of
// the rate-limited phase that got a 429, waited out its Retry-After and
// succeeded; else the first call the concurrency limit shed; else an outage
// call with the most attempts; else any call with the most attempts (the
// earliest among equals). w.mu is held.
func (w *world) pickTrace() (id, why string) {
	set := w.set
	for _, c := range w.calls {
		if c.outcome == outcomeShed {
			return c.id, "the first call the concurrency limit shed: nothing was sent upstream"
		}
	}
	for _, c := range w.calls {
		if set.phases[set.phaseAt(c.start)].kind != kindRateLimited || c.outcome != outcomeOK {
			continue
		}
		for _, e := range w.clientTrace[c.id] {
			if strings.Contains(e.text, "(Retry-After)") {
				return c.id, "a call of the rate-limited phase: a 429, Retry-After waited out, then served"
			}
		}
	}
	best := ""
	better := func(c callRecord) bool {
		return best == "" || w.attemptsPerID[c.id] > w.attemptsPerID[best]
	}
	for _, c := range w.calls {
		if set.phases[set.phaseAt(c.start)].kind == kindOutage && better(c) {
			best = c.id
		}
	}
	if n := w.attemptsPerID[best]; best != "" && n >= 2 {
		return best, fmt.Sprintf("an outage call with %d attempts", n)
	}
	best = ""
	for _, c := range w.calls {
		if better(c) {
			best = c.id
		}
	}
	if best == "" {
		return "", ""
	}
	return best, fmt.Sprintf("a call with %d attempts", w.attemptsPerID[best])
}

func printSettings(w io.Writer, s settings, upstreamURL, serviceURL string) {
	p := fmt.Fprintf
	p(w, "tempest-demo: scenario %q, %v at %d calls/s; 1 call in 4 is a POST without an Idempotency-Key, 1 in 8 a POST with one\n",
		s.scenario, s.duration, s.rate)
	p(w, "one process, real HTTP on loopback: load generator -> service (net/http + requestid.Middleware,\n")
	p(w, "one shared httpclient.Client) -> scripted upstream (httpclienttest)\n")
	p(w, "client settings, scaled down so that a short demo shows everything (the library's defaults, in brackets, differ):\n")
	// The library's defaults, as docs/defaults.md lists them.
	const defTimeout, defAttempts, defInitial, defMax, defJitter = 10 * time.Second, 3, 500 * time.Millisecond, 8 * time.Second, 0.2
	p(w, "  attempt timeout  %-58s [%v]\n", s.attemptTimeout.String(), defTimeout)
	p(w, "  retries          %-58s [%d attempts, backoff %v..%v, jitter %.1f]\n",
		fmt.Sprintf("%d attempts, backoff %v..%v, jitter %.1f", s.policy.MaxAttempts,
			s.policy.BackoffInitial, s.policy.BackoffMax, defJitter),
		defAttempts, defInitial, defMax, defJitter)
	p(w, "  circuit breaker  %-58s [%d failures / %v]\n",
		fmt.Sprintf("opens after %d failures in a row, recovery %v", s.failureThreshold, s.recovery),
		breaker.DefaultFailureThreshold, breaker.DefaultRecovery)
	p(w, "  Retry-After      %-58s [the same rule, cap %v]\n",
		fmt.Sprintf("waited when <= BackoffMax (%v); the upstream asks for %ds", s.policy.BackoffMax, s.retryAfter),
		defMax)
	if s.concLimit {
		a := s.limit.Adaptive
		p(w, "  concurrency      %-58s [off; adaptive: window %d, %d..%d from %d]\n",
			fmt.Sprintf("adaptive limit, window %d, %d..%d from %d, queue %d for %v",
				a.Window, cmp.Or(a.Min, concurrency.DefaultMin), cmp.Or(a.Max, concurrency.DefaultMax), initialLimit(s.limit),
				httpclient.DefaultConcurrencyQueue, httpclient.DefaultConcurrencyMaxWait),
			concurrency.DefaultWindow, concurrency.DefaultMin, concurrency.DefaultMax, concurrency.DefaultInitial)
	}
	p(w, "phases:\n")
	for i, ph := range s.phases {
		p(w, "  %d %-13s %6s-%-6s %s\n", i+1, ph.name, offset(ph.start), offset(ph.end), s.describe(ph))
	}
	if upstreamURL != "" {
		p(w, "upstream %s, service %s\n", upstreamURL, serviceURL)
	}
	p(w, "\n")
}

func (w *world) printReport(out io.Writer, r report, svgFile string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := fmt.Fprintf
	set := w.set

	p(out, "\nper phase (a call counts in the phase it started in; latency is the caller's, end to end):\n")
	p(out, "  %-13s %-13s %6s %14s %9s %11s %8s %8s %8s %14s\n",
		"phase", "span", "calls", "attempts/call", "timeouts", "fast-fails", "success", "p50", "p99", "upstream hits")
	for i, ph := range set.phases {
		st := r.phases[i]
		p(out, "  %-13s %-13s %6d %14s %9d %11d %8s %8s %8s %14d\n",
			ph.name, offset(ph.start)+"-"+offset(ph.end), st.calls, ratio(st.attempts, st.calls), st.timeouts, st.fastfails,
			pct(successRate(st.ok, st.calls)), fmtDur(percentile(st.lat, 0.50)), fmtDur(percentile(st.lat, 0.99)), st.hits)
	}
	if r.hasSaturation {
		printLoad(out, set, r)
	}

	origin := ""
	if len(w.changes) > 0 {
		origin = " of " + w.breakerOrigin
	}
	p(out, "\nbreaker%s: state changes and probes\n", origin)
	events := slices.Clone(w.breakerLog)
	slices.SortStableFunc(events, byTime)
	if len(events) == 0 {
		p(out, "  (none)\n")
	}
	for _, e := range events {
		p(out, "  t=%-7s %-7s %s\n", offset(e.at), e.src, e.text)
	}

	gaveUp := make([]string, 0, len(w.giveUps))
	for reason, n := range w.giveUps {
		gaveUp = append(gaveUp, fmt.Sprintf("%s=%d", reason, n))
	}
	slices.Sort(gaveUp)
	var errs []string
	for _, k := range errorKinds {
		if n := r.errors[k]; n > 0 {
			errs = append(errs, fmt.Sprintf("%s=%d", k, n))
		}
	}
	p(out, "\nclient: calls=%d attempts=%d retries=%d fastfails=%d gave_up_early=[%s]\n",
		r.calls, r.attempts, r.retries, r.fastfails, strings.Join(gaveUp, " "))
	p(out, "callers' errors: [%s]; latency p50 %s, p99 %s\n",
		strings.Join(errs, " "), fmtDur(percentile(r.latency, 0.5)), fmtDur(percentile(r.latency, 0.99)))
	if r.hits > r.attempts {
		p(out, "upstream hits=%d > attempts=%d: net/http itself resends a GET once when a reused keep-alive\n", r.hits, r.attempts)
		p(out, "connection is reset before any response byte, below the client's count (see httpclient.Hooks)\n")
	}

	if r.tracedID == "" {
		p(out, "\nno call to trace\n")
	} else {
		p(out, "\ntrace of request %s (%s),\none ID from the service's inbound log line through each attempt to the upstream's log:\n",
			r.tracedID, r.tracedWhy)
	}
	for _, e := range w.trace(r.tracedID) {
		p(out, "  t=%-7s %-8s %s\n", offset(e.at), e.src, e.text)
	}

	p(out, "\nwhat the measured traffic shows:\n")
	check := func(ok bool, format string, args ...any) {
		mark := "ok  "
		if !ok {
			mark = "FAIL"
		}
		p(out, "  %s %s\n", mark, fmt.Sprintf(format, args...))
	}
	for i, ph := range set.phases {
		if ph.kind != kindOutage && ph.kind != kindSlow {
			continue
		}
		st := r.phases[i]
		var ff []time.Duration
		for _, c := range w.calls {
			if set.phaseAt(c.start) == i && c.outcome == outcomeFastFail {
				ff = append(ff, c.end-c.start)
			}
		}
		slices.Sort(ff)
		fastP50 := "-"
		if len(ff) > 0 {
			fastP50 = fmtDur(percentile(ff, 0.5))
		}
		check(ph.kind != kindOutage || st.fastfails > 0,
			"%s: %d of %d calls failed fast (p50 %s) instead of waiting; the upstream got %d hits, %s per call",
			ph.name, st.fastfails, st.calls, fastP50, st.hits, ratio(st.hits, st.calls))
	}
	for i, ph := range set.phases {
		if ph.kind != kindSaturated {
			continue
		}
		st := r.phases[i]
		check(!r.limited || st.shed > 0,
			"%s: %d of %d calls shed by the concurrency limit (p50 %s) instead of queueing upstream; at most %d calls in flight, the calls that succeeded p99 %s",
			ph.name, st.shed, st.calls, fmtDur(percentile(st.shedLat, 0.5)), st.inflight, fmtDur(percentile(st.okLat, 0.99)))
		check(r.goodputBack >= 0, "goodput back %s after the %s phase: of the calls that started in the next second, %d or more succeeded (90%% of the load)",
			goodputBack(r.goodputBack), ph.name, int(math.Ceil(0.9*float64(set.rate))))
	}
	check(r.admittedOpen == 0 && r.strayHalfOpen == 0 && r.maxProbes <= 1,
		"one probe per half-open period: half-open periods=%d, most probes in one=%d; attempts admitted while open=%d",
		r.halfOpenPeriods, r.maxProbes, r.admittedOpen)
	if r.hasRateLimit {
		check(r.retryAfterHonoured(),
			"Retry-After honoured: %d retries after a 429 with Retry-After: %d, the shortest %s later; the upstream saw %d come back early",
			r.raRetries, set.retryAfter, fmtDur(r.raMinGap), r.earlyRetries)
	}
	check(r.unkeyedDup == 0,
		"POSTs without an Idempotency-Key never retried: %d sent, %d received twice (with a key: %d sent, %d retried safely)",
		r.unkeyedPosts, r.unkeyedDup, r.keyedPosts, r.keyedRepeated)
	check(r.recovered, "full recovery: breaker %s at the end; the last %v: %d of %d calls ok",
		r.endState, set.finalWindow, r.finalOK, r.finalCalls)
	for _, pr := range r.problems {
		p(out, "  problem: %s\n", pr)
	}
	if svgFile != "" {
		p(out, "timeline chart written to %s\n", svgFile)
	}
	p(out, "\n%s\n", r.summary())
}

// printLoad is the saturate scenario's part of the report: per phase, what
// the service held and how long the calls that succeeded took; then the
// concurrency limit over the run.
func printLoad(out io.Writer, set settings, r report) {
	p := fmt.Fprintf
	p(out, "\nload per phase (in flight: the service's calls, at the most; goroutines: the whole process's, load and upstream\n"+
		"included, at the most; upstream wait: the longest a request waited for a worker):\n")
	p(out, "  %-13s %13s %9s %9s %10s %11s %14s\n", "phase", "shed (limit)", "ok p50", "ok p99", "in flight", "goroutines", "upstream wait")
	for i, ph := range set.phases {
		st := r.phases[i]
		p(out, "  %-13s %13d %9s %9s %10d %11d %14s\n", ph.name, st.shed,
			fmtDur(percentile(st.okLat, 0.5)), fmtDur(percentile(st.okLat, 0.99)), st.inflight, st.goroutines, fmtDur(st.upWait))
	}
	if !r.limited {
		p(out, "concurrency limit: off\n")
		return
	}
	origin := ""
	var rejected uint64
	for _, l := range r.limitEnd {
		origin = " of " + l.origin
		rejected += l.Rejected
	}
	p(out, "concurrency limit%s, every %v (| where a phase begins): %s\n", origin,
		max(500*time.Millisecond, (set.duration/40).Round(100*time.Millisecond)), r.limitTrail)
	changes := "changes"
	if r.limitMoves == 1 {
		changes = "change"
	}
	p(out, "  %d %s, down to %d at the least; %d calls refused (ConcurrencyLimits: rejected=%d)\n",
		r.limitMoves, changes, r.limitLow, r.shed, rejected)
}

// goodputBack formats how long goodput took to come back.
func goodputBack(d time.Duration) string {
	if d < 0 {
		return "not within the run"
	}
	return offset(d)
}

// trace returns every recorded line about one request ID, in time order.
// w.mu is held.
func (w *world) trace(id string) []event {
	if id == "" {
		return nil
	}
	var out []event
	w.logs.mu.Lock()
	for _, l := range w.logs.lines {
		if strings.Contains(l.text, "request_id="+id+" ") {
			out = append(out, event{at: w.since(l.at), src: "service", text: l.text})
		}
	}
	w.logs.mu.Unlock()
	out = append(out, w.clientTrace[id]...)
	for _, h := range w.hits {
		if h.id == id {
			out = append(out, event{at: h.at, src: "upstream", text: upstreamLine(h)})
		}
	}
	slices.SortStableFunc(out, byTime)
	return out
}

// percentile returns the q-quantile of sorted latencies, 0 for none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// offset formats a time offset from the start in seconds, as "2.05s".
func offset(d time.Duration) string {
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// fmtDur formats a latency with a precision that suits its size.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func ratio(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(n)/float64(d))
}

func pct(rate float64) string {
	if rate < 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", rate)
}

func byTime(a, b event) int { return cmp.Compare(a.at, b.at) }
