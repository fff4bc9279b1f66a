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
//	returns {admitted (1 or 0), wait_us, retry_after_us}
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
local tat = tonumber(redis.call('GET', KEYS[1]) or at) or at
if tat < at then tat = at end
local wait = tat - tolerance - at
if wait < 0 then wait = 0 end
if wait > maxwait then
  return {0, 0, wait}
end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', string.format('%d', math.ceil((tat - now) / 1000)))
return {1, wait, 0}
`

// returnLua is GCRA's Return (ratelimit.Limiter.Return): TAT moves back by
// T, but not below Redis's now plus the lead; a bucket that is full again
// loses its key.
//
//	ARGV[1]: T, the emission interval, in microseconds
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

var (
	takeScript   = redis.NewScript(takeLua)
	returnScript = redis.NewScript(returnLua)
)
