package redisstore

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/tempestsdk/tempest/httpclient"
)

// Defaults of [Store.Breakers], unless its options say otherwise.
const (
	// DefaultPollInterval is how often Breakers reads the state of the
	// origins it has learned, in case a message was missed
	// ([WithPollInterval]).
	DefaultPollInterval = 5 * time.Second
	// DefaultMaxOrigins bounds the origins Breakers polls
	// ([WithMaxOrigins]).
	DefaultMaxOrigins = 10_000
	// DefaultQueueSize bounds the work Breakers has queued for Redis
	// ([WithQueueSize]).
	DefaultQueueSize = 1024
)

// subscriberPing is how long the subscriber waits for a message before it
// pings Redis, and waits for the pong, to tell a quiet channel from a
// Redis that hangs.
const subscriberPing = time.Second

// pollBatch is how many PTTLs one pipeline of a poll carries, each
// pipeline bounded by the Store's timeout.
const pollBatch = 500

// Breakers shares an httpclient.Client's circuit breakers with the other
// replicas of a service through Redis: an [httpclient.SharedBreakers] for
// httpclient.WithSharedBreakers (R72). Make one with [Store.Breakers], one
// per client, and Close it after the client.
//
// It runs two goroutines: a worker, which makes the Redis calls of
// Opened, Closed and Learn (they only queue them) and the periodic poll,
// and a subscriber, which listens to the channel of the namespace and
// reports what the other replicas did. No method of the client waits for
// Redis but Probe, which is one round trip bounded by the Store's timeout,
// made on a half-open probe's path only.
type Breakers struct {
	s        *Store
	id       string // the replica's, in its messages and its probe tokens
	channel  string // ns:br
	poll     time.Duration
	maxOrig  int
	onTrans  func(up bool)
	bmin     time.Duration
	bmax     time.Duration
	watch    atomic.Pointer[func(origin string, open bool, d time.Duration)]
	jobs     chan job
	pollNow  chan struct{}
	dropped  atomic.Uint64
	dropOnce sync.Once

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	ps        *redis.PubSub // nil when the client could not make one
	closed    atomic.Bool
	closeOnce sync.Once

	lmu     sync.Mutex
	learned map[string]*list.Element // the origins polled, oldest first in order
	order   list.List

	down atomic.Bool // the fast path's view of st.down
	mu   sync.Mutex
	st   gateState
}

// job is one piece of work queued for the worker.
type job struct {
	kind   jobKind
	origin string
	d      time.Duration
}

type jobKind uint8

const (
	jobOpened jobKind = iota + 1
	jobClosed
	jobLearn
)

// BreakerOption configures [Store.Breakers].
type BreakerOption func(*breakerConfig)

type breakerConfig struct {
	poll    time.Duration
	maxOrig int
	queue   int
	onTrans func(up bool)
	bmin    time.Duration
	bmax    time.Duration
	errs    []error
}

// WithPollInterval sets how often Breakers reads, in one pipeline of
// PTTLs, the state of every origin it has learned, and reports those open
// (the fallback for a message the subscriber missed, while it reconnected
// say). d must be positive. Default [DefaultPollInterval].
func WithPollInterval(d time.Duration) BreakerOption {
	return func(c *breakerConfig) {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithPollInterval(%v) must be positive", ErrInvalidConfig, d))
			return
		}
		c.poll = d
	}
}

// WithMaxOrigins bounds the origins Breakers remembers for its poll: past
// n, the one learned longest ago is forgotten first. n must be positive.
// Default [DefaultMaxOrigins].
func WithMaxOrigins(n int) BreakerOption {
	return func(c *breakerConfig) {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithMaxOrigins(%d) must be positive", ErrInvalidConfig, n))
			return
		}
		c.maxOrig = n
	}
}

// WithQueueSize bounds the Opened, Closed and Learn calls queued for the
// worker: when the queue is full (Redis slow or hung), a call is dropped,
// counted ([Breakers.Dropped]) and logged once, and the caller never
// waits. n must be positive. Default [DefaultQueueSize].
func WithQueueSize(n int) BreakerOption {
	return func(c *breakerConfig) {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("%w: WithQueueSize(%d) must be positive", ErrInvalidConfig, n))
			return
		}
		c.queue = n
	}
}

