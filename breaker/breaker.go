package breaker

import (
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tempestsdk/tempest/internal/window"
)

// State is the state of a circuit.
type State uint8

// The three states of a circuit.
const (
	// Closed admits every call and counts consecutive failures.
	Closed State = iota
	// Open refuses every call until its Until has passed.
	Open
	// HalfOpen admits Settings.HalfOpenProbes probes (default one) and
	// refuses the rest.
	HalfOpen
)

// MarshalText returns String's text, so that a State reads as a word in JSON
// and logs.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

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
	// Success resets the consecutive-failure count (ratio mode: counts a
	// call); a probe's Success closes the circuit, or with HalfOpenProbes
	// > 1 counts towards closing it.
	Success Outcome = iota
	// Failure counts towards FailureThreshold (ratio mode: counts a failed
	// call and evaluates the ratio); a probe's Failure re-opens the circuit.
	Failure
	// Ignore is neither, for a call whose result says nothing about the
	// upstream (the caller cancelled it, say). A probe's Ignore frees its
	// own probe slot for the next Allow.
	Ignore
)

// MarshalText returns String's text, so that an Outcome reads as a word in JSON
// and logs.
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

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
	// CauseProbeSuccess: the half-open probe succeeded (all HalfOpenProbes
	// of them) and closed the circuit.
	CauseProbeSuccess
	// CauseProbeFailure: a half-open probe failed and re-opened the circuit.
	CauseProbeFailure
	// CauseProbeTimeout: a half-open probe outlived its bound and re-opened
	// the circuit.
	CauseProbeTimeout
	// CauseTrip: Breaker.Trip.
	CauseTrip
	// CauseReset: Breaker.Reset.
	CauseReset
	// CauseFailureRatio: in ratio mode, the share of failures over the
	// window reached FailureRatio and opened the circuit.
	CauseFailureRatio
)

// MarshalText returns String's text, so that a Cause reads as a word in JSON
// and logs.
func (c Cause) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

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
	case CauseFailureRatio:
		return "failure-ratio"
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
	From State `json:"from"`
	To   State `json:"to"`
	// Generation is the generation of the new state.
	Generation uint64 `json:"generation"`
	// At is when the change took effect: for a probe that outlived its
	// bound, its deadline; otherwise when the breaker made the change.
	At time.Time `json:"at"`
	// Until is when the circuit half-opens, for To == Open; zero otherwise.
	Until time.Time `json:"until,omitzero"`
	// Cause says what made the change.
	Cause Cause `json:"cause"`
}

// Snapshot is a consistent view of a Breaker at one moment. It marshals to
// JSON with snake_case names, its State as text, and no Until when zero,
// for a health or debug endpoint.
type Snapshot struct {
	// State is the state a call would meet now: HalfOpen as soon as an open
	// period has ended, even before an Allow has made the transition.
	State State `json:"state"`
	// Generation is the current generation. Between the end of an open
	// period and the next Allow, State is HalfOpen but Generation is still
	// the open period's: the half-open generation begins with that Allow.
	Generation uint64 `json:"generation"`
	// ConsecutiveFailures is the current count while Closed in consecutive
	// mode; 0 otherwise.
	ConsecutiveFailures int `json:"consecutive_failures"`
	// Until is as OpenError.Until: when Open, when the circuit half-opens;
	// when HalfOpen with a probe in flight, the earliest deadline of the
	// probes in flight; zero otherwise.
	Until time.Time `json:"until,omitzero"`
	// ProbeInFlight is true when HalfOpen with at least one probe in flight
	// (ProbesInFlight > 0).
	ProbeInFlight bool `json:"probe_in_flight"`
	// Calls and Failures are the outcomes counted while Closed: in ratio
	// mode, the calls (successes and failures) and failures in the current
	// window; in consecutive mode, Calls is 0 and Failures is
	// ConsecutiveFailures. Both are 0 when not Closed.
	Calls    int `json:"calls"`
	Failures int `json:"failures"`
	// ProbesInFlight is the number of half-open probes admitted and not yet
	// reported (probes that succeeded keep their slot but are not counted).
	ProbesInFlight int `json:"probes_in_flight"`
	// Breaks is the number of consecutive failed (or timed-out) probes so
	// far, which sets the length of the next break when
	// Settings.MaxRecovery is set. It is 0 when Closed.
	Breaks int `json:"breaks"`
	// LastChange is the last change the breaker made, nil before its
	// first. A change a call would make now (State reported HalfOpen as an
	// open period ends, say) is not in it until it is made. It is shared:
	// do not modify it.
	LastChange *Change `json:"last_change,omitempty"`
}

