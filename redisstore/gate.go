package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tempestsdk/tempest/ratelimit"
)

// DefaultLocalShare is the share of its limit a [Gate] admits on its own
// while Redis is out of reach, unless [WithLocalShare] says otherwise.
const DefaultLocalShare = 1.0 / 3

// Default bounds of the backoff between attempts to reach Redis again,
// unless [WithBackoff] says otherwise.
const (
	DefaultBackoffMin = 100 * time.Millisecond
	DefaultBackoffMax = 5 * time.Second
)

// Gate is a rate limit shared by every process whose [Store] uses the same
// Redis and namespace: a [ratelimit.Gate] for httpclient.RateLimit.Gate.
// Make one with [Store.RateGate]. It is safe for concurrent use, and starts
// no goroutine.
type Gate struct {
	s       *Store
	key     string // the user's
	rkey    []string
	argT    any // T in microseconds, boxed once for the scripts' ARGV
	argTol  any // (Burst-1)*T in microseconds
	limit   ratelimit.Limit
	local   *ratelimit.Limiter
	share   float64
	onTrans func(up bool)
	bmin    time.Duration
	bmax    time.Duration

	down atomic.Bool // the fast path's view of st.down

	mu sync.Mutex
	st gateState

	leaseN   int           // events a Redis call takes at most; 1: no lease
	leaseTTL time.Duration // how long a lease may be handed out
	lmu      sync.Mutex    // guards lease only; never held across a call
	lease    leaseState
}

// leaseState is the events a Gate holds from Redis to hand out without a
// round trip ([WithLease]), under Gate.lmu.
type leaseState struct {
	n         int       // events held, at most leaseN-1
	at        time.Time // the time Redis took them for; earlier events may not use them
	exp       time.Time // at plus the lease's TTL: past it, they are given back
	refilling bool      // a Take is asking Redis for a new lease
}

// gateState is where a Gate stands with Redis, under Gate.mu.
type gateState struct {
	down    bool
	since   time.Time // when Redis was lost
	probing bool      // a Take is asking Redis whether it is back
	backoff time.Duration
	retryAt time.Time
}

// GateOption configures a Gate.
type GateOption func(*gateConfig)

type gateConfig struct {
	share    float64
	onTrans  func(up bool)
	bmin     time.Duration
	bmax     time.Duration
	leaseN   int
	leaseTTL time.Duration
	errs     []error
}

// WithLocalShare sets the share of the limit a Gate admits on its own
// while Redis is out of reach: its rate and its burst are f times the
// limit's (the burst at least 1). f must be in (0, 1]. Default
// [DefaultLocalShare], 1/3.
//
// With Redis gone, each of the fleet's N processes enforces its share on
// its own, so the fleet admits about N*f times the limit: set f to 1/N to
// keep to the limit. The default suits a fleet of about three replicas,
// errs towards a smaller fleet admitting less than the limit rather than
// a larger one admitting much more, and keeps a single process working at
// a third of its rate.
func WithLocalShare(f float64) GateOption {
	return func(c *gateConfig) {
		if !(f > 0 && f <= 1) {
			c.errs = append(c.errs, fmt.Errorf("%w: WithLocalShare(%v) must be in (0, 1]", ErrInvalidConfig, f))
			return
		}
		c.share = f
	}
}

// WithOnTransition sets a function called when the Gate loses Redis
// (up false) and when it has it back (up true), once per transition, on
// the goroutine of the Take or Return that saw it, outside every lock. A
// panic in it is recovered and logged.
func WithOnTransition(fn func(up bool)) GateOption {
	return func(c *gateConfig) { c.onTrans = fn }
}

// WithBackoff sets how long a Gate that lost Redis leaves it alone before
// asking again: min after the loss, doubling after each failed attempt up
// to max, each wait drawn at random from its upper half (jitter). Default
// [DefaultBackoffMin] to [DefaultBackoffMax]. It needs 0 < min <= max.
func WithBackoff(min, max time.Duration) GateOption {
	return func(c *gateConfig) {
		if min <= 0 || max < min {
			c.errs = append(c.errs, fmt.Errorf("%w: WithBackoff(%v, %v) needs 0 < min <= max", ErrInvalidConfig, min, max))
			return
		}
		c.bmin, c.bmax = min, max
	}
}

