package httpclient

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tempestsdk/tempest/breaker"
	"github.com/tempestsdk/tempest/concurrency"
	"github.com/tempestsdk/tempest/ratelimit"
)

// originState is what the client keeps per origin (R16): its breaker and
// retry budget, and the error shared by the calls that fail fast during one
// open period.
type originState struct {
	origin  string               // normalised scheme://host:port
	br      *breaker.Breaker     // nil when the breaker is disabled
	budget  *budget              // nil when the retry budget is disabled
	limiter *ratelimit.Limiter   // the origin's rate limit; nil when none
	conc    *concurrency.Limiter // the origin's concurrency limit; nil when none
	learned atomic.Bool          // SharedBreakers.Learn was asked for it
	open    atomic.Pointer[openCache]

	used atomic.Int64 // the registry's stamp of its last use
	heat atomic.Int32 // recent uses, up to maxHeat; the eviction hand cools it
	dead atomic.Bool  // dropped: a lookup that finds it looks again under the lock
	hops atomic.Int32 // hops in flight: the state is busy while any is (R50)

	// Guarded by registry.mu.
	slot   int         // index in registry.ring
	filed  int64       // the stamp it is filed under in registry.cal
	calIdx int         // index in its registry.cal slot; -1 when in none
	keys   []originKey // the spellings that lead to it in the lookup maps
}

type openCache struct {
	src *breaker.OpenError
	err *CircuitOpenError
}

// circuitError maps the breaker's shared *OpenError of one open period to one
// shared *CircuitOpenError, so that failing fast allocates nothing of its own.
func (s *originState) circuitError(oe *breaker.OpenError) *CircuitOpenError {
	if c := s.open.Load(); c != nil && c.src == oe {
		return c.err
	}
	c := &openCache{src: oe, err: &CircuitOpenError{Origin: s.origin, Until: oe.Until}}
	s.open.Store(c)
	return c.err
}

// originKey is a URL's scheme and host as written; several keys may map to
// one normalised origin.
type originKey struct{ scheme, host string }

// own returns k in one string of its own: a URL's scheme and host are
// slices of it, and a key kept in the lookup maps must not keep the whole
// URL (a long query, say) alive.
func (k originKey) own() originKey {
	b := k.scheme + k.host // a new string unless one of them is empty
	if k.scheme == "" || k.host == "" {
		b = strings.Clone(b)
	}
	return originKey{b[:len(k.scheme)], b[len(k.scheme):]}
}

// Defaults of WithOriginLimit.
const (
	defaultMaxOrigins = 1024
	defaultIdleExpiry = 10 * time.Minute
)

// WithOriginLimit bounds the per-origin state (breakers and retry budgets) a
// client keeps, so that one calling many hosts does not grow without bound:
// state unused for idleExpiry is dropped, and past maxOrigins the
// least recently used goes. A circuit that has not closed since it opened
// outlives its origin's state, as a record, until idleExpiry after its
// break has ended. Zero values mean the defaults, 1024 and 10
// minutes; negative values are errors.
func WithOriginLimit(maxOrigins int, idleExpiry time.Duration) Option {
	return func(c *config) {
		if maxOrigins < 0 || idleExpiry < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithOriginLimit(%d, %v): negative", ErrInvalidConfig, maxOrigins, idleExpiry))
			return
		}
		if idleExpiry > 0 && idleExpiry < time.Millisecond {
			c.errs = append(c.errs, fmt.Errorf("%w: %s", ErrInvalidConfig, unitSlip(fmt.Sprintf("WithOriginLimit(%d, %v)", maxOrigins, idleExpiry), idleExpiry)))
			return
		}
		if maxOrigins > 0 {
			c.maxOrigins = maxOrigins
		}
		if idleExpiry > 0 {
			c.idleExpiry = idleExpiry
		}
	}
}

// Registry tuning.
const (
	// idleStamps is how many stamps make idleExpiry: a state's last use is
	// known to a stamp, so it is dropped between idleExpiry and
	// (idleStamps+2)/idleStamps of it after that use.
	idleStamps = 16
	// calSlots is the size of the idle calendar: more than idleStamps+1,
	// so that the slot being emptied never holds a fresh filing.
	calSlots = 32
	// maxKeysPerOrigin bounds the spellings of one origin that lookups
	// find without the lock; further spellings are resolved under it.
	maxKeysPerOrigin = 4
	// recordsPerOrigin bounds the records of open circuits at this many
	// times the origin limit (R58).
	recordsPerOrigin = 16
	// maxHeat is how many passes of the eviction hand a state in steady
	// use survives without a use (GCLOCK): an origin used a few times
	// outlasts a flood of origins used once.
	maxHeat = 3
)