// period is one generation of the circuit. Its state, generation, until,
// err, breaks, win and slots never change after it is published, which is
// what lets the closed and open paths decide with a single atomic load of
// Breaker.cur. The atomic fields belong to that generation alone, so a late
// report that reaches a replaced period changes nothing anyone reads (R20).
type period struct {
	state  State
	gen    uint64
	until  time.Time      // Open: when it half-opens
	err    *OpenError     // Open: shared by every refused call
	breaks int            // Open, HalfOpen: consecutive failed probes so far
	win    *window.Window // Closed in ratio mode: calls (a) and failures (b)
	change *Change        // the change that made this period; nil for the first

	failures atomic.Int64             // Closed, consecutive mode: consecutive failures
	slots    []atomic.Pointer[probe]  // HalfOpen: each a probe in flight, nil, passed or sealed
	passes   atomic.Int64             // HalfOpen: probes that succeeded
	one      [1]atomic.Pointer[probe] // slots when HalfOpenProbes is 1: no second allocation
}

// probe is one admitted half-open call. Its address identifies it, so a
// second Done from the same ticket cannot release someone else's slot.
type probe struct {
	deadline time.Time
	slot     int       // its index in period.slots
	err      OpenError // refusal for calls made while this probe is in flight
}

// sealed fills the probe slots of a half-open period that has been replaced,
// so that a racing Allow cannot take a probe slot in a dead generation.
// passed fills the slot of a probe that succeeded: it stays taken, so a
// half-open period admits HalfOpenProbes probes in all, not a stream of them.
var sealed, passed = new(probe), new(probe)

// Breaker is a circuit breaker. Create it with New, or with a Template's New
// when there are many of one configuration; it is safe for concurrent use.
type Breaker struct {
	cfg      *config // shared by the breakers of one Template
	onChange func(Change)
	cur      atomic.Pointer[period]
	epoch    time.Time // ratio mode: bucket numbers count from here (with a monotonic reading for time.Now)
	seed     uint64    // growth: the jitter of each break (breakFor)

	// mu serialises transitions and guards the notification queue. No user
	// code (callbacks, the clock) runs while it is held.
	mu         sync.Mutex
	queue      []Change
	delivering bool
}

// New returns a closed Breaker. It returns an error wrapping
// ErrInvalidSettings, and never panics, for invalid settings.
func New(s Settings) (*Breaker, error) {
	t, err := NewTemplate(s)
	if err != nil {
		return nil, err
	}
	return t.New(nil), nil
}

// A Template makes breakers of one Settings that share one validated copy of
// them, for a program that keeps a breaker per key (per origin, per
// tenant): each breaker then holds its own state and its own OnStateChange,
// not the settings again. It is safe for concurrent use. The zero Template
// makes breakers of the zero Settings, the defaults.
type Template struct {
	cfg *config
}

// defaultConfig is the zero Settings' configuration.
var defaultConfig = sync.OnceValue(func() *config {
	cfg, _ := Settings{}.config() // the zero Settings are valid
	return &cfg
})

// NewTemplate validates s as New does and returns a Template of it.
func NewTemplate(s Settings) (*Template, error) {
	cfg, err := s.config()
	if err != nil {
		return nil, err
	}
	return &Template{cfg: &cfg}, nil
}

// New returns a closed Breaker of the template's settings. onChange, when
// not nil, is its OnStateChange in place of the settings' own.
func (t *Template) New(onChange func(Change)) *Breaker {
	cfg := defaultConfig()
	if t != nil && t.cfg != nil {
		cfg = t.cfg
	}
	b := &Breaker{cfg: cfg, onChange: cfg.onChange}
	if onChange != nil {
		b.onChange = onChange
	}
	if cfg.maxRecovery > 0 {
		b.seed = rand.Uint64()
	}
	if cfg.ratioMode() {
		b.epoch = cfg.now()
	}
	b.cur.Store(b.closedPeriod(1))
	return b
}

