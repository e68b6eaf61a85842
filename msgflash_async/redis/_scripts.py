"""The Lua scripts of the shared rate limiter: each runs atomically in Redis.

Times are Redis server time (``TIME``) in integer microseconds, so clients
whose clocks disagree still share one timeline. Numbers handed back to
Redis go through ``%d``: Lua would print a 16-digit double as ``1.7e+15``.

Keys of one API key (``KEYS``): the log of slots taken (a sorted set of
tokens by send time), the queue of waiting acquisitions (by first refusal),
when each waiter last asked (so the waiters of a dead process drop out),
and the adaptive margin (a hash: ``extra`` microseconds, set ``at``).
"""

from __future__ import annotations

__all__ = ["ACQUIRE", "FORGET", "MARK", "WIDEN"]

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function d(x) return string.format('%d', x) end
"""

_EXTRA = """
local function extra(key, relax_step, relax)
  local a = redis.call('HMGET', key, 'extra', 'at')
  if not a[1] then return 0, nil end
  local at = tonumber(a[2])
  local steps = math.floor((now - at) / relax)
  return math.max(tonumber(a[1]) - steps * relax_step, 0), at
end
"""

# ARGV: slots, window_us, token, stale_us, relax_step_us, relax_us, ttl_ms.
# Returns {1, 0} when the slot is taken, else {0, microseconds to wait}
# (0: a slot is free but waiters ahead of this one come first).
ACQUIRE = (
    _NOW
    + _EXTRA
    + """
local log, queue, seen, adapt = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local slots, token, ttl = tonumber(ARGV[1]), ARGV[3], ARGV[7]
local window = tonumber(ARGV[2]) + extra(adapt, tonumber(ARGV[5]), tonumber(ARGV[6]))
redis.call('ZREMRANGEBYSCORE', log, '-inf', d(now - window))
local gone = redis.call('ZRANGEBYSCORE', seen, '-inf', d(now - tonumber(ARGV[4])))
for _, member in ipairs(gone) do
  redis.call('ZREM', queue, member)
  redis.call('ZREM', seen, member)
end
local free = slots - redis.call('ZCARD', log)
if free > 0 then
  local ahead = redis.call('ZRANK', queue, token)
  if not ahead then ahead = redis.call('ZCARD', queue) end
  if ahead < free then
    redis.call('ZADD', log, d(now), token)
    redis.call('ZREM', queue, token)
    redis.call('ZREM', seen, token)
    redis.call('PEXPIRE', log, ttl)
    return {1, 0}
  end
end
redis.call('ZADD', queue, 'NX', d(now), token)
redis.call('ZADD', seen, d(now), token)
redis.call('PEXPIRE', queue, ttl)
redis.call('PEXPIRE', seen, ttl)
if free > 0 then return {0, 0} end
local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
return {0, tonumber(oldest[2]) + window - now}
"""
)

# Move a slot to the time its request left (never earlier). ARGV: token.
MARK = (
    _NOW
    + """
return redis.call('ZADD', KEYS[1], 'XX', 'GT', d(now), ARGV[1])
"""
)

# An acquisition given up (cancelled): leave the queue at once. ARGV: token.
FORGET = """
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('ZREM', KEYS[2], ARGV[1])
"""

# A 429: widen the shared margin, once per window.
# ARGV: step_us, relax_us, ceiling_us, window_us, ttl_ms, relax_step_us.
# Returns the new extra (-1: already widened in this window).
WIDEN = (
    _NOW
    + _EXTRA
    + """
local step = tonumber(ARGV[1])
local current, at = extra(KEYS[1], tonumber(ARGV[6]), tonumber(ARGV[2]))
if at and now - at < tonumber(ARGV[4]) then return -1 end
local widened = math.min(current + step, tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'extra', d(widened), 'at', d(now))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return widened
"""
)
