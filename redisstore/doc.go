// Package redisstore keeps Tempest's shared state in Redis, so that a
// fleet of processes can share one limit. Its first use is a rate limit
// for the whole fleet: [Store.RateGate] returns a [ratelimit.Gate] for
// httpclient.RateLimit.Gate, the GCRA of ratelimit.Limiter run in Redis.
// Its second is the fleet's circuit breakers: [Store.Breakers] returns an
// httpclient.SharedBreakers for httpclient.WithSharedBreakers (R72).
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
// # Leases
//
// [WithLease](n) lets a call cost no round trip: a Take that asks Redis
// takes, in the same script run, as many events as are free at once, up to
// n (not all n or nothing), and the Gate hands out the rest to its later
// Takes without Redis; a Return puts its event back into the lease. A
// lease older than [WithLeaseTTL] (default n emission intervals) is given
// back by the Gate's next call, best effort. The price is accuracy: Redis
// counts leased events when they are leased, so with R replicas holding up
// to n-1 events each, the fleet may admit up to R*(n-1) beyond its burst,
// at most Burst + d*Rate/Per + R*(n-1) over any interval of length d; and
// events leased and not used are lost to the rest of the fleet until the
// lease is used up or given back. Leasing saves round trips below the
// limit; at the limit one event is free at a time, and refusals still ask
// Redis.
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
//
// # Shared circuit breakers
//
// [Breakers] shares the breakers of one httpclient.Client with the other
// replicas (R72). Each Breakers is one replica, with a random id. Per
// origin it uses two keys of one hash tag, and the namespace has one
// channel:
//
//	NAMESPACE:br:{ORIGIN}         "open", expiring when the break ends (PX)
//	NAMESPACE:br:{ORIGIN}:probe   the id of the replica that probes, expiring after the probe's ttl
//	NAMESPACE:br                  the channel, for every origin
//
// and three scripts, each one atomic step:
//
//   - Opened (a circuit opened here, by its failures or a failed probe):
//     SET the state PX the break that remains, and PUBLISH
//     "open <replica id> <ms> <origin>".
//   - Closed (a probe closed it here): DEL the state and the probe token,
//     and PUBLISH "closed <replica id> <origin>".
//   - Probe (half-open): SET the token NX PX ttl; the replica that holds
//     it already takes it again, for ttl from now, so that the replica
//     whose probe failed is the fleet's next prober. True when this
//     replica holds it, false only when another does.
//
// Opened, Closed and Learn never wait: they queue the call for the
// Breakers' worker goroutine, in a bounded queue ([WithQueueSize]); when
// it is full the call is dropped, counted ([Breakers.Dropped]) and logged
// once. A subscriber goroutine listens to the channel (go-redis redials
// and subscribes again on its own) and reports the other replicas'
// messages, its own skipped, to the client. Learn, on the first use of an
// origin, reads its PTTL and reports an open circuit with what remains of
// its break, so that clocks need not agree; it also adds the origin to a
// bounded set ([WithMaxOrigins], the oldest forgotten first) that the
// worker polls, one pipeline of PTTLs every [WithPollInterval] and after
// each (re)subscription, as the fallback for missed messages. The poll
// reports open circuits only, not closes: a key that is gone may be a
// circuit opened here whose Opened is still queued, and a missed close
// costs at most the break, after which the breaker half-opens and probes.
// An operator's Isolate and ResetBreaker stay local: while the key of an
// open circuit lives, a poll may open a circuit reset by hand again.
//
// Redis down costs no call anything: Probe, the only method a call
// waits for, is bounded by the Store's timeout and says true (the breaker
// runs local-only) when Redis does not answer; the rest is asynchronous.
// The loss is logged once (Warn) and the recovery once (Info), with the
// [WithBreakerOnTransition] hook; meanwhile Breakers leaves Redis alone
// for a backoff ([WithBreakerBackoff]), drops Opened and Closed (the
// circuit stays local) and remembers Learned origins for the next poll.
// Nothing grows without bound: the queue and the set of origins are
// bounded, and every key expires. Close the Breakers after the client.
package redisstore