// WithLease lets a Gate take up to n events from Redis in one call and
// hand them out itself, so that most calls cost no round trip. n must be
// from 1 to the limit's Burst (a lease is only ever granted from the
// events free at once); 1, the default, leases nothing.
//
// A Take that finds no lease asks Redis as without one, for up to n
// events: the script admits the event as it would, and when it admits it
// at once (wait 0) it takes, in the same atomic step, as many more events
// as are free at that moment, up to n in all. It does not ask for all n or
// nothing, which a busy key would seldom grant. The first event is the
// Take's; the rest are the lease, which later Takes of this Gate (fail-fast
// or waiting: an event from the lease waits 0) use without Redis until it
// is used up. A Return puts its event into the lease while the lease is
// fresh and holds fewer than n-1, else gives it to Redis as without one.
// Only one Take at a time asks for a new lease; the others ask Redis for
// their one event meanwhile. The lease is a counter under a mutex of its
// own, never held across a Redis call, and the Gate still starts no
// goroutine.
//
// A lease grows stale [WithLeaseTTL] after it was taken (default n
// emission intervals, n*Per/Rate): its events are no longer handed out,
// and the next Take or Return of the Gate gives them back to Redis (in the
// script it runs anyway, or with its own Return), best effort: a Gate that
// goes idle gives its lease back only at its next call, and a lease held
// when Redis is lost is used up first and then lost (the key refills on
// its own by then).
//
// What it trades away: Redis counts leased events when they are leased,
// while they are used later, by one replica. With R replicas each holding
// up to n-1 leased events, the fleet can admit up to R*(n-1) events more
// at once than its Burst: over any interval of length d it admits at most
// Burst + d*Rate/Per + R*(n-1) events, where without a lease it admits
// Burst + d*Rate/Per. Events leased and not used are lost to the rest of
// the fleet until the lease is used, given back, or the key has refilled
// (at most a TTL while the Gate is called). An event taken with a wait
// and given back into the lease may be handed out before its slot would
// have come, by at most that wait. Under a load that keeps the key at its
// limit, leases hold one event or none (one event is free at a time), so
// leasing saves round trips below the limit, where a call is admitted at
// once, not on refusals, which still ask Redis.
func WithLease(n int) GateOption {
	return func(c *gateConfig) {
		if n < 1 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithLease(%d) must be at least 1", ErrInvalidConfig, n))
			return
		}
		c.leaseN = n
	}
}

// WithLeaseTTL sets how long a lease ([WithLease]) may be handed out after
// Redis granted it, before its unused events are given back: default n
// emission intervals (n*Per/Rate), the time the fleet takes to earn them
// back. d must be positive. Without a lease (n of 1) it does nothing.
func WithLeaseTTL(d time.Duration) GateOption {
	return func(c *gateConfig) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithLeaseTTL(%v) must be positive", ErrInvalidConfig, d))
			return
		}
		c.leaseTTL = d
	}
}

