package concurrency

import (
	"fmt"
	"slices"
	"time"
)

// Defaults of Adaptive.
const (
	DefaultInitial = 64   // the starting limit when Settings.Limit is 0
	DefaultMin     = 4    // the least limit
	DefaultMax     = 1000 // the greatest limit
	DefaultWindow  = 20   // the fewest samples a window decides on
	DefaultLow     = 1.5  // below this latency ratio a used limit grows
	DefaultHigh    = 2.0  // above it the limit shrinks
)

// Adaptive configures an adaptive limit. Zero fields mean the defaults.
//
// The algorithm compares the latency of recent calls with the latency the
// upstream has when nothing queues there, and keeps the ratio between Low
// and High: a little queueing upstream keeps its workers busy, a lot only
// adds latency. The package documentation gives the algorithm in full.
type Adaptive struct {
	// Min and Max bound the limit.
	Min, Max int
	// Window is the fewest latency samples one decision is made on; a
	// window holds at least half the limit's worth of samples too, so
	// that one decision sees calls from a whole limit's turn.
	Window int
	// Low and High bound the ratio of a window's median latency to the
	// baseline that the limit aims for. 1 < Low < High.
	Low, High float64
	// OnLimit, when set, is told of each change of the limit the
	// algorithm makes, after the change and outside the limiter's lock,
	// on the goroutine whose Record or Dropped made it. It must not
	// block.
	OnLimit func(from, to int)
}

// maxWindow bounds a window's samples, so that a decision sorts at most
// this many.
const maxWindow = 256

func (a *Adaptive) resolve() (Adaptive, error) {
	r := *a
	if r.Min == 0 {
		r.Min = DefaultMin
	}
	if r.Max == 0 {
		r.Max = max(DefaultMax, r.Min)
	}
	if r.Window == 0 {
		r.Window = DefaultWindow
	}
	if r.Low == 0 {
		r.Low = DefaultLow
	}
	if r.High == 0 {
		r.High = max(DefaultHigh, r.Low+0.5)
	}
	switch {
	case r.Min < 1 || r.Max < r.Min:
		return r, fmt.Errorf("%w: Adaptive Min %d and Max %d: want 1 <= Min <= Max", ErrInvalidSettings, r.Min, r.Max)
	case r.Window < 1 || r.Window > maxWindow:
		return r, fmt.Errorf("%w: Adaptive Window %d: want 1 to %d", ErrInvalidSettings, r.Window, maxWindow)
	case !(r.Low > 1) || !(r.High > r.Low) || r.High > 100:
		return r, fmt.Errorf("%w: Adaptive Low %v and High %v: want 1 < Low < High <= 100", ErrInvalidSettings, r.Low, r.High)
	}
	return r, nil
}

// adaptState is an adaptive limit's state, guarded by the limiter's mu.
type adaptState struct {
	cfg     Adaptive
	epoch   uint32          // bumped at each change: older permits' samples are not counted
	samples []time.Duration // this window's
	drops   int             // this window's permits that saw the upstream shed them
	peak    int             // the most in flight at a grant in this window
	pressed bool            // a caller queued or was refused in this window
	base    time.Duration   // the latency with nothing queued upstream; 0: not known yet
	stuck   int             // windows in a row at Min and still over High
	cutM    time.Duration   // the median of the window before, when it cut the limit; 0: it did not
	cutDeep bool            // that cut was by 40% or more
	descent []step          // the windows since the limit last grew that cut it, oldest first
	probed  bool            // the last change was a probe after a speed-up
}

// step is a window that cut the limit: the limit it cut, and its median.
type step struct {
	limit int
	m     time.Duration
}

// maxDescent bounds adaptState.descent: halving from Max reaches Min in
// fewer steps.
const maxDescent = 16

// restart begins a new window; after a change of the limit (changed), its
// samples come only from permits granted from then on.
func (a *adaptState) restart(changed bool) {
	if changed {
		a.epoch++
	}
	a.samples = a.samples[:0]
	a.drops, a.peak, a.pressed = 0, 0, false
}

// Record gives an adaptive limiter the latency of the permit's call: the
// time to the upstream's answer (to its response headers, for HTTP), or
// the time until the call gave up waiting for one. Only the first Record
// or Dropped of a permit counts, and only while the limit is the one the
// permit was granted under; a fixed limiter ignores it. It may come before
// or after Release.
func (p Permit) Record(rtt time.Duration) { p.record(rtt, false) }

// Dropped is Record for a call the upstream shed as overloaded (HTTP 429 or
// 503, say) after rtt: many drops in a window shrink the limit whatever the
// latency.
func (p Permit) Dropped(rtt time.Duration) { p.record(rtt, true) }