// closedPeriod returns a new closed period: a zero failure count, and in
// ratio mode an empty window.
func (b *Breaker) closedPeriod(gen uint64) *period {
	p := &period{state: Closed, gen: gen}
	if b.cfg.ratioMode() {
		p.win = new(window.Window)
	}
	return p
}

// halfOpenPeriod returns a new half-open period following open period p,
// with its first probe slot taken by pr.
func (b *Breaker) halfOpenPeriod(p *period, pr *probe) *period {
	h := &period{state: HalfOpen, gen: p.gen + 1, breaks: p.breaks}
	if b.cfg.probes == 1 {
		h.slots = h.one[:]
	} else {
		h.slots = make([]atomic.Pointer[probe], b.cfg.probes)
	}
	h.slots[0].Store(pr)
	return h
}

// Ticket is an admission granted by Allow. Report it exactly once, with Done
// or DoneTimed.
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

// Probe reports whether the call was admitted as a half-open probe.
func (t Ticket) Probe() bool { return t.probe != nil }

// Allow asks to make one call. When admitted, the returned Ticket must be
// reported exactly once with Done. When the circuit is open, or half-open
// with all its probe slots taken, it returns a *OpenError (errors.Is
// ErrOpen); the same pointer for the whole open period.
//
// On a closed circuit Allow is one atomic load; on an open one, an atomic
// load and a clock read. Neither allocates nor locks.
func (b *Breaker) Allow() (Ticket, error) { return b.AllowBounded(0) }

// AllowBounded is Allow with a bound for the probe: if the call is admitted
// as a half-open probe and bound passes without Done, the probe counts as
// a failure, the circuit re-opens (for Recovery, or longer with growth)
// counted from that deadline, and the late Done is ignored. A bound <= 0 means Settings.ProbeTimeout.
// Outside half-open the bound is unused.
func (b *Breaker) AllowBounded(bound time.Duration) (Ticket, error) {
	p := b.cur.Load()
	if p.state == Closed {
		return Ticket{b: b, gen: p.gen, state: Closed}, nil
	}
	return b.allowSlow(p, bound)
}

func (b *Breaker) allowSlow(p *period, bound time.Duration) (Ticket, error) {
	if oe := b.peek(p); oe != nil {
		return Ticket{}, oe // the fail-fast paths read no wall clock
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
			// circuit and is its (first) probe, so no burst slips in
			// between.
			pr := newProbe(now, bound, p.gen+1, 0)
			h := b.halfOpenPeriod(p, pr)
			if b.replace(p, h, Change{At: now, Cause: CauseRecovery}) {
				return Ticket{b: b, gen: h.gen, state: HalfOpen, probe: pr}, nil
			}
		case HalfOpen:
			first, free, _, live := p.scan()
			switch {
			case !live:
				// p was replaced; reload.
			case first != nil && !now.Before(first.deadline):
				b.expire(p, first)
			case free >= 0:
				np := newProbe(now, bound, p.gen, free)
				if p.slots[free].CompareAndSwap(nil, np) {
					return Ticket{b: b, gen: p.gen, state: HalfOpen, probe: np}, nil
				}
			case first != nil:
				return Ticket{}, &first.err
			default:
				// Every slot has passed: the last probe's Done is
				// closing the circuit. Let it.
				runtime.Gosched()
			}
		}
		p = b.cur.Load()
	}
}

// scan looks at the probe slots of half-open period p. It returns the probe
// in flight with the earliest deadline (nil if none), the index of a free
// slot (-1 if none), the number of probes in flight, and live = false when
// p has been replaced (sealed).
func (p *period) scan() (first *probe, free, inFlight int, live bool) {
	free = -1
	for i := range p.slots {
		switch pr := p.slots[i].Load(); pr {
		case sealed:
			return nil, -1, 0, false
		case nil:
			if free < 0 {
				free = i
			}
		case passed:
		default:
			inFlight++
			if first == nil || pr.deadline.Before(first.deadline) {
				first = pr
			}
		}
	}
	return first, free, inFlight, true
}

func newProbe(now time.Time, bound time.Duration, gen uint64, slot int) *probe {
	d := now.Add(bound)
	return &probe{deadline: d, slot: slot, err: OpenError{Until: d, Generation: gen}}
}

