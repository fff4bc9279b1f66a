package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Limit is a rate: at most Rate events per Per, in bursts of up to Burst.
type Limit struct {
	// Rate is how many events Per allows. It must be positive.
	Rate int
	// Per is the interval Rate counts over. Default one second.
	Per time.Duration
	// Burst is how many events may go back to back after an idle spell.
	// Default 1: events are spaced evenly. It may not exceed Rate.
	Burst int
}

// ErrInvalidLimit is wrapped by the error New returns for a bad Limit.
var ErrInvalidLimit = errors.New("ratelimit: invalid limit")

// ErrLimited is what a refused event's error answers to errors.Is.
var ErrLimited = errors.New("ratelimit: rate limited")

// LimitedError is the error of an event the limiter refused: it would
// have had to wait longer than allowed.
type LimitedError struct {
	// RetryAfter is how long from the refusal until an event would be
	// admitted at once, if nothing else took it first.
	RetryAfter time.Duration
}

func (e *LimitedError) Error() string {
	return fmt.Sprintf("ratelimit: rate limited; retry after %v", e.RetryAfter)
}

// Unwrap returns ErrLimited.
func (e *LimitedError) Unwrap() error { return ErrLimited }

// Gate is what admits events: a *Limiter, or a limiter shared with other
// processes (the redisstore module's). Take and Return follow Limiter's;
// Take's now may be in the future, for an event that is to happen then
// (a caller that must first wait for another limit's slot).
type Gate interface {
	Take(ctx context.Context, now time.Time, maxWait time.Duration) (wait time.Duration, err error)
	Return(now time.Time)
}

// Limiter admits events at a Limit. The zero Limiter is not usable; make
// one with New.
type Limiter struct {
	interval  int64     // T, nanoseconds per event
	tolerance int64     // (Burst-1)*T
	epoch     time.Time // TAT is nanoseconds since it; carries a monotonic reading
	tat       atomic.Int64
	limit     Limit
}

// New returns a Limiter for l, or an error wrapping ErrInvalidLimit.
func New(l Limit) (*Limiter, error) {
	l, err := l.resolve()
	if err != nil {
		return nil, err
	}
	interval := int64(l.Per) / int64(l.Rate)
	if interval < 1 {
		return nil, fmt.Errorf("%w: %d per %v is more than one event per nanosecond", ErrInvalidLimit, l.Rate, l.Per)
	}
	lim := &Limiter{interval: interval, tolerance: int64(l.Burst-1) * interval, epoch: time.Now(), limit: l}
	lim.tat.Store(-horizon) // idle: a full burst is available
	return lim, nil
}

// MaxPer is the longest Per a Limit may have. With times kept within
// ±horizon of the epoch, no sum the limiter makes can overflow.
const MaxPer = 10000 * time.Hour

// horizon bounds the times the limiter works with, in nanoseconds from its
// epoch (about 73 years): a time outside is taken as the bound, and a
// queue of waiters whose last slot would be further than this is refused.
const horizon = int64(1) << 61

func (l Limit) resolve() (Limit, error) {
	if l.Per == 0 {
		l.Per = time.Second
	}
	if l.Burst == 0 {
		l.Burst = 1
	}
	switch {
	case l.Rate <= 0:
		return l, fmt.Errorf("%w: Rate %d must be positive", ErrInvalidLimit, l.Rate)
	case l.Per < 0 || l.Per > MaxPer:
		return l, fmt.Errorf("%w: Per %v must be positive and at most %v", ErrInvalidLimit, l.Per, MaxPer)
	case l.Burst < 0 || l.Burst > l.Rate:
		return l, fmt.Errorf("%w: Burst %d must be 1 to Rate (%d)", ErrInvalidLimit, l.Burst, l.Rate)
	}
	return l, nil
}

// Limit returns the limit the Limiter was made with, defaults filled in.
func (l *Limiter) Limit() Limit { return l.limit }

// since is now as nanoseconds since the epoch, by the monotonic clock
// when now carries one, within ±horizon (a zero Time is far in the past).
func (l *Limiter) since(now time.Time) int64 {
	return min(max(int64(now.Sub(l.epoch)), -horizon), horizon)
}

// FullAt returns when the limiter will have its whole burst again if
// nothing takes from it: a time not after now for an idle limiter.
func (l *Limiter) FullAt() time.Time { return l.epoch.Add(time.Duration(l.tat.Load())) }

// Take admits one event at now if it would wait at most maxWait, and
// returns the wait (0 when admitted at once). Otherwise it takes nothing
// and returns a *LimitedError. A negative maxWait counts as 0. ctx is not
// read: a Limiter never blocks (it is in Gate's signature for shared
// limiters, which make a round trip).
func (l *Limiter) Take(_ context.Context, now time.Time, maxWait time.Duration) (time.Duration, error) {
	t := l.since(now)
	for {
		tat := l.tat.Load()
		start := max(tat, t)
		wait := max(start-l.tolerance-t, 0)
		if wait > int64(max(maxWait, 0)) || start > 2*horizon {
			// Too long to wait, or a queue so long that its next slot is
			// past any time the limiter keeps: refused either way.
			return 0, &LimitedError{RetryAfter: time.Duration(wait)}
		}
		if l.tat.CompareAndSwap(tat, start+l.interval) {
			return time.Duration(wait), nil
		}
	}
}

// Return gives back one event admitted earlier and not used: the next
// event is admitted one interval sooner, though never sooner than an idle
// limiter would admit it.
func (l *Limiter) Return(now time.Time) {
	t := l.since(now)
	for {
		tat := l.tat.Load()
		next := max(tat-l.interval, t)
		if next >= tat || l.tat.CompareAndSwap(tat, next) {
			return
		}
	}
}

// Wait takes one event and sleeps its wait, but not past ctx's deadline: an
// event whose wait would end after the deadline is refused at once with a
// *LimitedError, taking nothing. It returns ctx's error, having returned
// the event, when ctx ends during the wait.
func (l *Limiter) Wait(ctx context.Context) error {
	return WaitGate(ctx, l, -1)
}

// WaitGate is Wait for any Gate, waiting at most maxWait (a negative one:
// as long as ctx's deadline allows, or without bound with no deadline).
func WaitGate(ctx context.Context, g Gate, maxWait time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	now := time.Now()
	limit := maxWait
	if dl, ok := ctx.Deadline(); ok && (limit < 0 || dl.Sub(now) < limit) {
		limit = max(dl.Sub(now), 0)
	}
	if limit < 0 {
		limit = math.MaxInt64
	}
	wait, err := g.Take(ctx, now, limit)
	if err != nil {
		return err
	}
	if wait > limit {
		// A Gate that answers past what it was asked: refused, and the
		// event given back.
		g.Return(now)
		return &LimitedError{RetryAfter: wait}
	}
	if wait <= 0 {
		return nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		g.Return(time.Now())
		return ctx.Err()
	}
}