func (p Permit) record(rtt time.Duration, dropped bool) {
	if p.l == nil || p.l.ad == nil {
		return
	}
	l := p.l
	l.mu.Lock()
	a := l.ad
	if p.s.recorded || p.s.epoch != a.epoch || rtt < 0 {
		p.s.recorded = true
		l.mu.Unlock()
		return
	}
	p.s.recorded = true
	a.samples = append(a.samples, rtt)
	if dropped {
		a.drops++
	}
	from := l.limit
	if len(a.samples) < min(max(a.cfg.Window, from/2), maxWindow) {
		l.mu.Unlock()
		return
	}
	to := a.decide(from, l.waiters.Len() > 0 || l.inFlight >= from-from/4)
	a.restart(to != from) // before the grants: the callers a change admits are the new window's
	if to != from {
		l.limit = to
		l.grantLocked()
	}
	onLimit := a.cfg.OnLimit
	l.mu.Unlock()
	if to != from && onLimit != nil {
		onLimit(from, to)
	}
}

// decide is the end of a window: the new limit, from the current one.
// busy is that callers are queued, or three quarters of the limit taken,
// now.
func (a *adaptState) decide(limit int, busy bool) int {
	slices.Sort(a.samples)
	m := max(a.samples[len(a.samples)/2], time.Microsecond)
	if a.base == 0 {
		a.base = m // the first window only sets the baseline: its ratio is 1 by definition
		return limit
	}
	// A deep cut after which the latency did not fall by a twentieth
	// shows the latency is not a queue of this limiter's making but the
	// upstream's own pace (slower service): it becomes the baseline.
	if a.cutM > 0 && a.cutDeep && m >= a.cutM-a.cutM/20 {
		a.base = m
		a.descent = a.descent[:0]
	}
	a.cutM = 0
	probed := a.probed
	a.probed = false
	used := busy || a.pressed || a.peak >= limit-limit/4
	r := float64(m) / float64(a.base)
	// The baseline follows windows that show no queueing: one near it
	// or under it, by a quarter of the gap; one under half of it at
	// once, for a queue only adds latency: the upstream got faster. How
	// much faster shows only without a queue of ours, so the limit is
	// halved for a window (a probe), as BBR drains its queue to measure
	// the round trip. (Not for less: right after a change, the first
	// answers are the short ones, and a window of them reads low.)
	switch {
	case m < a.base/2:
		a.base = m
		if !probed && used && limit > a.cfg.Min {
			a.probed = true
			a.cutM, a.cutDeep = m, true // and if halving changes nothing, m is unqueued
			return max(a.cfg.Min, limit/2)
		}
		r = 1
	case r <= 1.1:
		a.base += (m - a.base) / 4
	}
	mid := (a.cfg.Low + a.cfg.High) / 2
	if a.drops*8 >= len(a.samples) {
		r = max(r, mid/0.75) // shed calls: shrink by a quarter at least
	}
	if limit == a.cfg.Min && r > a.cfg.Low {
		// Still slow at the least limit: the latency is not of this
		// limiter's making, so it becomes the baseline, in steps.
		if a.stuck++; a.stuck >= 3 {
			a.base += (m - a.base) / 4
		}
		return limit
	}
	a.stuck = 0
	if r > a.cfg.High && a.futileDescent(limit, m) {
		// Shallow cuts that halved the limit and left the latency
		// within a tenth of what it was: the same lesson.
		a.base, r = m, 1
		a.descent = a.descent[:0]
	}
	switch {
	case r > a.cfg.High:
		if len(a.descent) == maxDescent {
			a.descent = append(a.descent[:0], a.descent[1:]...)
		}
		a.descent = append(a.descent, step{limit, m})
		from := limit
		if !used {
			from = max(a.peak, 1) // cut what is in use, not an idle allowance
		}
		f := max(0.5, mid/r)
		a.cutM, a.cutDeep = m, f <= 0.6 // the next window shows whether it was a queue
		return max(a.cfg.Min, min(limit-1, int(float64(from)*f)))
	case r < a.cfg.Low && used:
		a.descent = a.descent[:0]
		// Grow by Low/r, between an eighth and a half: fast when
		// nothing queues, gently near the band.
		g := min(1.5, max(1.125, a.cfg.Low/r))
		return min(a.cfg.Max, max(limit+1, int(float64(limit)*g)))
	}
	return limit
}

// futileDescent reports whether, since the limit last grew, it has been
// cut from twice limit or more while the median latency stayed within a
// tenth of what it was then: a queue of ours would have shrunk with it.
func (a *adaptState) futileDescent(limit int, m time.Duration) bool {
	for i := len(a.descent) - 1; i >= 0; i-- {
		if s := a.descent[i]; s.limit >= 2*limit {
			return m >= s.m-s.m/10
		}
	}
	return false
}