// registry maps origins to their state, bounded (R50, R58). Lookups of a
// known origin read an immutable map through an atomic pointer and take no
// lock. Under the lock, a new origin costs O(1) amortised: its key waits in
// dirty until the lookup map is rebuilt, which happens after a number of
// slow lookups proportional to the map's size; the idle calendar and the
// eviction hand each do amortised constant work per origin.
type registry struct {
	c     *Client
	brt   *breaker.Template     // every origin's breaker settings; nil when disabled
	bcfg  *budgetConfig         // every origin's retry budget; nil when disabled
	rate  *rateConfig           // the rate limit; nil when off
	conc  *concurrency.Settings // each origin's concurrency limit; nil when off
	snap  atomic.Pointer[map[originKey]*originState]
	epoch time.Time // stamps count from here (monotonic outside synctest bubbles)
	gran  int64     // nanoseconds per stamp: idleExpiry / idleStamps

	mu       sync.Mutex
	dirty    map[originKey]*originState // keys not in snap yet
	misses   int                        // slow lookups since snap was built
	byOrigin map[string]*originState
	ring     []*originState // the states in the order the eviction hand visits them
	hand     int
	cal      [calSlots][]*originState // states by the stamp they are filed under
	calNext  int64                    // the first stamp not yet checked for idleness

	// Records of circuits that had not closed when their origin's state
	// was dropped (R58): the breaker itself, so that its generation, break
	// count, open period and any probe in flight carry on when the origin
	// comes back. FIFO, bounded.
	records map[string]*breaker.Breaker
	recq    []record
	recHead int

	// Records of origin rate limits spent past now when their origin's
	// state was dropped (R69), so that dropping a state, idle or at the
	// limit, cannot hand its origin a fresh burst; kept until the limit
	// has refilled, bounded as the breaker records are.
	limits   map[string]*ratelimit.Limiter
	limq     []limitRecord
	limqHead int

	// Concurrency limits an operator set (R75), by origin, so that they
	// outlive the origin's state; at most maxOrigins of them.
	concPins map[string]int
}

func (r *registry) init(c *Client) error {
	r.c = c
	if !c.breakerOff {
		t, err := breaker.NewTemplate(c.breaker)
		if err != nil {
			return err
		}
		r.brt = t
	}
	if !c.budget.Disabled {
		r.bcfg = newBudgetConfig(c.budget)
	}
	r.epoch = time.Now()
	r.gran = max(int64(c.idleExpiry/idleStamps), 1)
	r.dirty = make(map[originKey]*originState)
	r.byOrigin = make(map[string]*originState)
	r.records = make(map[string]*breaker.Breaker)
	r.limits = make(map[string]*ratelimit.Limiter)
	return nil
}

// stamp is the registry's clock, in units of gran.
func (r *registry) stamp() int64 { return int64(time.Since(r.epoch)) / r.gran }

// touch marks s used now. Loads first: a state in steady use is written at
// most once per stamp and once per pass of the eviction hand, so lookups do
// not fight over its cache line. The stamp only moves forward.
func (r *registry) touch(s *originState) {
	for st := r.stamp(); ; {
		old := s.used.Load()
		if old >= st || s.used.CompareAndSwap(old, st) {
			break
		}
	}
	if h := s.heat.Load(); h < maxHeat {
		s.heat.Store(h + 1) // a lost increment under a race costs nothing
	}
}

