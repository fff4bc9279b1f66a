package breaker

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// State is the state of a circuit.
type State uint8

// The three states of a circuit.
const (
	// Closed admits every call and counts consecutive failures.
	Closed State = iota
	// Open refuses every call until its Until has passed.
	Open
	// HalfOpen admits one probe at a time and refuses the rest.
	HalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Outcome is what a caller reports for an admitted call.
type Outcome uint8

// The outcomes a Ticket may report.
const (
	// Success resets the consecutive-failure count; a probe's Success closes
	// the circuit.
	Success Outcome = iota
	// Failure counts towards FailureThreshold; a probe's Failure re-opens
	// the circuit.
	Failure
	// Ignore is neither, for a call whose result says nothing about the
	// upstream (the caller cancelled it, say). A probe's Ignore frees the
	// probe slot for the next Allow.
	Ignore
)

// String returns "success", "failure" or "ignore".
func (o Outcome) String() string {
	switch o {
	case Success:
		return "success"
	case Failure:
		return "failure"
	case Ignore:
		return "ignore"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Cause says why a state change happened, so that an observer can tell the
// breaker's own decisions from the operator's (a shared-state integration
// does not echo back the Trip it pushed in).
type Cause uint8

// The causes of a state change.
const (
	// CauseFailures: FailureThreshold consecutive failures opened the circuit.
	CauseFailures Cause = iota
	// CauseRecovery: the open period ended and an Allow half-opened the circuit.
	CauseRecovery
	// CauseProbeSuccess: the half-open probe succeeded and closed the circuit.
	CauseProbeSuccess
	// CauseProbeFailure: the half-open probe failed and re-opened the circuit.
	CauseProbeFailure
	// CauseProbeTimeout: the half-open probe outlived its bound and
	// re-opened the circuit.
	CauseProbeTimeout
	// CauseTrip: Breaker.Trip.
	CauseTrip
	// CauseReset: Breaker.Reset.
	CauseReset
)

// String returns a short lowercase name such as "probe-timeout".
func (c Cause) String() string {
	switch c {
	case CauseFailures:
		return "failures"
	case CauseRecovery:
		return "recovery"
	case CauseProbeSuccess:
		return "probe-success"
	case CauseProbeFailure:
		return "probe-failure"
	case CauseProbeTimeout:
		return "probe-timeout"
	case CauseTrip:
		return "trip"
	case CauseReset:
		return "reset"
	}
	return "Cause(" + strconv.Itoa(int(c)) + ")"
}

// Change describes one state change, as passed to Settings.OnStateChange.
//
// Every change starts a new generation, so Generation grows by exactly one
// from one Change to the next, and From is the previous Change's To. Trip and
// Reset start a new generation even when the state stays the same (From ==
// To).
type Change struct {
	From, To State
	// Generation is the generation of the new state.
	Generation uint64
	// At is when the change took effect: for a probe that outlived its
	// bound, its deadline; otherwise when the breaker made the change.
	At time.Time
	// Until is when the circuit half-opens, for To == Open; zero otherwise.
	Until time.Time
	// Cause says what made the change.
	Cause Cause
}

// Snapshot is a consistent view of a Breaker at one moment.
type Snapshot struct {
	// State is the state a call would meet now: HalfOpen as soon as an open
	// period has ended, even before an Allow has made the transition.
	State State
	// Generation is the current generation. Between the end of an open
	// period and the next Allow, State is HalfOpen but Generation is still
	// the open period's: the half-open generation begins with that Allow.
	Generation uint64
	// ConsecutiveFailures is the current count while Closed; 0 otherwise.
	ConsecutiveFailures int
	// Until is as OpenError.Until: when Open, when the circuit half-opens;
	// when HalfOpen with a probe in flight, that probe's deadline; zero
	// otherwise.
	Until time.Time
	// ProbeInFlight is true when HalfOpen with its probe slot taken.
	ProbeInFlight bool
}

// period is one generation of the circuit. Its state, generation, until and
// err never change after it is published, which is what lets the closed and
// open paths decide with a single atomic load of Breaker.cur. The two atomic
// fields belong to that generation alone, so a late report that reaches a
// replaced period changes nothing anyone reads (R20).
type period struct {
	state State
	gen   uint64
	until time.Time  // Open: when it half-opens
	err   *OpenError // Open: shared by every refused call

	failures atomic.Int64          // Closed: consecutive failures
	probe    atomic.Pointer[probe] // HalfOpen: the probe in flight, nil, or sealed
}

// probe is one admitted half-open call. Its address identifies it, so a
// second Done from the same ticket cannot release someone else's slot.
type probe struct {
	deadline time.Time
	err      OpenError // refusal for calls made while this probe is in flight
}

// sealed fills the probe slot of a half-open period that has been replaced,
// so that a racing Allow cannot take a probe slot in a dead generation.
var sealed = new(probe)

// Breaker is a circuit breaker. Create it with New; it is safe for
// concurrent use.
type Breaker struct {
	cfg config
	cur atomic.Pointer[period]

	// mu serialises transitions and guards the notification queue. No user
	// code (callbacks, the clock) runs while it is held.
	mu         sync.Mutex
	queue      []Change
	delivering bool
}

// New returns a closed Breaker. It returns an error wrapping
// ErrInvalidSettings, and never panics, for invalid settings.
func New(s Settings) (*Breaker, error) {
	cfg, err := s.config()
	if err != nil {
		return nil, err
	}
	b := &Breaker{cfg: cfg}
	b.cur.Store(&period{state: Closed, gen: 1})
	return b, nil
}

// Ticket is an admission granted by Allow. Report it exactly once with Done.
// It is a small value, so admitting a call allocates nothing. The zero
// Ticket, returned with an error, ignores Done.
type Ticket struct {
	b     *Breaker
	gen   uint64
	state State
	probe *probe // non-nil for the half-open probe
}

// State is the state in which the call was admitted: Closed, or HalfOpen for
// a probe.
func (t Ticket) State() State { return t.state }

// Generation is the generation in which the call was admitted.
func (t Ticket) Generation() uint64 { return t.gen }

// Probe reports whether the call was admitted as the half-open probe.
func (t Ticket) Probe() bool { return t.probe != nil }

// Allow asks to make one call. When admitted, the returned Ticket must be
// reported exactly once with Done. When the circuit is open, or half-open
// with its probe slot taken, it returns a *OpenError (errors.Is ErrOpen);
// the same pointer for the whole open period.
//
// On a closed circuit Allow is one atomic load; on an open one, an atomic
// load and a clock read. Neither allocates nor locks.
func (b *Breaker) Allow() (Ticket, error) {
	p := b.cur.Load()
	if p.state == Closed {
		return Ticket{b: b, gen: p.gen, state: Closed}, nil
	}
	return b.allowSlow(p, 0)
}

// AllowBounded is Allow with a bound for the probe: if the call is admitted
// as the half-open probe and bound passes without Done, the probe counts as
// a failure, the circuit re-opens for Recovery counted from that deadline,
// and the late Done is ignored. A bound <= 0 means Settings.ProbeTimeout.
// Outside half-open the bound is unused.
func (b *Breaker) AllowBounded(bound time.Duration) (Ticket, error) {
	p := b.cur.Load()
	if p.state == Closed {
		return Ticket{b: b, gen: p.gen, state: Closed}, nil
	}
	return b.allowSlow(p, bound)
}

func (b *Breaker) allowSlow(p *period, bound time.Duration) (Ticket, error) {
	if p.state == Open && b.before(p.until) {
		return Ticket{}, p.err // the fail-fast path reads no wall clock
	}
	now := b.cfg.now()
	if bound <= 0 {
		bound = b.cfg.probeTimeout
	}
	for {
		switch p.state {
		case Closed:
			return Ticket{b: b, gen: p.gen, state: Closed}, nil
		case Open:
			if now.Before(p.until) {
				return Ticket{}, p.err
			}
			// The first Allow after the open period half-opens the
			// circuit and is its probe, so no burst slips in between.
			pr := newProbe(now, bound, p.gen+1)
			h := &period{state: HalfOpen, gen: p.gen + 1}
			h.probe.Store(pr)
			if b.replace(p, h, Change{At: now, Cause: CauseRecovery}) {
				return Ticket{b: b, gen: h.gen, state: HalfOpen, probe: pr}, nil
			}
		case HalfOpen:
			switch pr := p.probe.Load(); {
			case pr == sealed:
				// p was replaced; reload.
			case pr == nil:
				np := newProbe(now, bound, p.gen)
				if p.probe.CompareAndSwap(nil, np) {
					return Ticket{b: b, gen: p.gen, state: HalfOpen, probe: np}, nil
				}
			case now.Before(pr.deadline):
				return Ticket{}, &pr.err
			default:
				b.expire(p, pr)
			}
		}
		p = b.cur.Load()
	}
}

func newProbe(now time.Time, bound time.Duration, gen uint64) *probe {
	d := now.Add(bound)
	return &probe{deadline: d, err: OpenError{Until: d, Generation: gen}}
}

// Done reports the outcome of the admitted call. Reports from an earlier
// generation than the current one are ignored (R20), as is a probe's report
// after its bound has passed (the probe then counts as a failure instead).
// Done on the zero Ticket does nothing.
func (t Ticket) Done(o Outcome) {
	// The common report, a success with no failures counted, is decided
	// here, small enough to inline into the caller.
	if o == Success && t.probe == nil && t.b != nil {
		if p := t.b.cur.Load(); p.gen != t.gen || p.failures.Load() == 0 {
			return
		}
	}
	t.done(o)
}

func (t Ticket) done(o Outcome) {
	b := t.b
	if b == nil {
		return
	}
	if t.probe != nil {
		b.doneProbe(t, o)
		return
	}
	p := b.cur.Load()
	if p.gen != t.gen {
		return // R20: admitted before a state change.
	}
	switch o {
	case Success:
		// Load first: the common case, no failures, then writes nothing
		// and keeps the cache line shared between cores.
		if p.failures.Load() != 0 {
			p.failures.Store(0)
		}
	case Failure:
		if p.failures.Add(1) >= b.cfg.threshold {
			now := b.cfg.now()
			b.replace(p, b.openPeriod(p.gen+1, now.Add(b.cfg.recovery)), Change{At: now, Cause: CauseFailures})
		}
	}
}

func (b *Breaker) doneProbe(t Ticket, o Outcome) {
	p := b.cur.Load()
	if p.gen != t.gen || p.probe.Load() != t.probe {
		return // R20, or a second Done for the same probe.
	}
	now := b.cfg.now()
	if !now.Before(t.probe.deadline) {
		b.expire(p, t.probe)
		return
	}
	switch o {
	case Success:
		b.replace(p, &period{state: Closed, gen: p.gen + 1}, Change{At: now, Cause: CauseProbeSuccess})
	case Failure:
		b.replace(p, b.openPeriod(p.gen+1, now.Add(b.cfg.recovery)), Change{At: now, Cause: CauseProbeFailure})
	case Ignore:
		// Only this probe's own slot: a CAS, no transition.
		p.probe.CompareAndSwap(t.probe, nil)
	}
}

// expire re-opens half-open period p whose probe pr outlived its deadline,
// for Recovery counted from that deadline.
func (b *Breaker) expire(p *period, pr *probe) {
	b.mu.Lock()
	if b.cur.Load() != p || p.probe.Load() != pr {
		b.mu.Unlock()
		return
	}
	next := b.openPeriod(p.gen+1, pr.deadline.Add(b.cfg.recovery))
	b.setLocked(p, next, Change{At: pr.deadline, Cause: CauseProbeTimeout})
	b.mu.Unlock()
	b.flush()
}

func (b *Breaker) openPeriod(gen uint64, until time.Time) *period {
	return &period{state: Open, gen: gen, until: until, err: &OpenError{Until: until, Generation: gen}}
}

// replace makes next current if p still is, and reports whether it did.
// Every transition but the forced ones goes through here: the re-check
// under the lock is what makes racing transitions from one generation
// produce exactly one new generation.
func (b *Breaker) replace(p, next *period, ch Change) bool {
	b.mu.Lock()
	if b.cur.Load() != p {
		b.mu.Unlock()
		return false
	}
	b.setLocked(p, next, ch)
	b.mu.Unlock()
	b.flush()
	return true
}

// setLocked publishes next in place of old and queues its Change. b.mu is held.
func (b *Breaker) setLocked(old, next *period, ch Change) {
	if old.state == HalfOpen {
		// Seal before publishing: a probe CAS that beats the seal was
		// admitted while old was still current. A reader that sees the
		// seal reloads cur and at worst spins until the next line.
		old.probe.Store(sealed)
	}
	b.cur.Store(next)
	if b.cfg.onChange == nil {
		return
	}
	ch.From, ch.To, ch.Generation = old.state, next.state, next.gen
	if next.state == Open {
		ch.Until = next.until
	}
	b.queue = append(b.queue, ch)
}

// Trip forces the circuit open until the given time, in a new generation,
// whatever its state. An until already past makes the next Allow half-open
// the circuit. It is the seam for shared state: an integration that learns
// of a remote trip pushes it in here.
func (b *Breaker) Trip(until time.Time) {
	now := b.cfg.now()
	b.force(b.openPeriod(0, until), Change{At: now, Cause: CauseTrip})
}

// Reset forces the circuit closed with its failure count cleared, in a new
// generation, whatever its state. Calls admitted before it report into a
// past generation and are ignored.
func (b *Breaker) Reset() {
	now := b.cfg.now()
	b.force(&period{state: Closed}, Change{At: now, Cause: CauseReset})
}

// force publishes next, whose generation it fills in under the lock.
func (b *Breaker) force(next *period, ch Change) {
	b.mu.Lock()
	old := b.cur.Load()
	next.gen = old.gen + 1
	if next.err != nil {
		next.err.Generation = next.gen
	}
	b.setLocked(old, next, ch)
	b.mu.Unlock()
	b.flush()
}

// State returns the state a call would meet now; see Snapshot.
func (b *Breaker) State() State {
	return b.Snapshot().State
}

// Snapshot returns the current state. A half-open probe past its bound is
// counted as a failure here, as in Allow (that transition is made and
// notified). The end of an open period is not: Snapshot reports HalfOpen
// but leaves the transition, and its new generation, to the next Allow,
// which becomes the probe.
func (b *Breaker) Snapshot() Snapshot {
	now := b.cfg.now()
	for {
		p := b.cur.Load()
		switch p.state {
		case Closed:
			return Snapshot{State: Closed, Generation: p.gen, ConsecutiveFailures: int(p.failures.Load())}
		case Open:
			if now.Before(p.until) {
				return Snapshot{State: Open, Generation: p.gen, Until: p.until}
			}
			return Snapshot{State: HalfOpen, Generation: p.gen}
		case HalfOpen:
			switch pr := p.probe.Load(); {
			case pr == sealed:
				continue
			case pr == nil:
				return Snapshot{State: HalfOpen, Generation: p.gen}
			case now.Before(pr.deadline):
				return Snapshot{State: HalfOpen, Generation: p.gen, Until: pr.deadline, ProbeInFlight: true}
			default:
				b.expire(p, pr)
			}
		}
	}
}
