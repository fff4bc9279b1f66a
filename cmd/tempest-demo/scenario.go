package main

import (
	"fmt"
	"math"
	"time"

	"github.com/tempestsdk/tempest/concurrency"
	"github.com/tempestsdk/tempest/httpclient"
)

// kind is what the upstream does during a phase.
type kind int

const (
	kindHealthy     kind = iota // 200 within a millisecond
	kindOutage                  // 503s and connection resets
	kindSlow                    // most responses come after the attempt timeout
	kindRateLimited             // 429 with Retry-After first, then served
	kindSaturated               // the worker pool's service time ten-fold (the saturate scenario)
)

// phaseSpec is one phase of a scenario before it is scaled to a duration.
type phaseSpec struct {
	name   string
	kind   kind
	weight int // share of the scenario's duration, out of the weights' sum
}

// scenarios are what -scenario picks from; the first is the default.
var scenarios = []struct {
	name   string
	phases []phaseSpec
}{
	{"default", []phaseSpec{
		{"healthy", kindHealthy, 20},
		{"outage", kindOutage, 35},
		{"slow", kindSlow, 28},
		{"rate-limited", kindRateLimited, 27},
		{"recovered", kindHealthy, 30},
	}},
	{"outage-only", []phaseSpec{
		{"healthy", kindHealthy, 20},
		{"outage", kindOutage, 40},
		{"recovered", kindHealthy, 40},
	}},
	{"slow-only", []phaseSpec{
		{"healthy", kindHealthy, 20},
		{"slow", kindSlow, 40},
		{"recovered", kindHealthy, 40},
	}},
	{"rate-limited-only", []phaseSpec{
		{"healthy", kindHealthy, 25},
		{"rate-limited", kindRateLimited, 40},
		{"recovered", kindHealthy, 35},
	}},
	// The upstream is a pool of workers throughout; the client has the
	// adaptive concurrency limit on (tempest mode) or not (the others).
	{"saturate", []phaseSpec{
		{"healthy", kindHealthy, 20},
		{"saturated", kindSaturated, 50},
		{"recovered", kindHealthy, 30},
	}},
}

func scenarioNames() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	return names
}

// phase is a phase scaled to the run: [start, end) as offsets from the start.
type phase struct {
	name       string
	kind       kind
	start, end time.Duration
}

// settings are the scaled values a run uses, derived from the flags.
type settings struct {
	scenario string
	observe  string // -observe's address, "" for none
	phases   []phase
	duration time.Duration
	rate     int

	attemptTimeout   time.Duration
	policy           httpclient.RetryPolicy
	failureThreshold int
	recovery         time.Duration // the breaker's open period

	slowDelay    time.Duration // the slow phase's response delay
	slowCapacity int           // requests per second the slow upstream answers in time
	retryAfter   int           // seconds, in the rate-limited phase's 429s
	limitEvery   int           // in the rate-limited phase, every limitEvery-th call is not limited

	naiveAttempts int           // the naive retry loop's attempts per call
	naiveSleep    time.Duration // and its fixed sleep between them

	// The saturate scenario's upstream: workers serve one request at a
	// time each, first come first served, in serviceTime, or in
	// saturatedTime during the saturated phase. workers is 0 in the other
	// scenarios, whose upstream answers at once.
	workers       int
	serviceTime   time.Duration
	saturatedTime time.Duration
	// concLimit: tempest mode has the adaptive concurrency limit (R74, R75).
	concLimit bool
	limit     httpclient.ConcurrencyLimit

	// finalWindow is the end of the run in which every call must succeed
	// for recovered=true.
	finalWindow time.Duration
}

// scale derives the settings. Every timing of the client is short, so that
// a run of a few seconds shows every state: the breaker's recovery is a
// fourteenth of the run (1s for the default 14s), at least 500ms, so the
// outage sees several probes and the breaker has closed again early in the
// rate-limited phase. Retry-After is whole seconds on the wire, so the
// rate-limited phase asks for 1s, and BackoffMax is 1.5s: above it, so that
// the wait is honoured (R9) rather than the 429 returned at once.
func scale(cfg config) settings {
	var specs []phaseSpec
	for _, s := range scenarios {
		if s.name == cfg.scenario {
			specs = s.phases
		}
	}
	d := cfg.duration
	total := 0
	for _, p := range specs {
		total += p.weight
	}
	phases := make([]phase, len(specs))
	acc := 0
	for i, p := range specs {
		start := (d * time.Duration(acc) / time.Duration(total)).Round(10 * time.Millisecond)
		acc += p.weight
		end := (d * time.Duration(acc) / time.Duration(total)).Round(10 * time.Millisecond)
		phases[i] = phase{name: p.name, kind: p.kind, start: start, end: end}
	}
	phases[len(phases)-1].end = d
	set := settings{
		scenario:       cfg.scenario,
		observe:        cfg.observe,
		phases:         phases,
		duration:       d,
		rate:           cfg.rate,
		attemptTimeout: 300 * time.Millisecond,
		policy: httpclient.RetryPolicy{
			MaxAttempts:    3,
			BackoffInitial: 100 * time.Millisecond,
			BackoffMax:     1500 * time.Millisecond,
		},
		failureThreshold: 5,
		recovery:         max(500*time.Millisecond, min(3*time.Second, d/14)).Round(10 * time.Millisecond),
		slowDelay:        time.Second,
		slowCapacity:     max(1, cfg.rate/8),
		retryAfter:       1,
		limitEvery:       3,
		naiveAttempts:    3,
		naiveSleep:       100 * time.Millisecond,
		finalWindow:      (d / 10).Round(10 * time.Millisecond),
	}
	if set.has(kindSaturated) {
		set.saturate()
	}
	return set
}

