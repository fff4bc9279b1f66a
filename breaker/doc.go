// Package breaker is a circuit breaker: a small state machine that stops
// calls to an upstream that keeps failing, and lets a few calls through now
// and then to see whether it has recovered. It is safe for concurrent use
// and has no goroutines or timers of its own. The Tempest HTTP client keeps
// one Breaker per origin; the package is usable on its own.
//
// # States
//
// A circuit is in one of three states:
//
//   - Closed: every call is admitted, and outcomes are counted (see Modes).
//     When they say so, the circuit opens.
//   - Open: every call fails at once with a *OpenError (errors.Is ErrOpen)
//     until the break is over: Recovery, or longer with growth (see
//     Repeated breaks).
//   - HalfOpen: the first Allow after the open period half-opens the circuit
//     and is admitted as its probe. Settings.HalfOpenProbes probes (default
//     one) are admitted; other calls fail fast. A probe that succeeds
//     keeps its slot, so a half-open period lets exactly HalfOpenProbes
//     calls through; when they have all succeeded the circuit closes. The
//     first probe that fails re-opens it; Ignore frees that probe's slot for
//     the next Allow. A probe left unanswered past its bound (ProbeTimeout,
//     or the bound given to AllowBounded) counts as a failure: the circuit
//     re-opens counted from the probe's deadline, so a stuck probe cannot
//     keep the circuit half-open. With several probes this holds for each:
//     the first deadline to pass ends the half-open period. It is noticed
//     lazily, by the next Allow or Done; State and Snapshot report it
//     without making it, as queries never move the circuit.
//
// # Modes
//
// Consecutive mode, the default: FailureThreshold consecutive failures open
// the circuit; a success resets the count. It costs nothing on the success
// path and suits an origin that fails all at once.
//
// Ratio mode (Settings.FailureRatio > 0): the circuit opens when, over the
// last Window, at least MinimumThroughput outcomes were reported and the
// share of failures among them is at least FailureRatio. The ratio is
// evaluated on each failure, never on a success. The window is kept as 10
// buckets of Window/10, so an outcome leaves it between 0.9 and 1.0 Window
// after it was reported; a report is a clock read (the monotonic clock only,
// with the real clock) and atomic adds on one bucket, no lock and no
// allocation. A window belongs to its closed period: after the circuit
// closes again, or a Reset, counting starts afresh.
//
// Defaults, and why they are not .NET's. Microsoft's standard resilience
// handler opens at a failure ratio of 0.1 with at least 100 calls in a 30s
// sampling window, for a 5s break. Those numbers suit a server-side
// pipeline in front of a busy dependency. This breaker sits in a client, one
// per origin, and counts attempts. 100 attempts in 30s is over 3 a second:
// an origin with less traffic than that is never judged, however dead it
// is. And a 10% failure rate is a blip that the client's retries absorb;
// opening for it would turn a mostly working upstream into one that fails
// every call. So MinimumThroughput defaults to 20 and Window to 10s (2
// attempts a second; while an upstream is down each call makes up to 3
// attempts, so about one call a second is enough), and 0.5 is the
// FailureRatio we suggest: a real outage of a low-traffic dependency opens
// the circuit within seconds, a 10% blip never does. FailureRatio itself
// has no default: 0 selects consecutive mode, which judges origins of any
// traffic. Recovery stays 30s, the client's default: a shorter break mostly
// adds probes against an upstream that is still down. Who wants .NET's
// quick first probe sets Recovery to 5s and MaxRecovery to a minute or so,
// so that the breaks lengthen while the upstream stays down.
//
// Slow calls (Settings.SlowCall, both modes): report with Ticket.DoneTimed,
// passing how long the call took to be decided (for HTTP, until its
// response headers); a Success slower than SlowCall counts as a
// Failure, probes included. An upstream that answers, but too slowly to be
// useful, then trips the circuit like one that fails (resilience4j's
// slow-call rate).
//
// # Repeated breaks
//
// Without Settings.MaxRecovery every break lasts Recovery. With MaxRecovery
// above Recovery, consecutive failed (or timed-out) probes lengthen the
// break: the k-th re-opens for min(MaxRecovery, Recovery*2^(k-1)),
// shortened at random by up to 20% but never below Recovery. The first
// failed probe re-opens for exactly Recovery; from the second on, an
// upstream that stays down is probed less and less often, and the jitter
// spreads the probes of many clients that lost it at the same moment.
// Snapshot.Breaks is the count; it resets when the circuit closes, and on
// Reset.
//
// # Two steps: Allow, then Done
//
// Allow admits a call and returns a Ticket; the caller makes the call and
// reports its Outcome with Ticket.Done (or Ticket.DoneTimed) exactly once.
// Two steps fit a retry loop inside an http.RoundTripper, and let a call the
// caller cancelled report Ignore: neither success nor failure.
//
//	t, err := b.Allow()
//	if err != nil {
//		return err // *OpenError: fail fast
//	}
//	start := time.Now()
//	resp, err := call()
//	t.DoneTimed(classify(resp, err), time.Since(start))
//
// # Generations
//
// Every state change starts a new generation, and a Ticket remembers the
// generation that admitted it. A Done from an older generation is ignored:
// a slow success admitted while closed cannot close a circuit that
// has opened since, a late probe result cannot move a newer state, and a
// failure from before a Reset does not count after it.
//
// # Cost
//
// The breaker sits on every outbound call, so the common paths neither lock
// nor allocate. The current generation is a record behind one atomic
// pointer: its state, generation, Until and *OpenError never change, and it
// carries its own failure count, window and probe slots, so a report that
// arrives after the generation ended cannot touch the next one. Allow on a
// closed circuit is one atomic load; Done(Success) in consecutive mode loads
// that pointer to check the generation, then the failure count, and stores
// only when the count was not zero; Done(Failure) is an atomic add. In
// ratio mode Done adds a monotonic clock read and atomic adds on a bucket
// (a Failure also sums the 10 buckets). Allow on an open circuit, or on a
// half-open one with all probe slots taken, is an atomic load and a
// monotonic clock read, and returns a *OpenError allocated once for that
// period (or probe). Only transitions take a mutex, and they re-check that
// the generation they start from is still current.
//
// # Notifications and shared state
//
// Settings.OnStateChange receives a Change for every new generation, in
// order, one call at a time, never under a lock: it may call back into
// the Breaker. A panic in it is recovered and passed to Settings.OnPanic.
//
// Trip and Reset force a state in a new generation. Together with
// OnStateChange they are the seam for shared state: an integration (Redis,
// say) publishes the changes it is told about and pushes remote trips in
// with Trip; Change.Cause tells it which changes it caused itself.
package breaker
