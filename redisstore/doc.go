// Package redisstore keeps Tempest's shared state in Redis, so that a
// fleet of processes can share one limit. Its first use is a rate limit
// for the whole fleet: [Store.RateGate] returns a [ratelimit.Gate] for
// httpclient.RateLimit.Gate, the GCRA of ratelimit.Limiter run in Redis.
//
// It is a module of its own (github.com/tempestsdk/tempest/redisstore), on
// github.com/redis/go-redis/v9, so that the core module keeps no
// dependency.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "redis:6379", ContextTimeoutEnabled: true})
//	store, err := redisstore.New(rdb)
//	...
//	gate, err := store.RateGate("partner-api", ratelimit.Limit{Rate: 200, Burst: 20})
//	...
//	client, err := httpclient.New(base, httpclient.WithRateLimit(httpclient.RateLimit{Gate: gate}))
//
// # One script per decision
//
// A Take is one Lua script (EVALSHA, and EVAL when Redis has not seen the
// script yet): it reads the bucket's theoretical arrival time (TAT), admits
// or refuses as ratelimit.Limiter.Take does, and writes the new TAT, in
// one atomic step. No lock is held across a call, and the script reads
// the time from Redis (TIME), so that the fleet's clocks need not agree.
// Return is a second script that moves TAT back by one interval, never
// below Redis's now.
//
// # Keys
//
// A rate limit's state is one string, the TAT in microseconds of Redis's
// clock, at NAMESPACE:rl:{KEY}: the namespace ([WithNamespace], default
// "tempest"), the kind, and the user's key in braces. The braces make the
// key the Redis Cluster hash tag, so that every Redis key of one user key
// lands in the same slot, as a script over several of them needs. Each
// write sets the key to expire when the bucket is full again, the moment
// its absence means the same as its value: an idle key costs nothing, and
// nothing grows without bound.
//
// # When Redis is out of reach
//
// A Redis that is down is not an outage. Each call is bounded by a short
// timeout ([WithTimeout], default 50ms; give the go-redis client
// ContextTimeoutEnabled so that a Redis that hangs is bounded too). When
// a call fails, the Gate logs the loss once (Warn), calls the
// [WithOnTransition] hook, and admits by a local [ratelimit.Limiter] at a
// share of the limit ([WithLocalShare], default 1/3) instead. Meanwhile it
// leaves Redis alone: no call, and no timeout to pay, until a backoff has
// passed (100ms, doubling to 5s, with jitter; [WithBackoff]); then one
// Take asks Redis again, and on success the Gate logs the recovery (Info),
// calls the hook, and shares the limit again. Callers see no error: Take
// returns nil or a *ratelimit.LimitedError, as a Limiter does. The Gate
// starts no goroutine: the backoff is checked by the next Take.
package redisstore