// saturate sets up the saturate scenario. The upstream has a worker for
// every 10 calls a second the load sends (4 at 40/s), each serving a request
// in 20ms: five times the load. Saturated, a request takes 200ms, so the
// pool serves half the load and a queue builds. The attempt timeout is one
// a service would choose for an upstream that answers in 20ms, with room
// for its bad days: 2s, so that queueing shows in the latency instead of
// being cut at 300ms.
//
// The adaptive limit is scaled to the demo's rate as the breaker's
// recovery is to its length. A window is at least Window samples and half
// the limit, and the saturated upstream gives about 20 a second: with the
// defaults (20, from a limit of 64) a decision takes one to two seconds,
// too slow for a phase of a few seconds. So the window is 8, and the
// starting limit ten times the calls the load has in flight when the
// upstream is healthy (40/s x 20ms: 8); Min and Max are the defaults.
func (s *settings) saturate() {
	s.workers = max(1, s.rate/10)
	s.serviceTime = 20 * time.Millisecond
	s.saturatedTime = 10 * s.serviceTime
	s.attemptTimeout = 2 * time.Second
	s.concLimit = true
	need := float64(s.rate) * s.serviceTime.Seconds() // calls in flight when healthy
	s.limit = httpclient.ConcurrencyLimit{Initial: max(8, int(math.Ceil(10*need))), Adaptive: concurrency.Adaptive{Window: 8}}
}

// phaseAt returns the index of the phase at an offset from the start; past
// the end, the last.
func (s settings) phaseAt(off time.Duration) int {
	for i, p := range s.phases {
		if off < p.end {
			return i
		}
	}
	return len(s.phases) - 1
}

// has reports whether the scenario has a phase of kind k.
func (s settings) has(k kind) bool {
	for _, p := range s.phases {
		if p.kind == k {
			return true
		}
	}
	return false
}

// describe says what the upstream does in a phase.
func (s settings) describe(p phase) string {
	switch p.kind {
	case kindOutage:
		return "hard outage: 503s, and every third request a connection reset"
	case kindSlow:
		return fmt.Sprintf("slow under load: %d requests a second answered in time, the rest after %v, past the %v attempt timeout",
			s.slowCapacity, s.slowDelay, s.attemptTimeout)
	case kindRateLimited:
		return fmt.Sprintf("rate limited: %d of %d calls first get 429 with Retry-After: %d; a retry that waited is served",
			s.limitEvery-1, s.limitEvery, s.retryAfter)
	case kindSaturated:
		return fmt.Sprintf("saturated: each request takes %v, ten times as long: the %d workers serve %d/s, %s the load; the rest queue",
			s.saturatedTime, s.workers, s.capacity(s.saturatedTime), ofLoad(s.capacity(s.saturatedTime), s.rate))
	}
	if s.workers > 0 {
		again := ""
		if p.start > 0 {
			again = " again"
		}
		return fmt.Sprintf("healthy%s: %d workers, %v a request, first come first served: %d/s, %s the load",
			again, s.workers, s.serviceTime, s.capacity(s.serviceTime), ofLoad(s.capacity(s.serviceTime), s.rate))
	}
	if p.start > 0 {
		return "healthy again: 200 within a millisecond"
	}
	return "healthy: 200 within a millisecond"
}

// capacity is how many requests a second the upstream's workers serve at a
// service time of d.
func (s settings) capacity(d time.Duration) int {
	return int(time.Duration(s.workers) * time.Second / d)
}

// ofLoad says a capacity as a multiple of the load: "5x", "half".
func ofLoad(capacity, rate int) string {
	switch {
	case capacity*2 == rate:
		return "half"
	case capacity%rate == 0:
		return fmt.Sprintf("%dx", capacity/rate)
	}
	return fmt.Sprintf("%.2gx", float64(capacity)/float64(rate))
}