// Done reports the outcome of the admitted call. Reports from an earlier
// generation than the current one are ignored, as is a probe's report
// after its bound, or another probe's, has passed (the probe then counts as
// a failure instead). Done on the zero Ticket does nothing.
func (t Ticket) Done(o Outcome) {
	// The common report, a success with no failures counted, is decided
	// here without a call.
	if o == Success && t.probe == nil && t.b != nil {
		if p := t.b.cur.Load(); p.gen != t.gen || p.win == nil && p.failures.Load() == 0 {
			return
		}
	}
	t.done(o)
}

// DoneTimed is Done with the slow-call rule (Settings.SlowCall): a Success
// whose elapsed time exceeds SlowCall is reported as a Failure. Elapsed is
// how long the call took to be decided: for HTTP, from sending the request
// to its response headers. Without SlowCall it is Done.
func (t Ticket) DoneTimed(o Outcome, elapsed time.Duration) {
	if o == Success && t.b != nil && t.b.cfg.slowCall > 0 && elapsed > t.b.cfg.slowCall {
		o = Failure
	}
	t.Done(o)
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
	if p.win != nil {
		b.doneRatio(p, o)
		return
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
			b.replace(p, b.openPeriod(p.gen+1, now.Add(b.cfg.recovery), 0), Change{At: now, Cause: CauseFailures})
		}
	}
}

// doneRatio counts a closed call's outcome in ratio mode. A success is a
// clock read and atomic adds; a failure also sums the window and may open
// the circuit.
func (b *Breaker) doneRatio(p *period, o Outcome) {
	if o == Ignore {
		return
	}
	e := b.bucketNow()
	var f int64
	if o == Failure {
		f = 1
	}
	p.win.Add(e, 1, f)
	if o != Failure {
		return
	}
	if calls, failures := p.win.Sum(e); b.cfg.tripsRatio(calls, failures) {
		now := b.cfg.now()
		b.replace(p, b.openPeriod(p.gen+1, now.Add(b.cfg.recovery), 0), Change{At: now, Cause: CauseFailureRatio})
	}
}

func (b *Breaker) doneProbe(t Ticket, o Outcome) {
	p, pr := b.cur.Load(), t.probe
	if p.gen != t.gen || p.slots[pr.slot].Load() != pr {
		return // R20, or a second Done for the same probe.
	}
	now := b.cfg.now()
	// Any probe past its bound, this one or another, ended p at its deadline.
	first, _, _, live := p.scan()
	if !live || first == nil {
		return // replaced, or pr reported meanwhile by a racing second Done
	}
	if !now.Before(first.deadline) {
		b.expire(p, first)
		return
	}
	switch o {
	case Success:
		// The slot stays taken. The CAS makes a repeated Done count once.
		if p.slots[pr.slot].CompareAndSwap(pr, passed) && p.passes.Add(1) == int64(len(p.slots)) {
			b.replace(p, b.closedPeriod(p.gen+1), Change{At: now, Cause: CauseProbeSuccess})
		}
	case Failure:
		b.replace(p, b.reopen(p, now), Change{At: now, Cause: CauseProbeFailure})
	case Ignore:
		// Only this probe's own slot: a CAS, no transition.
		p.slots[pr.slot].CompareAndSwap(pr, nil)
	}
}

// expire re-opens half-open period p whose probe pr outlived its deadline,
// counted from that deadline.
func (b *Breaker) expire(p *period, pr *probe) {
	b.mu.Lock()
	if b.cur.Load() != p || p.slots[pr.slot].Load() != pr {
		b.mu.Unlock()
		return
	}
	b.setLocked(p, b.reopen(p, pr.deadline), Change{At: pr.deadline, Cause: CauseProbeTimeout})
	b.mu.Unlock()
	b.flush()
}

// reopen returns the open period that follows half-open period p when one
// of its probes failed at from: one more consecutive break, as long as
// breakFor says.
func (b *Breaker) reopen(p *period, from time.Time) *period {
	k := p.breaks + 1
	return b.openPeriod(p.gen+1, from.Add(b.cfg.breakFor(k, b.seed, p.gen+1)), k)
}

