package httpclient

import (
	"fmt"
	"sync/atomic"
	"time"
)

// RetryBudget caps retries per origin so that they cannot multiply the load
// on a struggling upstream: over the last Window, retries (and hedges) may be
// at most Ratio of the calls plus Reserve. The reserve is usable at once, so a
// caller in ordinary conditions never meets the budget. Zero fields take the
// defaults noted on each.
type RetryBudget struct {
	// Ratio is the share of calls that may be retried. Default 0.2.
	// Negative or above 1 is an error.
	Ratio float64
	// Reserve is how many retries the window allows on top of Ratio.
	// Default 100 (10 per second over the default window). Negative is an
	// error.
	Reserve int
	// Window is the sliding window the budget counts over, kept as ten
	// buckets. Default 10s. Negative is an error.
	Window time.Duration
	// Disabled turns the budget off: every retry the policy allows is made.
	Disabled bool
}

// Defaults of RetryBudget.
const (
	DefaultBudgetRatio   = 0.2
	DefaultBudgetReserve = 100
	DefaultBudgetWindow  = 10 * time.Second
)

func (b RetryBudget) resolve() (RetryBudget, error) {
	if b.Ratio < 0 || b.Ratio > 1 || b.Ratio != b.Ratio {
		return b, fmt.Errorf("%w: RetryBudget.Ratio %v is outside [0, 1]", ErrInvalidConfig, b.Ratio)
	}
	if b.Reserve < 0 {
		return b, fmt.Errorf("%w: RetryBudget.Reserve %d is negative", ErrInvalidConfig, b.Reserve)
	}
	if b.Window < 0 {
		return b, fmt.Errorf("%w: RetryBudget.Window %v is negative", ErrInvalidConfig, b.Window)
	}
	if b.Ratio == 0 {
		b.Ratio = DefaultBudgetRatio
	}
	if b.Reserve == 0 {
		b.Reserve = DefaultBudgetReserve
	}
	if b.Window == 0 {
		b.Window = DefaultBudgetWindow
	}
	return b, nil
}

// WithRetryBudget sets the per-origin retry budget (R46). It is on by
// default; RetryBudget{Disabled: true} turns it off.
func WithRetryBudget(b RetryBudget) Option {
	return func(c *config) { c.budget = b }
}

const budgetBuckets = 10

// budget is one origin's retry budget: ten buckets of calls and retries over
// a sliding window, updated with atomics only. The check and the count of a
// retry are not one atomic step, so concurrent callers may overshoot the
// budget by a few retries; the cap is a load limit, not a contract.
type budget struct {
	ratio   float64
	reserve int64
	width   int64     // bucket width in nanoseconds
	epoch   time.Time // carries a monotonic reading outside synctest bubbles
	buckets [budgetBuckets]budgetBucket
}

type budgetBucket struct {
	stamp   atomic.Int64 // the bucket number it counts for
	calls   atomic.Int64
	retries atomic.Int64
}

func newBudget(b RetryBudget) *budget {
	return &budget{
		ratio:   b.Ratio,
		reserve: int64(b.Reserve),
		width:   max(int64(b.Window/budgetBuckets), 1),
		epoch:   time.Now(),
	}
}

// bucket returns the bucket of number idx, reset if it still holds an older
// one. A count landing between the reset's CAS and its stores may be lost:
// an approximation at bucket turnover.
func (b *budget) bucket(idx int64) *budgetBucket {
	bk := &b.buckets[idx%budgetBuckets]
	if s := bk.stamp.Load(); s != idx && bk.stamp.CompareAndSwap(s, idx) {
		bk.calls.Store(0)
		bk.retries.Store(0)
	}
	return bk
}

func (b *budget) index() int64 { return int64(time.Since(b.epoch)) / b.width }

// call counts one call (the first attempt of a hop).
func (b *budget) call() { b.bucket(b.index()).calls.Add(1) }

// spend takes one retry from the budget, or reports that it is spent.
func (b *budget) spend() bool {
	idx := b.index()
	var calls, retries int64
	for i := range b.buckets {
		bk := &b.buckets[i]
		if s := bk.stamp.Load(); s > idx-budgetBuckets && s <= idx {
			calls += bk.calls.Load()
			retries += bk.retries.Load()
		}
	}
	if retries >= int64(b.ratio*float64(calls))+b.reserve {
		return false
	}
	b.bucket(idx).retries.Add(1)
	return true
}
