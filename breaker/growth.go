package breaker

import (
	"math/rand/v2"
	"time"
)

// breakFor returns how long the circuit re-opens after the k-th consecutive
// failed (or timed-out) probe, k >= 1: Recovery without growth, and with it
// (Settings.MaxRecovery) min(MaxRecovery, Recovery*2^(k-1)) shortened by up
// to 20% at random, never below Recovery. k = 1 is exactly Recovery (R19).
// The jitter spreads the probes of a fleet of clients that all lost the
// same upstream at the same moment.
func (c *config) breakFor(k int) time.Duration {
	if c.maxRecovery == 0 || k <= 1 {
		return c.recovery
	}
	d := c.recovery
	for i := 1; i < k && d < c.maxRecovery; i++ {
		if d > c.maxRecovery/2 {
			d = c.maxRecovery // also keeps d*2 from overflowing
			break
		}
		d *= 2
	}
	d = min(d, c.maxRecovery)
	d -= rand.N(d/5 + 1)
	return max(d, c.recovery)
}
