package breaker

import "time"

// Peek reports, without admitting a call, whether Allow would refuse one
// now: it returns the shared *OpenError of an open period, or of a half-open
// circuit whose probe slots are all taken, and nil otherwise. It lets a
// caller fail fast before it builds anything; a nil result is no
// admission, so the caller still calls Allow.
func (b *Breaker) Peek() *OpenError {
	return b.peek(b.cur.Load())
}

// peek returns the refusal that period p gives a call now without any
// transition, or nil. With the real clock it reads only the monotonic clock.
func (b *Breaker) peek(p *period) *OpenError {
	switch p.state {
	case Open:
		if b.before(p.until) {
			return p.err
		}
	case HalfOpen:
		if first, free, _, live := p.scan(); live && free < 0 && first != nil && b.before(first.deadline) {
			return &first.err
		}
	}
	return nil
}

// before reports whether the clock has not reached t. With the real clock
// it reads only the monotonic clock (time.Until), half the cost of
// time.Now on the fail-fast path; times made by time.Now carry a monotonic
// reading, and inside a synctest bubble both follow the fake clock.
func (b *Breaker) before(t time.Time) bool {
	if b.cfg.realClock {
		return time.Until(t) > 0
	}
	return b.cfg.now().Before(t)
}