// WithBreakerOnTransition sets a function called when Breakers loses
// Redis (up false) and when it has it back (up true), once per
// transition, outside every lock, on the goroutine that saw it. A panic in
// it is recovered and logged.
func WithBreakerOnTransition(fn func(up bool)) BreakerOption {
	return func(c *breakerConfig) { c.onTrans = fn }
}

// WithBreakerBackoff sets how long Breakers that lost Redis leaves it
// alone before asking again, as [WithBackoff] does for a Gate: min after
// the loss, doubling up to max, with jitter. Default [DefaultBackoffMin]
// to [DefaultBackoffMax]. It needs 0 < min <= max.
func WithBreakerBackoff(min, max time.Duration) BreakerOption {
	return func(c *breakerConfig) {
		if min <= 0 || max < min {
			c.errs = append(c.errs, fmt.Errorf("%w: WithBreakerBackoff(%v, %v) needs 0 < min <= max", ErrInvalidConfig, min, max))
			return
		}
		c.bmin, c.bmax = min, max
	}
}

// Breakers returns the circuit breakers of one replica, shared through
// Redis with every replica whose Store has the same Redis and namespace,
// for httpclient.WithSharedBreakers (R72):
//
//	br, err := store.Breakers()
//	...
//	client, err := httpclient.New(base, httpclient.WithCircuitBreaker(5, 10*time.Second), httpclient.WithSharedBreakers(br))
//	...
//	defer br.Close()     // after the client's Close
//	defer client.Close()
//
// Each Breakers is one replica, with a random id: give each client its
// own. It starts its goroutines and returns at once, Redis up or not; its
// Close stops them, and must be called after the client's Close, since
// the client calls it until then. See the package documentation for the
// keys, the scripts and the messages.
func (s *Store) Breakers(opts ...BreakerOption) (*Breakers, error) {
	cfg := breakerConfig{poll: DefaultPollInterval, maxOrig: DefaultMaxOrigins, queue: DefaultQueueSize,
		bmin: DefaultBackoffMin, bmax: DefaultBackoffMax}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	if err := errors.Join(cfg.errs...); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &Breakers{
		s:       s,
		id:      strconv.FormatUint(rand.Uint64(), 36),
		channel: s.ns + ":br",
		poll:    cfg.poll,
		maxOrig: cfg.maxOrig,
		onTrans: cfg.onTrans,
		bmin:    cfg.bmin,
		bmax:    cfg.bmax,
		jobs:    make(chan job, cfg.queue),
		pollNow: make(chan struct{}, 1),
		ctx:     ctx,
		cancel:  cancel,
		learned: make(map[string]*list.Element),
	}
	b.ps = b.newPubSub()
	b.wg.Add(1)
	go b.work()
	if b.ps != nil {
		b.wg.Add(1)
		go b.subscribe()
	}
	return b, nil
}

// newPubSub makes the PubSub of the subscriber, with no channel yet: it
// sends nothing. A client that panics makes none: Breakers then hears
// nothing from the others, and the poll is all it has.
func (b *Breakers) newPubSub() (ps *redis.PubSub) {
	defer func() {
		if v := recover(); v != nil {
			ps = nil
			b.lost(b.ctx, fmt.Errorf("redisstore: the Redis client panicked: %v", v))
		}
	}()
	return b.s.rdb.Subscribe(b.ctx)
}

// Close stops the Breakers' goroutines and waits for them; the work still
// queued is dropped. Call it after the client's Close: the client calls
// Opened, Closed, Learn and Probe until then (after Close they do nothing
// and Probe says true). It closes the subscriber's connection, not the
// Redis client, which its owner closes. It may be called more than once.
// It waits at most twice the Store's timeout (at least 1s): past that,
// with the subscriber still blocked on a Redis that accepted its
// connection and never answers, it returns an error, and that goroutine
// ends when the connection does.
func (b *Breakers) Close() error {
	var err error
	b.closeOnce.Do(func() {
		b.closed.Store(true)
		b.cancel()
		stopped := make(chan struct{})
		go func() {
			if b.ps != nil {
				_ = b.ps.Close()
			}
			b.wg.Wait()
			close(stopped)
		}()
		// A Redis that accepted the subscriber's connection and never
		// answers holds go-redis's PubSub lock until its read times
		// out (or forever, with no read timeout): Close does not wait
		// for it past a bound.
		t := time.NewTimer(max(2*b.s.timeout, time.Second))
		defer t.Stop()
		select {
		case <-stopped:
		case <-t.C:
			err = errors.New("redisstore: Close: the subscriber is still blocked on a Redis that does not answer; it ends when that connection does")
		}
	})
	return err
}

