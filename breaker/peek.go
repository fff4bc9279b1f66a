package breaker

// Peek reports, without admitting a call, whether Allow would refuse one
// now: it returns the shared *OpenError of an open period, or of a half-open
// circuit whose probe is in flight, and nil otherwise. It lets a caller fail
// fast before it builds anything (R18); a nil result is no admission, so the
// caller still calls Allow.
func (b *Breaker) Peek() *OpenError {
	p := b.cur.Load()
	switch p.state {
	case Open:
		if b.cfg.now().Before(p.until) {
			return p.err
		}
	case HalfOpen:
		if pr := p.probe.Load(); pr != nil && pr != sealed && b.cfg.now().Before(pr.deadline) {
			return &pr.err
		}
	}
	return nil
}
