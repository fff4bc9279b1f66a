package httpclient

import (
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

// registry maps origins to their state. Lookups read an immutable map through
// an atomic pointer, so the hot path takes no lock; additions copy the map.
type registry struct {
	c        *Client
	keys     atomic.Pointer[map[originKey]*originState]
	mu       sync.Mutex
	byOrigin map[string]*originState
}

func (r *registry) get(scheme, host string) *originState {
	k := originKey{scheme, host}
	if m := r.keys.Load(); m != nil {
		if s, ok := (*m)[k]; ok {
			return s
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.keys.Load()
	if old != nil {
		if s, ok := (*old)[k]; ok {
			return s
		}
	}
	norm := normalizeOrigin(scheme, host)
	s, ok := r.byOrigin[norm]
	if !ok {
		s = r.newState(norm)
		if r.byOrigin == nil {
			r.byOrigin = make(map[string]*originState)
		}
		r.byOrigin[norm] = s
	}
	if old == nil || len(*old) < maxOriginKeys {
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
	if c.threshold > 0 {
		br, err := breaker.New(breaker.Settings{
			FailureThreshold: c.threshold,
			Recovery:         c.recovery,
			OnStateChange:    func(ch breaker.Change) { c.stateChange(origin, ch) },
		})
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