// Dropped returns how many Opened, Closed and Learn calls were dropped
// because the queue was full.
func (b *Breakers) Dropped() uint64 { return b.dropped.Load() }

// key is origin's state key, ns:br:{origin}.
func (b *Breakers) key(origin string) string { return b.s.key("br", origin) }

// Opened queues the publication that origin's circuit opened here for d:
// the Opened script, run by the worker. It never waits.
func (b *Breakers) Opened(origin string, d time.Duration) {
	if d > 0 && !badOrigin(origin) {
		b.enqueue(job{kind: jobOpened, origin: origin, d: d})
	}
}

// Closed queues the publication that a probe closed origin's circuit here:
// the Closed script, run by the worker. It never waits.
func (b *Breakers) Closed(origin string) {
	if !badOrigin(origin) {
		b.enqueue(job{kind: jobClosed, origin: origin})
	}
}

// Learn queues a read of origin's state: the worker reads its PTTL,
// reports it through the Watch function when it is open, and adds origin
// to the origins it polls. It never waits.
func (b *Breakers) Learn(origin string) {
	if !badOrigin(origin) {
		b.enqueue(job{kind: jobLearn, origin: origin})
	}
}

// Watch sets the function through which Breakers reports what the other
// replicas did. It is called from the Breakers' goroutines, one call at a
// time from each, outside every lock; a panic in it is recovered and
// logged.
func (b *Breakers) Watch(f func(origin string, open bool, d time.Duration)) {
	if f == nil {
		b.watch.Store(nil)
		return
	}
	b.watch.Store(&f)
}

// Probe asks for the fleet's one probe of origin: the Probe script, one
// round trip bounded by the Store's timeout and ctx. It says true when
// this replica holds the probe token now (it took it, or held it
// already), false only when another replica holds it; and true, for a
// breaker that then runs local-only, when Redis does not answer, while
// Breakers backs off after losing Redis, and after Close.
func (b *Breakers) Probe(ctx context.Context, origin string, ttl time.Duration) bool {
	if b.closed.Load() || badOrigin(origin) {
		return true
	}
	ask, probe := b.shouldAsk()
	if !ask {
		return true
	}
	mine, err := b.probeRedis(ctx, origin, ttl)
	if err != nil && ctx.Err() != nil {
		b.cancelled(probe) // the caller gave up, not Redis
		return true
	}
	b.done(ctx, probe, err)
	return err != nil || mine
}

func (b *Breakers) probeRedis(ctx context.Context, origin string, ttl time.Duration) (_ bool, err error) {
	defer recoverAs(&err)
	ctx, cancel := context.WithTimeout(ctx, b.s.timeout)
	defer cancel()
	key := b.key(origin)
	n, err := probeScript.Run(ctx, b.s.rdb, []string{key + ":probe"}, b.id, ms(ttl)).Int64()
	return n == 1, err
}

// ms is d in whole milliseconds, rounded up, at least 1: Redis's PX. It
// saturates instead of overflowing for d near MaxInt64.
func ms(d time.Duration) int64 {
	if d > math.MaxInt64-time.Millisecond {
		return int64(math.MaxInt64 / time.Millisecond)
	}
	return max(1, int64((d+time.Millisecond-1)/time.Millisecond))
}

// read returns the replica that opened key's circuit and the break that
// remains (0 when none), in one pipeline.
func (b *Breakers) read(ctx context.Context, key string) (owner string, pttl time.Duration, err error) {
	var get *redis.StringCmd
	var ttl *redis.DurationCmd
	_, err = b.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.Get(ctx, key)
		ttl = p.PTTL(ctx, key)
		return nil
	})
	if errors.Is(err, redis.Nil) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	return get.Val(), max(ttl.Val(), 0), nil
}