func (b *Breaker) openPeriod(gen uint64, until time.Time, breaks int) *period {
	return &period{state: Open, gen: gen, until: until, breaks: breaks, err: &OpenError{Until: until, Generation: gen}}
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
		for i := range old.slots {
			old.slots[i].Store(sealed)
		}
	}
	ch.From, ch.To, ch.Generation = old.state, next.state, next.gen
	if next.state == Open {
		ch.Until = next.until
	}
	next.change = &ch // before publishing: a period never changes after
	b.cur.Store(next)
	if b.onChange == nil {
		return
	}
	b.queue = append(b.queue, ch)
}

// Trip forces the circuit open until the given time, in a new generation,
// whatever its state. An until already past makes the next Allow half-open
// the circuit. It is the seam for shared state: an integration that learns
// of a remote trip pushes it in here. It leaves the count of consecutive
// failed probes (Snapshot.Breaks) as it is.
func (b *Breaker) Trip(until time.Time) {
	now := b.cfg.now()
	b.force(b.openPeriod(0, until, 0), Change{At: now, Cause: CauseTrip})
}

// Reset forces the circuit closed with its counts cleared (failures, the
// ratio window, consecutive failed probes), in a new generation, whatever
// its state. Calls admitted before it report into a past generation and are
// ignored.
func (b *Breaker) Reset() {
	now := b.cfg.now()
	b.force(b.closedPeriod(0), Change{At: now, Cause: CauseReset})
}

// force publishes next, whose generation (and for an open period, count of
// breaks) it fills in under the lock.
func (b *Breaker) force(next *period, ch Change) {
	b.mu.Lock()
	old := b.cur.Load()
	next.gen = old.gen + 1
	if next.err != nil {
		next.err.Generation = next.gen
		next.breaks = old.breaks
	}
	b.setLocked(old, next, ch)
	b.mu.Unlock()
	b.flush()
}

// State returns the state a call would meet now; see Snapshot. It does not
// mutate the Breaker.
func (b *Breaker) State() State {
	return b.Snapshot().State
}

// Snapshot returns the state a call would meet now. It is a pure read: it
// makes no transition and runs no callback, so it is safe to call from
// OnStateChange, from under the caller's own locks, and from a sweep.
// Transitions are made only by Allow, Done, Trip and Reset.
//
// Two transitions may be due and not yet made; Snapshot reports their
// outcome. When an open period has ended, it reports HalfOpen in the open
// period's generation: the half-open generation begins with the next Allow,
// which becomes the probe. When a half-open probe has outlived its bound, it
// reports the open period that the next Allow or Done will start from the
// probe's deadline, with that period's generation, Until and Breaks,
// or HalfOpen if that period has ended too.
func (b *Breaker) Snapshot() Snapshot {
	now := b.cfg.now()
	for {
		p := b.cur.Load()
		switch p.state {
		case Closed:
			s := Snapshot{State: Closed, Generation: p.gen, LastChange: p.change}
			if p.win != nil {
				calls, failures := p.win.Sum(b.bucketAt(now))
				s.Calls, s.Failures = int(calls), int(failures)
			} else {
				s.ConsecutiveFailures = int(p.failures.Load())
				s.Failures = s.ConsecutiveFailures
			}
			return s
		case Open:
			return openSnapshot(p.gen, p.until, p.breaks, p.change, now)
		case HalfOpen:
			first, _, inFlight, live := p.scan()
			switch {
			case !live:
				continue
			case first == nil:
				return Snapshot{State: HalfOpen, Generation: p.gen, Breaks: p.breaks, LastChange: p.change}
			case now.Before(first.deadline):
				return Snapshot{State: HalfOpen, Generation: p.gen, Until: first.deadline,
					ProbeInFlight: true, ProbesInFlight: inFlight, Breaks: p.breaks, LastChange: p.change}
			default:
				// The pending expiry: what reopen(p, first.deadline) makes.
				k := p.breaks + 1
				until := first.deadline.Add(b.cfg.breakFor(k, b.seed, p.gen+1))
				return openSnapshot(p.gen+1, until, k, p.change, now)
			}
		}
	}
}

// openSnapshot describes an open period of generation gen that ends at until.
func openSnapshot(gen uint64, until time.Time, breaks int, last *Change, now time.Time) Snapshot {
	if now.Before(until) {
		return Snapshot{State: Open, Generation: gen, Until: until, Breaks: breaks, LastChange: last}
	}
	return Snapshot{State: HalfOpen, Generation: gen, Breaks: breaks, LastChange: last}
}