// RateGate returns the rate limit of key, shared by every process whose
// Store has the same Redis and namespace. Processes sharing a key should
// give it the same limit: each call takes by the limit of its own Gate.
// The Redis key is ns:rl:{key}. key must not be empty nor hold a brace.
//
// Time is Redis's (TIME), so that the clocks of the fleet do not matter.
// The now of Take and Return is the local fallback's and the backoff's;
// for Redis only its lead over this process's clock counts (a now in the
// future, for an event that is to happen then, as ratelimit.Gate allows:
// the event is placed that far after Redis's now, and its wait counted
// from there). A now in the past counts as the present.
// Redis counts in microseconds: the emission interval Per/Rate is rounded
// to one, and must be at least one (a rate of at most a million per
// second).
func (s *Store) RateGate(key string, limit ratelimit.Limit, opts ...GateOption) (*Gate, error) {
	if key == "" || strings.ContainsAny(key, "{}") {
		return nil, fmt.Errorf("%w: rate limit key %q: empty or holding a brace", ErrInvalidConfig, key)
	}
	cfg := gateConfig{share: DefaultLocalShare, bmin: DefaultBackoffMin, bmax: DefaultBackoffMax, leaseN: 1}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	l, err := ratelimit.New(limit)
	if err != nil {
		return nil, err
	}
	limit = l.Limit()
	exact := float64(limit.Per) / float64(limit.Rate) / float64(time.Microsecond)
	interval := int64(math.Round(exact))
	if exact < 1 {
		return nil, fmt.Errorf("%w: %d per %v is more than one event per microsecond, Redis's resolution", ratelimit.ErrInvalidLimit, limit.Rate, limit.Per)
	}
	local, err := ratelimit.New(localLimit(limit, cfg.share))
	if err != nil {
		return nil, fmt.Errorf("%w: the local share %v of %+v: %w", ErrInvalidConfig, cfg.share, limit, err)
	}
	if cfg.leaseN > limit.Burst {
		return nil, fmt.Errorf("%w: WithLease(%d) is more than the burst %d: a lease is never granted beyond it", ErrInvalidConfig, cfg.leaseN, limit.Burst)
	}
	if cfg.leaseTTL == 0 {
		cfg.leaseTTL = time.Duration(cfg.leaseN) * time.Duration(interval) * time.Microsecond
	}
	return &Gate{
		s:        s,
		key:      key,
		rkey:     []string{s.key("rl", key)},
		argT:     interval,
		argTol:   int64(limit.Burst-1) * interval,
		limit:    limit,
		local:    local,
		share:    cfg.share,
		onTrans:  cfg.onTrans,
		bmin:     cfg.bmin,
		bmax:     cfg.bmax,
		leaseN:   cfg.leaseN,
		leaseTTL: cfg.leaseTTL,
	}, nil
}

// localLimit is share of l: the same Rate over a longer Per, so that the
// rate stays exact, and the burst scaled (at least 1).
func localLimit(l ratelimit.Limit, share float64) ratelimit.Limit {
	per := float64(l.Per) / share
	if per > math.MaxInt64 {
		per = math.MaxInt64
	}
	burst := max(1, int(math.Round(float64(l.Burst)*share)))
	return ratelimit.Limit{Rate: l.Rate, Per: time.Duration(per), Burst: min(burst, l.Rate)}
}

// Limit returns the limit the Gate was made with, defaults filled in.
func (g *Gate) Limit() ratelimit.Limit { return g.limit }

// Key returns the Redis key that holds the Gate's state.
func (g *Gate) Key() string { return g.rkey[0] }

// Take admits one event if its wait is at most maxWait, and returns the
// wait; otherwise it takes nothing and returns a *ratelimit.LimitedError
// saying when to retry, as ratelimit.Limiter.Take does, but counting every
// process that shares the key. It returns no other error.
//
// With a lease ([WithLease]) that holds an event, it takes one from the
// lease, with no Redis call, and waits 0. Otherwise it makes one Redis
// call (which may take a new lease), bounded by the Store's timeout and
// ctx. When
// that fails, or while the Gate is backing off after a failure, the event
// is admitted or refused by the Gate's local share of the limit instead
// (see [WithLocalShare]), and Redis is not asked at all until the backoff
// has passed; then one Take asks it again. A call cut short by ctx is
// answered locally too, without counting as a failure of Redis.
func (g *Gate) Take(ctx context.Context, now time.Time, maxWait time.Duration) (time.Duration, error) {
	maxWait = max(maxWait, 0)
	n, back := 1, 0
	var at time.Time
	if g.leaseN > 1 {
		var leased bool
		if leased, n, back, at = g.fromLease(now); leased {
			return 0, nil
		}
	}
	probe := false
	if g.down.Load() {
		var ask bool
		if ask, probe = g.shouldProbe(now); !ask {
			if n > 1 {
				g.refilled(at, 0)
			}
			return g.local.Take(ctx, now, maxWait)
		}
	}
	wait, granted, err := g.takeRedis(ctx, lead(now), maxWait, n, back)
	if n > 1 {
		g.refilled(at, granted)
	}
	var le *ratelimit.LimitedError
	if err == nil || errors.As(err, &le) {
		if probe {
			g.recovered(ctx, now)
		}
		return wait, err
	}
	if ctx.Err() != nil {
		// The caller gave up, not Redis.
		if probe {
			g.mu.Lock()
			g.st.probing = false
			g.mu.Unlock()
		}
	} else {
		g.failed(ctx, now, probe, err)
	}
	return g.local.Take(ctx, now, maxWait)
}

