// Package breaker is a circuit breaker: a small state machine that stops
// calls to an upstream that keeps failing, and lets one call through now and
// then to see whether it has recovered. It is safe for concurrent use and
// has no goroutines or timers of its own. The Tempest HTTP client keeps one
// Breaker per origin (R16); the package is usable on its own.
//
// # States
//
// A circuit is in one of three states:
//
//   - Closed: every call is admitted. Consecutive failures are counted; a
//     success resets the count. FailureThreshold consecutive failures open
//     the circuit (R18).
//   - Open: every call fails at once with a *OpenError (errors.Is ErrOpen)
//     until Recovery has passed.
//   - HalfOpen: the first Allow after the open period half-opens the circuit
//     and is admitted as its probe. Exactly one probe is in flight at a time;
//     other calls fail fast (R19). The probe's success closes the circuit;
//     its failure re-opens it for Recovery; Ignore frees the slot for the
//     next Allow. A probe left unanswered past its bound (ProbeTimeout, or
//     the bound given to AllowBounded) counts as a failure: the circuit
//     re-opens for Recovery counted from the probe's deadline. This is
//     noticed lazily, by the next Allow, Done or Snapshot.
//
// # Two steps: Allow, then Done
//
// Allow admits a call and returns a Ticket; the caller makes the call and
// reports its Outcome with Ticket.Done exactly once. Two steps fit a retry
// loop inside an http.RoundTripper, and let a call the caller cancelled
// report Ignore: neither success nor failure.
//
//	t, err := b.Allow()
//	if err != nil {
//		return err // *OpenError: fail fast
//	}
//	resp, err := call()
//	t.Done(classify(resp, err))
//
// # Generations
//
// Every state change starts a new generation, and a Ticket remembers the
// generation that admitted it. A Done from an older generation is ignored
// (R20): a slow success admitted while closed cannot close a circuit that
// has opened since, a late probe result cannot move a newer state, and a
// failure from before a Reset does not count after it.
//
// # Cost
//
// The breaker sits on every outbound call, so the common paths neither lock
// nor allocate. The current generation is a record behind one atomic
// pointer: its state, generation, Until and *OpenError never change, and it
// carries its own failure count and probe slot, so a report that arrives
// after the generation ended cannot touch the next one. Allow on a closed
// circuit is one atomic load; Done(Success) loads that pointer to check the
// generation, then the failure count, and stores only when the count was not
// zero; Done(Failure) is an atomic add. Allow on an open circuit is an atomic
// load and a clock read, and returns the *OpenError allocated once for that
// open period. Only transitions take a mutex, and they re-check that the
// generation they start from is still current.
//
// # Notifications and shared state
//
// Settings.OnStateChange receives a Change for every new generation, in
// order, one call at a time, never under a lock (R22): it may call back into
// the Breaker. A panic in it is recovered and passed to Settings.OnPanic.
//
// Trip and Reset force a state in a new generation. Together with
// OnStateChange they are the seam for shared state: an integration (Redis,
// say) publishes the changes it is told about and pushes remote trips in
// with Trip; Change.Cause tells it which changes it caused itself.
package breaker
