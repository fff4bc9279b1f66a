package httpclient

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tempestsdk/tempest/breaker"
)

// originState is what the client keeps per origin (R16): its breaker and the
// error shared by the calls that fail fast during one open period.
type originState struct {
	origin string           // normalised scheme://host:port
	br     *breaker.Breaker // nil when the breaker is disabled
	budget *budget          // nil when the retry budget is disabled
	used   atomic.Bool      // looked up since the registry's last sweep
	open   atomic.Pointer[openCache]
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

// maxOriginKeys bounds the lookup map: past it, new spellings of an origin
// are resolved under the lock instead of being cached.
const maxOriginKeys = 4096

// Defaults of WithOriginLimit.
const (
	DefaultMaxOrigins       = 1024
	DefaultOriginIdleExpiry = 10 * time.Minute
)

// WithOriginLimit bounds the per-origin state (breakers and retry budgets) a
// client keeps, so that one calling many hosts does not grow without bound
// (R50): state unused for idleExpiry is dropped, and past maxOrigins the
// closed breakers go first. An open or half-open breaker is never dropped.
// Zero values mean the defaults, 1024 and 10 minutes; negative values are
// errors.
func WithOriginLimit(maxOrigins int, idleExpiry time.Duration) Option {
	return func(c *config) {
		if maxOrigins < 0 || idleExpiry < 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithOriginLimit(%d, %v): negative", ErrInvalidConfig, maxOrigins, idleExpiry))
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

// registry maps origins to their state. Lookups read an immutable map through
// an atomic pointer, so the hot path takes no lock; additions copy the map.
type registry struct {
	c         *Client
	keys      atomic.Pointer[map[originKey]*originState]
	mu        sync.Mutex
	byOrigin  map[string]*originState
	lastSweep time.Time
}

func (r *registry) get(scheme, host string) *originState {
	k := originKey{scheme, host}
	if m := r.keys.Load(); m != nil {
		if s, ok := (*m)[k]; ok {
			if !s.used.Load() { // load first: no write to a shared line per call
				s.used.Store(true)
			}
			return s
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.keys.Load()
	if old != nil {
		if s, ok := (*old)[k]; ok {
			s.used.Store(true)
			return s
		}
	}
	s := r.stateLocked(normalizeOrigin(scheme, host))
	s.used.Store(true)
	if old = r.keys.Load(); old == nil || len(*old) < maxOriginKeys {
		m := make(map[originKey]*originState, 1+lenOf(old))
		if old != nil {
			for kk, vv := range *old {
				m[kk] = vv
			}
		}
		m[k] = s
		r.keys.Store(&m)
	}
	return s
}

// stateLocked returns the state of a normalised origin, making it (and
// sweeping idle ones first) when there is none. r.mu is held.
func (r *registry) stateLocked(norm string) *originState {
	if s, ok := r.byOrigin[norm]; ok {
		return s
	}
	if r.byOrigin == nil {
		r.byOrigin = make(map[string]*originState)
	}
	if now := time.Now(); len(r.byOrigin) >= r.c.maxOrigins || now.Sub(r.lastSweep) >= r.c.idleExpiry {
		r.sweepLocked(now)
	}
	s := r.newState(norm)
	r.byOrigin[norm] = s
	return s
}

// sweepLocked drops the state of origins unused since the last sweep whose
// breaker is closed, then, while still at the limit, any other closed one
// but the base's. r.mu is held.
func (r *registry) sweepLocked(now time.Time) {
	r.lastSweep = now
	droppable := func(s *originState) bool {
		return s != r.c.baseState && (s.br == nil || s.br.State() == breaker.Closed)
	}
	for o, s := range r.byOrigin {
		if !s.used.Load() && droppable(s) {
			delete(r.byOrigin, o)
		}
		s.used.Store(false)
	}
	for o, s := range r.byOrigin {
		if len(r.byOrigin) < r.c.maxOrigins {
			break
		}
		if droppable(s) {
			delete(r.byOrigin, o)
		}
	}
	m := make(map[originKey]*originState)
	if old := r.keys.Load(); old != nil {
		for k, s := range *old {
			if r.byOrigin[s.origin] == s {
				m[k] = s
			}
		}
	}
	r.keys.Store(&m)
}

// all returns every origin's state, for snapshots.
func (r *registry) all() []*originState {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*originState, 0, len(r.byOrigin))
	for _, s := range r.byOrigin {
		out = append(out, s)
	}
	return out
}

// peek returns the state of a normalised origin, or nil: it makes none.
func (r *registry) peek(norm string) *originState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byOrigin[norm]
}

// lookup returns the state of a normalised origin, making it if need be.
func (r *registry) lookup(norm string) *originState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stateLocked(norm)
}

func lenOf(m *map[originKey]*originState) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

func (r *registry) newState(origin string) *originState {
	s := &originState{origin: origin}
	c := r.c
	if !c.budget.Disabled {
		s.budget = newBudget(c.budget)
	}
	if c.failureThreshold > 0 {
		settings := c.breaker
		settings.OnStateChange = func(ch breaker.Change) { c.stateChange(origin, ch) }
		br, err := breaker.New(settings)
		if err == nil { // New validated both values already
			s.br = br
		}
	}
	return s
}

// probeBound is how long a breaker probe may go unanswered (R19): its attempt
// timeout, or the recovery time when the call lifted the timeout.
func probeBound(timeout time.Duration, noTimeout bool, recovery time.Duration) time.Duration {
	if noTimeout {
		return recovery
	}
	return timeout
}
