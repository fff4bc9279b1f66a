package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/httpclient"
)

// phaseStats counts the calls that started in one phase.
type phaseStats struct {
	calls, ok, fastfails, failed int
}

// report is what the scenario added up to.
type report struct {
	calls, attempts, retries, fastfails int
	admittedOpen                        int // attempts admitted while open: must be 0
	phases                              [numPhases]phaseStats
	hits                                [numPhases]int // upstream hits per phase
	probeCount                          int
	maxProbes                           int // most probes in one half-open generation: at most 1
	finalCalls, finalOK                 int // calls in the final window
	recovered                           bool
	tracedID, tracedWhy                 string
	problems                            []string // how the client misbehaved
}

func (r report) summary() string {
	return fmt.Sprintf("summary: calls=%d attempts=%d fastfails=%d admitted_while_open=%d recovered=%t",
		r.calls, r.attempts, r.fastfails, r.admittedOpen, r.recovered)
}

// report adds everything up once the scenario is over and every goroutine
// that records has stopped. complete is false when the run was interrupted:
// the checks that need the whole scenario (a fast-fail during the outage, the
// recovery) are then left out of the problems.
func (d *demo) report(complete bool) report {
	d.mu.Lock()
	defer d.mu.Unlock()
	slices.SortFunc(d.calls, func(a, b call) int { return strings.Compare(a.id, b.id) })

	r := report{
		calls:        len(d.calls),
		attempts:     d.attempts,
		retries:      d.retries,
		fastfails:    d.fastfails,
		admittedOpen: d.admittedOpen,
		hits:         d.hits,
	}
	finalStart := d.set.duration - d.set.finalWindow
	for _, c := range d.calls {
		ps := &r.phases[d.set.phaseAt(c.at)]
		ps.calls++
		switch c.status {
		case 200:
			ps.ok++
		case 503:
			ps.fastfails++
		default:
			ps.failed++
		}
		if c.at >= finalStart {
			r.finalCalls++
			if c.status == 200 {
				r.finalOK++
			}
		}
	}
	for _, n := range d.probes {
		r.probeCount += n
		r.maxProbes = max(r.maxProbes, n)
	}
	r.recovered = d.state == breaker.Closed && r.finalCalls > 0 && r.finalOK == r.finalCalls

	// The traced call: an outage call with the most attempts, then the most
	// upstream hits (a reset shows net/http's own resend), the earliest among
	// equals; else any call, by the same order.
	hitsPerID := make(map[string]int)
	for _, id := range d.upstreamIDs {
		hitsPerID[id]++
	}
	better := func(c call, bestID string) bool {
		if bestID == "" {
			return true
		}
		if a, b := d.attemptsPerID[c.id], d.attemptsPerID[bestID]; a != b {
			return a > b
		}
		return hitsPerID[c.id] > hitsPerID[bestID]
	}
	for _, c := range d.calls {
		if d.set.phaseAt(c.at) == outage && better(c, r.tracedID) {
			r.tracedID = c.id
		}
	}
	if n := d.attemptsPerID[r.tracedID]; r.tracedID != "" && n >= 2 {
		r.tracedWhy = fmt.Sprintf("an outage call with %d attempts", n)
	} else {
		r.tracedID = ""
		for _, c := range d.calls {
			if better(c, r.tracedID) {
				r.tracedID = c.id
			}
		}
		r.tracedWhy = fmt.Sprintf("no outage call was retried; a call with %d attempts", d.attemptsPerID[r.tracedID])
	}

	if r.admittedOpen > 0 {
		r.problems = append(r.problems, fmt.Sprintf("%d attempts were admitted while the circuit was open", r.admittedOpen))
	}
	for gen, n := range d.probes {
		if n > 1 {
			r.problems = append(r.problems, fmt.Sprintf("half-open generation %d admitted %d probes", gen, n))
		}
	}
	if complete && r.phases[outage].fastfails == 0 {
		r.problems = append(r.problems, "no call failed fast during the outage")
	}
	if complete && !r.recovered {
		r.problems = append(r.problems, fmt.Sprintf("no recovery: the breaker ended %s and %d of the last %d calls succeeded",
			d.state, r.finalOK, r.finalCalls))
	}
	if d.missingIDs > 0 {
		r.problems = append(r.problems, fmt.Sprintf("%d upstream hits arrived without the caller's request ID", d.missingIDs))
	}
	if d.echoMismatch > 0 {
		r.problems = append(r.problems, fmt.Sprintf("%d responses did not echo the call's request ID", d.echoMismatch))
	}
	slices.Sort(r.problems)
	return r
}

