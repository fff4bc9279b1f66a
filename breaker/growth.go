package breaker

import "time"

// breakFor returns how long the circuit re-opens after the k-th consecutive
// failed (or timed-out) probe, k >= 1: Recovery without growth, and with it
// (Settings.MaxRecovery) min(MaxRecovery, Recovery*2^(k-1)) shortened by up
// to 20% at random, never below Recovery. k = 1 is exactly Recovery (R19).
// The jitter spreads the probes of a fleet of clients that all lost the
// same upstream at the same moment. It is a function of the breaker's
// random seed and the generation of the open period, so that Snapshot can
// tell the length of a break that a pending transition will pick without
// making it.
func (c *config) breakFor(k int, seed, gen uint64) time.Duration {
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
	d -= time.Duration(mix(seed^gen) % uint64(d/5+1))
	return max(d, c.recovery)
}

// mix is SplitMix64's finaliser: consecutive generations get unrelated
// jitters.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
