package breaker

import (
	"sync/atomic"
	"time"
)

// Ratio mode. A closed period carries its own window: windowBuckets buckets,
// each the outcomes of one stretch of Window/windowBuckets. Time is counted
// from Breaker.epoch in bucket numbers (elapsed / bucket width); bucket
// number e lives in slot e % windowBuckets, and the window at bucket number
// e is the slots whose number is in (e-windowBuckets, e]: the current
// bucket, partly elapsed, and the nine before it. So the counts cover the
// last Window to within one bucket, and an outcome leaves the window
// between 0.9 and 1.0 Window after it was reported.
//
// A report is a clock read and two atomic operations on one bucket; no lock.
// The first report of a new bucket number claims the slot by a CAS on its
// number and then clears its counters. The approximation: an outcome added
// by another goroutine between that CAS and the clearing is lost, and one
// whose clock was read a whole Window earlier but added only now lands in
// the new bucket. Both need a report racing a bucket's turnover, and move a
// count by a few outcomes at most; the breaker's decision does not need
// more precision than that.

// bucket counts the outcomes of one bucket number.
type bucket struct {
	num      atomic.Int64 // which bucket number the counts are for
	calls    atomic.Int64 // successes and failures
	failures atomic.Int64
}

// window is a ratio-mode closed period's sliding window.
type window struct {
	buckets [windowBuckets]bucket
}

// add counts one outcome in bucket number e.
func (w *window) add(e int64, failure bool) {
	bk := &w.buckets[e%windowBuckets]
	for {
		n := bk.num.Load()
		if n >= e {
			// The current bucket, or (with a clock that stepped back) a
			// later one: count it there.
			break
		}
		if bk.num.CompareAndSwap(n, e) {
			bk.calls.Store(0)
			bk.failures.Store(0)
			break
		}
	}
	bk.calls.Add(1)
	if failure {
		bk.failures.Add(1)
	}
}

// counts returns the outcomes in the window that ends with bucket number e.
func (w *window) counts(e int64) (calls, failures int64) {
	for i := range w.buckets {
		bk := &w.buckets[i]
		if n := bk.num.Load(); n > e-windowBuckets && n <= e {
			calls += bk.calls.Load()
			failures += bk.failures.Load()
		}
	}
	return calls, failures
}

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