func (d *demo) printSettings(w io.Writer, upstreamURL, serviceURL string) {
	s := d.set
	p := fmt.Fprintf
	p(w, "tempest-demo: a flaky upstream, a service with one shared httpclient.Client, %v of traffic at %d calls/s\n",
		s.duration, d.cfg.rate)
	p(w, "client settings, scaled down for the demo (the library's defaults differ, in brackets):\n")
	p(w, "  attempt timeout  %-52s [%v]\n", s.attemptTimeout.String(), httpclient.DefaultTimeout)
	p(w, "  retries          %-52s [%d attempts, backoff %v..%v]\n",
		fmt.Sprintf("%d attempts, backoff %v..%v, jitter %.1f", s.policy.MaxAttempts,
			s.policy.BackoffInitial, s.policy.BackoffMax, httpclient.DefaultJitter),
		httpclient.DefaultMaxAttempts, httpclient.DefaultBackoffInitial, httpclient.DefaultBackoffMax)
	p(w, "  circuit breaker  %-52s [%d failures / %v]\n",
		fmt.Sprintf("opens after %d failures in a row, recovery %v", s.failureThreshold, s.recovery),
		httpclient.DefaultFailureThreshold, httpclient.DefaultRecovery)
	p(w, "phases: healthy 0s-%v, outage %v-%v (503s and connection resets), recovered %v-%v\n",
		s.outageStart, s.outageStart, s.outageEnd, s.outageEnd, s.duration)
	p(w, "upstream %s, service %s\n", upstreamURL, serviceURL)
}

func (d *demo) printReport(w io.Writer, r report) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := fmt.Fprintf
	s := d.set
	spans := [numPhases][2]time.Duration{{0, s.outageStart}, {s.outageStart, s.outageEnd}, {s.outageEnd, s.duration}}

	p(w, "\nphases (a call counts in the phase it started in):\n")
	for ph := range numPhases {
		st := r.phases[ph]
		p(w, "  %-9s %6s-%-6s calls=%-4d ok=%-4d fastfails=%-4d failed=%-4d upstream_hits=%d\n",
			phaseNames[ph], offset(spans[ph][0]), offset(spans[ph][1]),
			st.calls, st.ok, st.fastfails, st.failed, r.hits[ph])
	}

	origin := ""
	if len(d.changes) > 0 {
		origin = " of " + d.changes[0].Origin
	}
	p(w, "\nbreaker%s: state changes and probes\n", origin)
	events := slices.Clone(d.breakerLog)
	slices.SortStableFunc(events, byTime)
	if len(events) == 0 {
		p(w, "  (none)\n")
	}
	for _, e := range events {
		p(w, "  t=%-7s %-7s %s\n", offset(e.at), e.src, e.text)
	}

	totalHits := r.hits[healthy] + r.hits[outage] + r.hits[recovered]
	gaveUp := make([]string, 0, len(d.giveUps))
	for reason, n := range d.giveUps {
		gaveUp = append(gaveUp, fmt.Sprintf("%s=%d", reason, n))
	}
	slices.Sort(gaveUp)
	p(w, "\nclient: calls=%d attempts=%d retries=%d fastfails=%d gave_up_early=[%s]\n",
		r.calls, r.attempts, r.retries, r.fastfails, strings.Join(gaveUp, " "))
	p(w, "        probes=%d (at most %d in one half-open generation) admitted_while_open=%d\n",
		r.probeCount, r.maxProbes, r.admittedOpen)
	if totalHits > r.attempts {
		p(w, "        upstream hits=%d > attempts: net/http itself resends a GET once when a reused\n", totalHits)
		p(w, "        keep-alive connection is reset before any response byte, below the client's count\n")
	}
	p(w, "recovery: breaker %s at the end; the last %v: %d of %d calls ok\n",
		d.state, s.finalWindow, r.finalOK, r.finalCalls)

	if r.tracedID == "" {
		p(w, "\nno call to trace\n")
	} else {
		p(w, "\ntrace of request %s (%s): one ID from the service's inbound log line to the upstream's\n",
			r.tracedID, r.tracedWhy)
	}
	for _, e := range d.trace(r.tracedID) {
		p(w, "  t=%-7s %-8s %s\n", offset(e.at), e.src, e.text)
	}
	p(w, "\n%s\n", r.summary())
}

// trace returns every recorded line about one request ID, in time order.
// d.mu is held.
func (d *demo) trace(id string) []event {
	if id == "" {
		return nil
	}
	var out []event
	d.logs.mu.Lock()
	for _, l := range d.logs.lines {
		if strings.Contains(l.text, "request_id="+id) {
			out = append(out, event{at: d.since(l.at), src: "service", text: l.text})
		}
	}
	d.logs.mu.Unlock()
	out = append(out, d.clientTrace[id]...)
	for i, e := range d.upstream {
		if d.upstreamIDs[i] == id {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, byTime)
	return out
}

// offset formats a time offset from the start in seconds, as "2.05s".
func offset(d time.Duration) string {
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func byTime(a, b event) int { return cmp.Compare(a.at, b.at) }
