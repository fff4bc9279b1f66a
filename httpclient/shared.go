package httpclient

import (
	"context"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// SharedBreakers shares the client's circuit breakers with other replicas
// of the service, through a store such as the redisstore module's (R72).
// It takes part in the two decisions that matter: an opened circuit is
// published, so that every replica opens at once, and half-open is
// fleet-wide, so that exactly one replica probes. The success path of a
// closed breaker never calls it.
//
// Every method is called outside the client's locks and must not block
// for long: Opened, Closed and Learn only queue work for the store's own
// goroutine; Probe is one bounded round trip, on a probe's path only.
type SharedBreakers interface {
	// Opened publishes that origin's circuit opened here, for d (the
	// break that remains, so that clock skew between hosts does not
	// stretch or cut it).
	Opened(origin string, d time.Duration)
	// Closed publishes that a probe closed origin's circuit here.
	Closed(origin string)
	// Probe asks for the fleet's one probe of origin, held for at most
	// ttl: true means this replica probes. A store that cannot answer in
	// time says true: the breaker then runs local-only.
	Probe(ctx context.Context, origin string, ttl time.Duration) bool
	// Learn asks, without waiting, for origin's state as the fleet knows
	// it; the answer comes through the function given to Watch. The client
	// calls it once per origin state, on its first use.
	Learn(origin string)
	// Watch gives the store the function through which it reports what
	// other replicas did: origin opened, for d, or (open false) closed.
	// The client calls it once, in New; the store calls f from its own
	// goroutine.
	Watch(f func(origin string, open bool, d time.Duration))
}

// WithSharedBreakers shares the client's breakers with other replicas
// through s (R72). Off by default. The breaker must be on.
func WithSharedBreakers(s SharedBreakers) Option {
	return func(c *config) { c.shared = s }
}

// publish tells the store of a change the breaker made here: a circuit
// opened by its own failures, re-opened by a failed probe, or closed by a
// probe. Trips and resets are not published: they are what the store
// delivers (and what the operator controls make, which stay local).
func (c *Client) publish(origin string, ch breaker.Change) {
	switch {
	case ch.To == breaker.Open && ch.Cause != breaker.CauseTrip:
		d := time.Until(ch.Until)
		if d <= 0 {
			return
		}
		c.safely("SharedBreakers.Opened", func() { c.shared.Opened(origin, d) })
	case ch.To == breaker.Closed && ch.Cause == breaker.CauseProbeSuccess:
		c.safely("SharedBreakers.Closed", func() { c.shared.Closed(origin) })
	}
}

// remote applies what another replica did to origin's breaker here, if
// this client keeps state for origin (one it has not used learns on first
// use). An open circuit is tripped for d unless it is open longer
// already; a closed one is reset unless it is closed.
func (c *Client) remote(origin string, open bool, d time.Duration) {
	br := c.reg.peek(origin)
	if br == nil {
		return
	}
	snap := br.Snapshot()
	if open {
		until := time.Now().Add(d)
		if d > 0 && !(snap.State == breaker.Open && !snap.Until.Before(until)) {
			br.Trip(until)
		}
		return
	}
	if snap.State != breaker.Closed {
		br.Reset()
	}
}

// learn asks the store, once per origin state, for the fleet's view of
// origin. One atomic load per call otherwise.
func (c *Client) learn(st *originState) {
	if c.shared == nil || st.learned.Load() || st.learned.Swap(true) {
		return
	}
	c.safely("SharedBreakers.Learn", func() { c.shared.Learn(st.origin) })
}

// sharedProbe asks the store whether this replica may probe with ticket
// (a half-open probe): when another replica probes, the ticket is given
// back, the circuit is held open here until the other's probe is due,
// and the attempt fails fast as on an open circuit.
func (h *hop) sharedProbe(ticket breaker.Ticket) (breaker.Ticket, error) {
	c := h.c
	ttl := h.bound
	if ttl <= 0 {
		ttl = c.breaker.ProbeTimeout
	}
	if ttl <= 0 {
		ttl = c.breaker.Recovery
	}
	if ttl <= 0 {
		ttl = breaker.DefaultRecovery
	}
	if !c.askProbe(h.ctx, h.st.origin, ttl) {
		ticket.Done(breaker.Ignore)
		h.st.br.Trip(time.Now().Add(ttl))
		if oe := h.st.br.Peek(); oe != nil {
			return breaker.Ticket{}, oe
		}
		return h.st.br.AllowBounded(h.bound) // the trip ended already: ask again
	}
	return ticket, nil
}

// askProbe asks the store for the fleet's probe, but waits for it no
// longer than ttl and the caller's deadline: a store that does not answer
// in time (it should be bounded by ctx, and may not be) leaves this probe
// local-only. The question runs on a goroutine of its own, which a store
// that never answers keeps: one per probe, so one per recovery period and
// origin at most.
func (c *Client) askProbe(ctx context.Context, origin string, ttl time.Duration) bool {
	limit := ttl
	if dl, ok := ctx.Deadline(); ok {
		limit = min(limit, time.Until(dl))
	}
	answer := make(chan bool, 1)
	go func() {
		mine := true
		c.safely("SharedBreakers.Probe", func() { mine = c.shared.Probe(ctx, origin, ttl) })
		answer <- mine
	}()
	t := time.NewTimer(max(limit, 0))
	defer t.Stop()
	select {
	case mine := <-answer:
		return mine
	case <-t.C:
		return true
	case <-ctx.Done():
		return true // the attempt ends with the caller's context
	}
}