// badOrigin reports an origin the keys cannot carry: a brace would move
// its hash tag, so that its keys could land in different Cluster slots.
// Such an origin is left local-only.
func badOrigin(origin string) bool { return origin == "" || strings.ContainsAny(origin, "{}") }

// enqueue queues j for the worker, or drops it when the queue is full.
func (b *Breakers) enqueue(j job) {
	if b.closed.Load() {
		return
	}
	select {
	case b.jobs <- j:
	default:
		n := b.dropped.Add(1)
		b.dropOnce.Do(func() {
			b.s.log.LogAttrs(context.Background(), slog.LevelWarn,
				"redisstore: the shared breakers' queue is full (Redis slow or out of reach); calls to Opened, Closed and Learn are dropped and counted",
				slog.Int("queue", cap(b.jobs)), slog.Uint64("dropped", n))
		})
	}
}

// work is the worker goroutine: it runs the queued jobs, one at a time,
// and the poll.
func (b *Breakers) work() {
	defer b.wg.Done()
	tick := time.NewTicker(b.poll)
	defer tick.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case j := <-b.jobs:
			b.run(j)
		case <-tick.C:
			b.pollOrigins()
		case <-b.pollNow:
			b.pollOrigins()
		}
	}
}

// run makes j's Redis call, unless Breakers is backing off after losing
// Redis: an Opened or Closed is then dropped (the circuit stays local),
// and a Learn only remembers the origin for the next poll.
func (b *Breakers) run(j job) {
	if j.kind == jobLearn {
		b.remember(j.origin)
	}
	ask, probe := b.shouldAsk()
	if !ask {
		return
	}
	ctx, cancel := context.WithTimeout(b.ctx, b.s.timeout)
	defer cancel()
	var pttl time.Duration
	err := func() (err error) {
		defer recoverAs(&err)
		key := b.key(j.origin)
		switch j.kind {
		case jobOpened:
			msg := "open " + b.id + " " + strconv.FormatInt(ms(j.d), 10) + " " + j.origin
			return openedScript.Run(ctx, b.s.rdb, []string{key}, ms(j.d), b.channel, msg, b.id).Err()
		case jobClosed:
			return closedScript.Run(ctx, b.s.rdb, []string{key, key + ":probe"}, b.channel, "closed "+b.id+" "+j.origin).Err()
		default:
			var owner string
			owner, pttl, err = b.read(ctx, key)
			if owner == b.id {
				pttl = 0 // this replica's own open: nothing to learn
			}
			return err
		}
	}()
	if err != nil && b.ctx.Err() != nil {
		b.cancelled(probe) // closing
		return
	}
	b.done(ctx, probe, err)
	if err == nil && j.kind == jobLearn && pttl > 0 {
		b.report(j.origin, true, pttl)
	}
}

// remember adds origin to the origins polled, forgetting the oldest past
// the bound.
func (b *Breakers) remember(origin string) {
	b.lmu.Lock()
	defer b.lmu.Unlock()
	if e, ok := b.learned[origin]; ok {
		b.order.MoveToBack(e)
		return
	}
	b.learned[origin] = b.order.PushBack(origin)
	for b.order.Len() > b.maxOrig {
		oldest := b.order.Front()
		b.order.Remove(oldest)
		delete(b.learned, oldest.Value.(string))
	}
}

// pollOrigins reads the PTTL of every origin learned, in pipelines of
// pollBatch each bounded by the Store's timeout, and reports those open.
// It reports no close: a key that is gone may be a circuit opened here
// whose Opened is still queued, or one that ended on its own; closes come
// from the Closed messages, and a missed one costs at most the break.
func (b *Breakers) pollOrigins() {
	b.lmu.Lock()
	origins := make([]string, 0, len(b.learned))
	for e := b.order.Front(); e != nil; e = e.Next() {
		origins = append(origins, e.Value.(string))
	}
	b.lmu.Unlock()
	for len(origins) > 0 && b.ctx.Err() == nil {
		n := min(len(origins), pollBatch)
		batch := origins[:n]
		origins = origins[n:]
		ask, probe := b.shouldAsk()
		if !ask {
			return
		}
		cmds, err := b.pttls(batch)
		if err != nil && b.ctx.Err() != nil {
			b.cancelled(probe)
			return
		}
		b.done(b.ctx, probe, err)
		if err != nil {
			return
		}
		for i, c := range cmds {
			if d := c.ttl.Val(); d > 0 && c.get.Val() != b.id { // not this replica's own open
				b.report(batch[i], true, d)
			}
		}
	}
}

