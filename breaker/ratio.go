package breaker

import "time"

// Ratio mode. A closed period carries its own window (package
// internal/window): ten buckets of Window/10 each, counted with atomics
// only. Time is counted from Breaker.epoch in bucket numbers; a report is a
// clock read and two atomic adds on one bucket, no lock.

// bucketNow returns the current bucket number. With the real clock it reads
// only the monotonic clock, as before does.
func (b *Breaker) bucketNow() int64 {
	if b.cfg.realClock {
		return b.bucketOf(time.Since(b.epoch))
	}
	return b.bucketOf(b.cfg.now().Sub(b.epoch))
}

// bucketAt returns the bucket number of time t.
func (b *Breaker) bucketAt(t time.Time) int64 { return b.bucketOf(t.Sub(b.epoch)) }

func (b *Breaker) bucketOf(d time.Duration) int64 {
	if d < 0 {
		return 0 // a custom clock set before New
	}
	return int64(d) / b.cfg.bucket
}

// tripsRatio reports whether a window holding calls outcomes, failures of
// them failed, opens the circuit. Dividing (rather than multiplying the
// ratio) makes a share equal to the configured decimal compare equal:
// 3/10 and 0.3 round to the same float64.
func (c *config) tripsRatio(calls, failures int64) bool {
	return calls >= c.minCalls && calls > 0 && float64(failures)/float64(calls) >= c.ratio
}
