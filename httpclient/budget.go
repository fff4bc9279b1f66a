package httpclient

import (
	"fmt"
	"time"

	"github.com/tempestsdk/tempest/internal/window"
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
	defaultBudgetRatio   = 0.2
	defaultBudgetReserve = 100
	defaultBudgetWindow  = 10 * time.Second
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
		b.Ratio = defaultBudgetRatio
	}
	if b.Reserve == 0 {
		b.Reserve = defaultBudgetReserve
	}
	if b.Window == 0 {
		b.Window = defaultBudgetWindow
	}
	return b, nil
}

// WithRetryBudget sets the per-origin retry budget. It is on by
// default; RetryBudget{Disabled: true} turns it off.
func WithRetryBudget(b RetryBudget) Option {
	return func(c *config) { c.budget = b }
}

// budget is one origin's retry budget: calls (a) and retries (b) over a
// sliding window, counted with atomics only. The check and the count of a
// retry are not one atomic step, so concurrent callers may overshoot the
// budget by a few retries; the cap is a load limit, not a contract.
type budget struct {
	// Pointer-free, so that the collector never scans it: a client with
	// many origins keeps one per origin. The settings are the client's
	// budgetConfig, passed in.
	win window.Window
}

// budgetConfig is a client's RetryBudget as every origin's budget reads it.
type budgetConfig struct {
	ratio   float64
	reserve int64
	width   int64     // bucket width in nanoseconds
	epoch   time.Time // carries a monotonic reading outside synctest bubbles
}

func newBudgetConfig(b RetryBudget) *budgetConfig {
	return &budgetConfig{
		ratio:   b.Ratio,
		reserve: int64(b.Reserve),
		width:   max(int64(b.Window/window.Buckets), 1),
		epoch:   time.Now(),
	}
}

func (c *budgetConfig) index() int64 { return int64(time.Since(c.epoch)) / c.width }

// call counts one call (the first attempt of a hop).
func (b *budget) call(c *budgetConfig) { b.win.Add(c.index(), 1, 0) }

// spend takes one retry from the budget, or reports that it is spent.
func (b *budget) spend(c *budgetConfig) bool {
	idx := c.index()
	if !b.allowsAt(c, idx) {
		return false
	}
	b.win.Add(idx, 0, 1)
	return true
}

// allows reports whether a retry could be taken now, taking none.
func (b *budget) allows(c *budgetConfig) bool { return b.allowsAt(c, c.index()) }

func (b *budget) allowsAt(c *budgetConfig, idx int64) bool {
	calls, retries := b.win.Sum(idx)
	return retries < int64(c.ratio*float64(calls))+c.reserve
}
