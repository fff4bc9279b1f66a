package redisstore

import "github.com/redis/go-redis/v9"

// takeLua is GCRA's Take (ratelimit.Limiter.Take) in one step. Time is
// Redis's own (TIME), in microseconds, so that the clocks of the clients
// do not matter; the event is at that time plus a lead, for a caller whose
// event is to happen later (ratelimit.Gate's now in the future), and the
// wait is counted from it. KEYS[1] holds TAT, the theoretical arrival
// time of the next event, as an integer; a missing key is an idle bucket
// (TAT <= now). The key expires when the bucket is full again (TAT = now),
// after which its absence says the same thing.
//
//	ARGV[1]: T, the emission interval, in microseconds (>= 1)
//	ARGV[2]: the tolerance, (Burst-1)*T, in microseconds
//	ARGV[3]: maxWait in microseconds (>= 0)
//	ARGV[4]: the event's lead over Redis's now, in microseconds (>= 0)
//	ARGV[5]: n, the most events to take (>= 1; 1 without a lease)
//	ARGV[6]: events of a stale lease given back first (>= 0)
//	returns {admitted (1 or 0), wait_us, retry_after_us, granted}
//
// A lease (n > 1, [WithLease]) takes as many events as are free at once
// at the event's time, up to n, and returns how many (granted >= 1 when
// admitted): never all-or-nothing, which a busy key would seldom grant. An
// event that must wait is taken alone (granted 1). The events given back
// first move TAT back by that many intervals, not below the event's time,
// as that many Returns would, in the same atomic step.
//
// Redis before 5 needs redis.replicate_commands() to write after TIME; on
// later servers it is a no-op.
const takeLua = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local maxwait = tonumber(ARGV[3])
local at = now + tonumber(ARGV[4])
local n = tonumber(ARGV[5] or '1')
local back = tonumber(ARGV[6] or '0')
local tat = tonumber(redis.call('GET', KEYS[1]) or at) or at
tat = tat - back * interval
if tat < at then tat = at end
local wait = tat - tolerance - at
if wait < 0 then wait = 0 end
if wait > maxwait then
  if back > 0 then
    redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', string.format('%d', math.ceil((tat - now) / 1000)))
  end
  return {0, 0, wait, 0}
end
local granted = 1
if wait == 0 and n > 1 then
  granted = math.floor((at + tolerance - tat) / interval) + 1
  if granted > n then granted = n end
  if granted < 1 then granted = 1 end
end
tat = tat + granted * interval
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', string.format('%d', math.ceil((tat - now) / 1000)))
return {1, wait, 0, granted}
`

// returnLua is GCRA's Return (ratelimit.Limiter.Return): TAT moves back by
// T, but not below Redis's now plus the lead; a bucket that is full again
// loses its key.
//
//	ARGV[1]: how far to move it back: T, the emission interval, in
//	microseconds, times the number of events given back
//	ARGV[2]: the lead over Redis's now, in microseconds (>= 0)
//	returns 1 when TAT moved, else 0
const returnLua = `
if redis.replicate_commands then redis.replicate_commands() end
local tat = tonumber(redis.call('GET', KEYS[1]) or '')
if not tat then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local floor = now + tonumber(ARGV[2])
local nxt = tat - tonumber(ARGV[1])
if nxt < floor then nxt = floor end
if nxt >= tat then return 0 end
if nxt <= now then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', string.format('%d', math.ceil((nxt - now) / 1000)))
return 1
`

// openedLua publishes that a replica's circuit opened: KEYS[1], the
// origin's state (ns:br:{origin}), becomes the string "open" for the
// break that remains, and the message goes to the namespace's channel, in
// one step, so that a replica that misses the message finds the key.
//
//	ARGV[1]: the break that remains, in milliseconds (>= 1)
//	ARGV[2]: the channel, ns:br
//	ARGV[3]: the message, "open <replica id> <ms> <origin>"
//	ARGV[4]: the replica id, the key's value, so that a poll can skip its own
//	returns the number of subscribers that received the message
const openedLua = `
redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[1])
return redis.call('PUBLISH', ARGV[2], ARGV[3])
`

// closedLua publishes that a probe closed a replica's circuit: the
// origin's state KEYS[1] and its probe token KEYS[2] (ns:br:{origin} and
// ns:br:{origin}:probe, one hash tag) are deleted, and the message goes to
// the channel, in one step.
//
//	ARGV[1]: the channel, ns:br
//	ARGV[2]: the message, "closed <replica id> <origin>"
//	returns the number of subscribers that received the message
const closedLua = `
redis.call('DEL', KEYS[1], KEYS[2])
return redis.call('PUBLISH', ARGV[1], ARGV[2])
`

// probeLua takes the fleet's probe token of an origin, KEYS[1]
// (ns:br:{origin}:probe): SET NX PX, for the replica that finds it free.
// The replica that holds it already takes it again, for ttl from now, so
// that a replica whose probe failed is the one that probes next, and the
// others wait for it rather than for the token to expire.
//
//	ARGV[1]: the replica's id
//	ARGV[2]: ttl in milliseconds (>= 1)
//	returns 1 when the replica holds the token, 0 when another does
const probeLua = `
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`

var (
	takeScript   = redis.NewScript(takeLua)
	returnScript = redis.NewScript(returnLua)
	openedScript = redis.NewScript(openedLua)
	closedScript = redis.NewScript(closedLua)
	probeScript  = redis.NewScript(probeLua)
)