// pollCmd is one origin's read in a poll: who opened it, and for how long.
type pollCmd struct {
	get *redis.StringCmd
	ttl *redis.DurationCmd
}

func (b *Breakers) pttls(origins []string) (cmds []pollCmd, err error) {
	defer recoverAs(&err)
	ctx, cancel := context.WithTimeout(b.ctx, b.s.timeout)
	defer cancel()
	cmds = make([]pollCmd, len(origins))
	_, err = b.s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, o := range origins {
			cmds[i] = pollCmd{get: p.Get(ctx, b.key(o)), ttl: p.PTTL(ctx, b.key(o))}
		}
		return nil
	})
	if errors.Is(err, redis.Nil) {
		err = nil // a GET of a key that is gone: nothing open
	}
	return cmds, err
}

// subscribe is the subscriber goroutine. go-redis's PubSub redials and
// subscribes again on its own after a connection error; this loop backs
// off between failed attempts, pings a quiet connection to tell a Redis
// that hangs, and asks for a poll after each (re)subscription, for the
// messages missed meanwhile.
func (b *Breakers) subscribe() {
	defer b.wg.Done()
	var backoff time.Duration
	pinged := false
	subscribed := false
	for b.ctx.Err() == nil {
		var msg any
		var err error
		if !subscribed {
			err = b.subscribeOnce()
			subscribed = true // go-redis keeps the channel, and subscribes again with each new connection
		}
		if err == nil {
			msg, err = b.receive()
		}
		if b.ctx.Err() != nil {
			return
		}
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				// A quiet channel: ping, and count a ping unanswered
				// by the next timeout as a loss.
				if pinged {
					b.lost(b.ctx, errors.New("redisstore: Redis did not answer the subscriber's ping"))
				}
				pinged = true
				b.ping()
				continue
			}
			b.lost(b.ctx, err)
			if backoff == 0 {
				backoff = b.bmin
			} else {
				backoff = min(2*backoff, b.bmax)
			}
			t := time.NewTimer(jitter(backoff))
			select {
			case <-b.ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		backoff, pinged = 0, false
		switch m := msg.(type) {
		case *redis.Subscription:
			b.up(b.ctx)
			select { // a poll, for what was missed while unsubscribed
			case b.pollNow <- struct{}{}:
			default:
			}
		case *redis.Pong:
			b.up(b.ctx)
		case *redis.Message:
			b.up(b.ctx)
			b.deliver(m.Payload)
		}
	}
}

func (b *Breakers) subscribeOnce() (err error) {
	defer recoverAs(&err)
	ctx, cancel := context.WithTimeout(b.ctx, b.s.timeout)
	defer cancel()
	return b.ps.Subscribe(ctx, b.channel)
}

func (b *Breakers) receive() (_ any, err error) {
	defer recoverAs(&err)
	return b.ps.ReceiveTimeout(b.ctx, subscriberPing)
}

func (b *Breakers) ping() {
	defer func() { _ = recover() }()
	ctx, cancel := context.WithTimeout(b.ctx, b.s.timeout)
	defer cancel()
	_ = b.ps.Ping(ctx) // a failed write makes go-redis redial; the pong, or its absence, is seen by receive
}

// deliver reports a message of another replica:
//
//	open <replica id> <break in ms> <origin>
//	closed <replica id> <origin>
func (b *Breakers) deliver(payload string) {
	kind, rest, _ := strings.Cut(payload, " ")
	id, rest, ok := strings.Cut(rest, " ")
	if !ok || id == b.id {
		return
	}
	switch kind {
	case "open":
		msStr, origin, ok := strings.Cut(rest, " ")
		n, err := strconv.ParseInt(msStr, 10, 64)
		if !ok || err != nil || n <= 0 || badOrigin(origin) {
			return
		}
		b.report(origin, true, time.Duration(min(n, int64(math.MaxInt64/time.Millisecond)))*time.Millisecond)
	case "closed":
		if rest != "" {
			b.report(rest, false, 0)
		}
	}
}

