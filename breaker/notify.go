package breaker

// Notifications (R22). Transitions append their Change to b.queue under b.mu,
// in the order they happen. After unlocking, the goroutine that made the
// change calls flush; if another goroutine is already delivering, that one
// delivers the new Change too, after the ones before it. So OnStateChange
// runs outside the lock, one call at a time, in generation order; the price
// is that a Change may be delivered by a goroutine other than the one that
// caused it, shortly after that one returns. A callback that calls back into
// the Breaker and causes a change sees that change delivered after it
// returns, never re-entrantly.

func (b *Breaker) flush() {
	if b.onChange == nil {
		return
	}
	b.mu.Lock()
	if b.delivering || len(b.queue) == 0 {
		b.mu.Unlock()
		return
	}
	b.delivering = true
	b.mu.Unlock()

	var batch []Change
	i, finished := 0, false
	defer func() {
		if !finished {
			// The callback called runtime.Goexit (t.FailNow in a test):
			// put back what it did not get to and hand delivery to
			// whoever changes state next.
			b.mu.Lock()
			b.queue = append(batch[i+1:len(batch):len(batch)], b.queue...)
			b.delivering = false
			b.mu.Unlock()
		}
	}()
	for {
		b.mu.Lock()
		batch, i = b.queue, 0
		b.queue = nil
		if len(batch) == 0 {
			b.delivering = false
			b.mu.Unlock()
			finished = true
			return
		}
		b.mu.Unlock()
		for ; i < len(batch); i++ {
			b.call(batch[i])
		}
	}
}

// call runs the callback, recovering a panic so that it cannot break the
// Allow or Done that delivers it.
func (b *Breaker) call(ch Change) {
	defer func() {
		if v := recover(); v != nil {
			b.reportPanic(v)
		}
	}()
	b.onChange(ch)
}

func (b *Breaker) reportPanic(v any) {
	if b.cfg.onPanic == nil {
		return
	}
	defer func() { _ = recover() }()
	b.cfg.onPanic(v)
}