// get returns the state of the origin of a URL's scheme and host, making it
// when there is none.
func (r *registry) get(scheme, host string) *originState {
	k := originKey{scheme, host}
	if m := r.snap.Load(); m != nil {
		if s, ok := (*m)[k]; ok && !s.dead.Load() {
			r.touch(s)
			return s
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.dirty[k]
	if s == nil || s.dead.Load() {
		s = r.stateLocked(normalizeOrigin(scheme, host))
		if len(s.keys) < maxKeysPerOrigin && !slices.Contains(s.keys, k) {
			k = k.own()
			s.keys = append(s.keys, k)
			r.dirty[k] = s
		}
	}
	r.touch(s)
	r.misses++
	r.maybeRebuildLocked()
	return s
}

// find returns the state a URL's scheme and host as written lead to, or
// nil: it makes none, and does not count as a use.
func (r *registry) find(scheme, host string) *originState {
	k := originKey{scheme, host}
	if m := r.snap.Load(); m != nil {
		if s, ok := (*m)[k]; ok && !s.dead.Load() {
			return s
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.dirty[k]; s != nil && !s.dead.Load() {
		return s
	}
	return nil
}

// acquire returns the state of a hop's origin and holds it busy until
// release, so that neither idle expiry nor eviction drops it while a call
// is in flight: its breaker must see that call's outcome (R50, R58). The
// hop marks itself before it looks at dead, and the registry marks dead
// before it looks at hops, so one of them always sees the other.
func (r *registry) acquire(scheme, host string) *originState {
	for {
		s := r.get(scheme, host)
		s.hops.Add(1)
		if !s.dead.Load() {
			return s
		}
		s.hops.Add(-1) // dropped meanwhile: look again
	}
}

// release ends a hop that acquire began.
func (s *originState) release() { s.hops.Add(-1) }

// maybeRebuildLocked rebuilds the lookup map once the slow lookups since
// the last rebuild outnumber half its size. r.mu is held.
func (r *registry) maybeRebuildLocked() {
	if r.misses > max(32, r.snapLen()/2) {
		r.rebuildLocked()
	}
}

func (r *registry) snapLen() int {
	if m := r.snap.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// rebuildLocked publishes a lookup map of every live state's keys. It costs
// O(states) and runs after more than half as many slow lookups, so each
// slow lookup pays O(1) for it. r.mu is held.
func (r *registry) rebuildLocked() {
	m := make(map[originKey]*originState, len(r.byOrigin)+len(r.dirty))
	for _, s := range r.byOrigin {
		for _, k := range s.keys {
			m[k] = s
		}
	}
	r.snap.Store(&m)
	if len(r.dirty) > 64 {
		r.dirty = make(map[originKey]*originState) // clear would keep the buckets
	} else {
		clear(r.dirty)
	}
	r.misses = 0
}

// stateLocked returns the state of a normalised origin, making it when
// there is none: first the idle are dropped, then, at the limit, the least
// recently used. r.mu is held.
func (r *registry) stateLocked(norm string) *originState {
	if s, ok := r.byOrigin[norm]; ok {
		return s
	}
	now := r.stamp()
	r.expireLocked(now)
	if len(r.ring) >= r.c.maxOrigins {
		r.evictLocked(now)
	}
	br, ok := r.records[norm] // the circuit carries on where it was (R58)
	if ok {
		delete(r.records, norm)
	}
	s := r.newState(norm, br)
	if lim, ok := r.limits[norm]; ok { // and the rate limit (R69)
		delete(r.limits, norm)
		s.limiter = lim
	}
	s.slot = len(r.ring)
	r.ring = append(r.ring, s)
	r.byOrigin[norm] = s
	r.fileLocked(s, now)
	return s
}

// entry is one origin's breaker as the operator controls see it: a live
// state's, or a record's.
type entry struct {
	origin string
	br     *breaker.Breaker
}

// all returns every origin's breaker, live or recorded, for snapshots. It
// is a pure read (R54): it moves no breaker and runs no user code.
func (r *registry) all() []entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]entry, 0, len(r.byOrigin)+len(r.records))
	for _, s := range r.byOrigin {
		out = append(out, entry{s.origin, s.br})
	}
	for o, br := range r.records {
		out = append(out, entry{o, br})
	}
	return out
}

// peek returns the breaker of a normalised origin, live or recorded, or
// nil: it makes no state.
func (r *registry) peek(norm string) *breaker.Breaker {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.byOrigin[norm]; ok {
		return s.br
	}
	return r.records[norm]
}

// live returns the live state of a normalised origin, or nil; it makes
// none and touches none.
func (r *registry) live(norm string) *originState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byOrigin[norm]
}

// lookup returns the state of a normalised origin, making it if need be.
func (r *registry) lookup(norm string) *originState {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stateLocked(norm)
	r.touch(s)
	return s
}

// size returns the number of live states and of records.
func (r *registry) size() (states, records int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byOrigin), len(r.records)
}

// newState makes the state of origin, around br when its circuit carries
// on from a record.
func (r *registry) newState(origin string, br *breaker.Breaker) *originState {
	s := &originState{origin: origin, br: br}
	c := r.c
	if r.bcfg != nil {
		s.budget = new(budget)
	}
	if r.rate != nil && r.rate.perOrigin.Rate > 0 {
		s.limiter, _ = ratelimit.New(r.rate.perOrigin) // validated by New
	}
	if r.brt != nil && br == nil {
		s.br = r.brt.New(func(ch breaker.Change) { c.stateChange(origin, ch) })
	}
	if r.conc != nil {
		cs := *r.conc
		if cs.Adaptive != nil {
			a := *cs.Adaptive
			user := a.OnLimit
			a.OnLimit = func(from, to int) { c.limitChange(origin, from, to, user) }
			cs.Adaptive = &a
		}
		s.conc, _ = concurrency.New(cs) // validated by New
		if n, ok := r.concPins[origin]; ok {
			s.conc.SetLimit(n)
		}
	}
	return s
}

// pinConc records an operator's limit for norm and returns its state.
func (r *registry) pinConc(norm string, n int) (*originState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.concPins[norm]; !ok && len(r.concPins) >= r.c.maxOrigins {
		return nil, fmt.Errorf("%w: SetConcurrencyLimit: limits set for %d origins already, the origin limit", ErrInvalidRequest, len(r.concPins))
	}
	if r.concPins == nil {
		r.concPins = make(map[string]int)
	}
	r.concPins[norm] = n
	s := r.stateLocked(norm)
	r.touch(s)
	s.conc.SetLimit(n) // under r.mu, so that the pin and the live limit agree (the limiter's lock nests inside)
	return s, nil
}

// concPin returns the limit an operator set for norm, if any.
func (r *registry) concPin(norm string) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.concPins[norm]
	return n, ok
}

// states returns the live origin states, for snapshots. A pure read.
func (r *registry) states() []*originState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*originState, 0, len(r.byOrigin))
	for _, s := range r.byOrigin {
		out = append(out, s)
	}
	return out
}

// probeBound is how long a breaker probe may go unanswered: its attempt
// timeout, or, when its call lifted the timeout, 0 for the breaker's
// ProbeTimeout (by default its Recovery).
func probeBound(timeout time.Duration, noTimeout bool) time.Duration {
	if noTimeout {
		return 0
	}
	return timeout
}