// report calls the Watch function, recovering a panic.
func (b *Breakers) report(origin string, open bool, d time.Duration) {
	f := b.watch.Load()
	if f == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			b.s.log.LogAttrs(b.ctx, slog.LevelError, "redisstore: the shared breakers' Watch function panicked",
				slog.String("origin", origin), slog.Bool("open", open), slog.String("panic", fmt.Sprint(v)))
		}
	}()
	(*f)(origin, open, d)
}

// shouldAsk reports whether a call asks Redis, and whether it is then the
// one that asks whether Redis is back (the probe of the backoff).
func (b *Breakers) shouldAsk() (ask, probe bool) {
	if !b.down.Load() {
		return true, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.st.down {
		return true, false
	}
	if b.st.probing || time.Now().Before(b.st.retryAt) {
		return false, false
	}
	b.st.probing = true
	return true, true
}

// done records the outcome of a Redis call that shouldAsk allowed.
func (b *Breakers) done(ctx context.Context, probe bool, err error) {
	var rerr redis.Error
	if err == nil || errors.As(err, &rerr) && !errors.Is(err, redis.ErrClosed) {
		// Redis answered (an error of its own, such as WRONGTYPE on one
		// origin's key, is that origin's problem): not a loss of Redis.
		if probe {
			b.up(ctx)
		}
		return
	}
	b.mu.Lock()
	var lost bool
	switch {
	case !b.st.down:
		lost = true
		b.st.down, b.st.since = true, time.Now()
		b.st.backoff = b.bmin
		b.st.retryAt = time.Now().Add(jitter(b.st.backoff))
		b.down.Store(true)
	case probe:
		b.st.probing = false
		b.st.backoff = min(2*b.st.backoff, b.bmax)
		b.st.retryAt = time.Now().Add(jitter(b.st.backoff))
	}
	retryIn := time.Until(b.st.retryAt)
	b.mu.Unlock()
	if lost {
		b.logLost(ctx, retryIn, err)
	}
}

// cancelled ends a call cut short by its context: no loss of Redis.
func (b *Breakers) cancelled(probe bool) {
	if !probe {
		return
	}
	b.mu.Lock()
	b.st.probing = false
	b.mu.Unlock()
}

// lost records a loss of Redis seen by the subscriber.
func (b *Breakers) lost(ctx context.Context, err error) {
	b.mu.Lock()
	if b.st.down {
		b.mu.Unlock()
		return
	}
	b.st.down, b.st.since = true, time.Now()
	b.st.backoff = b.bmin
	b.st.retryAt = time.Now().Add(jitter(b.st.backoff))
	b.down.Store(true)
	retryIn := time.Until(b.st.retryAt)
	b.mu.Unlock()
	b.logLost(ctx, retryIn, err)
}

// up records that Redis answered: the recovery, when Breakers had lost it.
func (b *Breakers) up(ctx context.Context) {
	if !b.down.Load() {
		return
	}
	b.mu.Lock()
	if !b.st.down {
		b.mu.Unlock()
		return
	}
	downFor := time.Since(b.st.since)
	b.st = gateState{}
	b.down.Store(false)
	b.mu.Unlock()
	b.s.log.LogAttrs(ctx, slog.LevelInfo, "redisstore: Redis is back; the circuit breakers are shared again",
		slog.Duration("down_for", downFor))
	b.notify(ctx, true)
}

func (b *Breakers) logLost(ctx context.Context, retryIn time.Duration, err error) {
	b.s.log.LogAttrs(ctx, slog.LevelWarn, "redisstore: Redis is out of reach; the circuit breakers run local-only",
		slog.Duration("retry_in", retryIn), slog.Any("error", err))
	b.notify(ctx, false)
}

// notify calls the transition hook, recovering a panic.
func (b *Breakers) notify(ctx context.Context, up bool) {
	if b.onTrans == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil {
			b.s.log.LogAttrs(ctx, slog.LevelError, "redisstore: the WithBreakerOnTransition hook panicked",
				slog.Bool("up", up), slog.String("panic", fmt.Sprint(v)))
		}
	}()
	b.onTrans(up)
}

// jitter is a wait drawn from the upper half of d.
func jitter(d time.Duration) time.Duration {
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(d-half+1)
}

var _ httpclient.SharedBreakers = (*Breakers)(nil)