// Return gives back one event admitted earlier and not used, best effort:
// into the Gate's lease when it has a fresh one with room ([WithLease]),
// else to Redis when the Gate has it (a call bounded by the Store's
// timeout, which also gives back a stale lease), else to the local share.
// Its errors are not returned: a failure counts as a loss of Redis, logged
// once with the others.
func (g *Gate) Return(now time.Time) {
	back := 0
	if g.leaseN > 1 {
		var kept bool
		if kept, back = g.toLease(now); kept {
			return
		}
	}
	if g.down.Load() {
		g.local.Return(now)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), g.s.timeout)
	defer cancel()
	if err := g.returnRedis(ctx, lead(now), 1+back); err != nil {
		g.failed(ctx, now, false, err)
	}
}

// returnRedis runs the Return script for k events.
func (g *Gate) returnRedis(ctx context.Context, lead int64, k int) (err error) {
	defer recoverAs(&err)
	by := g.argT
	if k > 1 {
		by = int64(k) * g.argT.(int64)
	}
	return returnScript.Run(ctx, g.s.rdb, g.rkey, by, lead).Err()
}

// eventTime is the time of an event at now on this process's clock: now,
// but not before the present, as lead counts it. A lease holds events
// free at its time: an event at an earlier time may not use them.
func eventTime(now time.Time) (at, present time.Time) {
	present = time.Now()
	if now.After(present) {
		return now, present
	}
	return present, present
}

// fromLease takes an event at now from the lease (leased true). Otherwise
// it says how many events to ask Redis for (n: the lease's size when this
// Take is to refill it, else 1), and how many of a stale lease to give
// back (back), and the event's time (at), for refilled.
func (g *Gate) fromLease(now time.Time) (leased bool, n, back int, at time.Time) {
	at, present := eventTime(now)
	g.lmu.Lock()
	defer g.lmu.Unlock()
	l := &g.lease
	if l.n > 0 && present.After(l.exp) {
		back, l.n = l.n, 0
	}
	if l.n > 0 && !at.Before(l.at) {
		l.n--
		return true, 0, 0, at
	}
	n = 1
	if l.n == 0 && !l.refilling {
		l.refilling = true
		n = g.leaseN
	}
	return false, n, back, at
}

// refilled ends the refill fromLease began: granted events were taken at
// at (0 when Redis refused or failed), the first of them by the Take.
func (g *Gate) refilled(at time.Time, granted int) {
	g.lmu.Lock()
	defer g.lmu.Unlock()
	l := &g.lease
	l.refilling = false
	if granted > 1 {
		// l.n is 0: only fromLease, which takes, ran meanwhile.
		l.n = min(granted, g.leaseN) - 1
		l.at, l.exp = at, at.Add(g.leaseTTL)
	}
}

// toLease puts an event given back at now into a fresh lease with room
// (kept true); otherwise it empties a stale lease and says how many events
// to give back to Redis with this one.
func (g *Gate) toLease(now time.Time) (kept bool, back int) {
	at, present := eventTime(now)
	g.lmu.Lock()
	defer g.lmu.Unlock()
	l := &g.lease
	if present.After(l.exp) {
		back, l.n = l.n, 0
		return false, back
	}
	if !l.refilling && !at.Before(l.at) && l.n < g.leaseN-1 {
		l.n++
		return true, 0
	}
	return false, 0
}

// maxLead bounds how far ahead of Redis's clock an event may be placed,
// so that the script's sums stay exact in Lua's doubles.
const maxLead = int64(1) << 40 // microseconds, about 12.7 days

// lead is how far now is ahead of this process's clock, in microseconds:
// the event's time on Redis's clock is Redis's now plus it. A now in the
// past counts as the present: Redis is not asked to admit events before
// its own now.
func lead(now time.Time) int64 {
	return min(max(int64(time.Until(now)/time.Microsecond), 0), maxLead)
}

