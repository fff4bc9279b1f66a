package window

import (
	"runtime"
	"sync/atomic"
)

// Buckets is how many buckets a window is kept as.
const Buckets = 10

// Window is a sliding window of two counters. The zero value is empty and
// ready to use; it must not be copied after first use.
type Window struct {
	buckets [Buckets]bucket
}

// resetting marks a slot whose counters an Add is clearing for a new bucket
// number; no count lands in it meanwhile, so none is lost at a turnover.
const resetting = -1

type bucket struct {
	num  atomic.Int64 // which bucket number the counts are for
	a, b atomic.Int64
}

// Add counts a and b in bucket number e. A bucket number older than the
// slot's holds (a clock that stepped back) counts in the newer one.
func (w *Window) Add(e, a, b int64) {
	bk := &w.buckets[e%Buckets]
	for {
		n := bk.num.Load()
		if n == resetting {
			runtime.Gosched() // another Add is clearing the slot: three stores away
			continue
		}
		if n >= e {
			break
		}
		if bk.num.CompareAndSwap(n, resetting) {
			bk.a.Store(0)
			bk.b.Store(0)
			bk.num.Store(e)
			break
		}
	}
	if a != 0 {
		bk.a.Add(a)
	}
	if b != 0 {
		bk.b.Add(b)
	}
}

// Sum returns the counts of the window that ends with bucket number e.
func (w *Window) Sum(e int64) (a, b int64) {
	for i := range w.buckets {
		bk := &w.buckets[i]
		if n := bk.num.Load(); n > e-Buckets && n <= e {
			a += bk.a.Load()
			b += bk.b.Load()
		}
	}
	return a, b
}