// recoverAs turns a panic of the Redis client (a typed nil in the
// interface, a broken hook or wrapper) into an error, a failure of Redis
// like any other.
func recoverAs(err *error) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("redisstore: the Redis client panicked: %v", v)
	}
}

// takeRedis runs the script, for up to n events after giving back back
// ones: nil or a *ratelimit.LimitedError from Redis, with the events
// granted (at least 1 when admitted, 0 when not), any other error for a
// Redis that did not answer as it should.
func (g *Gate) takeRedis(ctx context.Context, lead int64, maxWait time.Duration, n, back int) (_ time.Duration, granted int, err error) {
	defer recoverAs(&err)
	ctx, cancel := context.WithTimeout(ctx, g.s.timeout)
	defer cancel()
	res, err := takeScript.Run(ctx, g.s.rdb, g.rkey, g.argT, g.argTol, int64(maxWait/time.Microsecond), lead, n, back).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	if len(res) != 4 || res[1] < 0 || res[2] < 0 || (res[0] == 1) != (res[3] >= 1) || res[3] > int64(n) {
		return 0, 0, fmt.Errorf("redisstore: the rate limit script answered %v", res)
	}
	if res[0] != 1 {
		return 0, 0, &ratelimit.LimitedError{RetryAfter: usToDuration(res[2])}
	}
	return usToDuration(res[1]), int(res[3]), nil
}

func usToDuration(us int64) time.Duration {
	if us > math.MaxInt64/int64(time.Microsecond) {
		return math.MaxInt64
	}
	return time.Duration(us) * time.Microsecond
}

// shouldProbe reports, for a Gate that lost Redis, whether this call asks
// Redis (and is then the one probe), or answers locally.
func (g *Gate) shouldProbe(now time.Time) (ask, probe bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.st.down {
		return true, false // recovered meanwhile
	}
	if g.st.probing || now.Before(g.st.retryAt) {
		return false, false
	}
	g.st.probing = true
	return true, true
}

// failed records a failed Redis call: the loss of Redis (logged, and the
// hook called) when the Gate had it, a longer backoff after a failed probe.
func (g *Gate) failed(ctx context.Context, now time.Time, probe bool, err error) {
	g.mu.Lock()
	var lost bool
	switch {
	case probe:
		g.st.probing = false
		g.st.backoff = min(2*g.st.backoff, g.bmax)
		g.st.retryAt = now.Add(g.jitter(g.st.backoff))
	case !g.st.down:
		lost = true
		g.st.down, g.st.since = true, now
		g.st.backoff = g.bmin
		g.st.retryAt = now.Add(g.jitter(g.st.backoff))
		g.down.Store(true)
	}
	retryIn := g.st.retryAt.Sub(now)
	g.mu.Unlock()
	if !lost {
		return
	}
	g.s.log.LogAttrs(ctx, slog.LevelWarn, "redisstore: Redis is out of reach; the rate limit falls back to a local share",
		slog.String("key", g.key), slog.Float64("share", g.share), slog.Duration("retry_in", retryIn), slog.Any("error", err))
	g.notify(ctx, false)
}

// recovered records a successful probe: the Gate has Redis again.
func (g *Gate) recovered(ctx context.Context, now time.Time) {
	g.mu.Lock()
	downFor := now.Sub(g.st.since)
	g.st = gateState{}
	g.down.Store(false)
	g.mu.Unlock()
	g.s.log.LogAttrs(ctx, slog.LevelInfo, "redisstore: Redis is back; the rate limit is shared again",
		slog.String("key", g.key), slog.Duration("down_for", downFor))
	g.notify(ctx, true)
}

// jitter is a wait drawn from the upper half of d.
func (g *Gate) jitter(d time.Duration) time.Duration {
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(d-half+1)
}

// notify calls the transition hook, recovering a panic.
func (g *Gate) notify(ctx context.Context, up bool) {
	if g.onTrans == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			g.s.log.LogAttrs(ctx, slog.LevelError, "redisstore: the WithOnTransition hook panicked",
				slog.String("key", g.key), slog.Bool("up", up), slog.String("panic", fmt.Sprint(v)))
		}
	}()
	g.onTrans(up)
}

var _ ratelimit.Gate = (*Gate)(nil)
