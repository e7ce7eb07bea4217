/**
 * The store's Redis scripts. Each runs atomically on the server, so the read-compare-write steps that
 * keep the fleet consistent (adopting a transition, counting failures toward the threshold, granting a
 * half-open permit) never interleave across replicas. Every key a script touches is passed in KEYS and
 * shares the breaker's hash tag, so the scripts also run unchanged on Redis Cluster.
 *
 * Stored snapshot: a hash with fields s (state), g (generation), o (openedAt ms or ''), r (retryAt ms
 * or ''), f (failedProbes). Replies are arrays of strings: a status word, then a snapshot when the
 * caller needs to adopt one.
 */

const PRELUDE = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function publish(channel, name, s, g, o, r, f)
  redis.call('PUBLISH', channel, s .. ',' .. g .. ',' .. o .. ',' .. r .. ',' .. f .. ',' .. name)
end
`;

/**
 * SYNC: a replica reports its snapshot (after a local transition, or to reconcile).
 * KEYS: state, failures. ARGV: channel, name, s, g, o, r, f, stateTtlMs.
 *
 * - Newer than the fleet's (or the fleet has none): it becomes the fleet's and is published → `accepted`.
 * - Same generation and state: nothing to do (a missing retryAt from a fleet-wide trip is filled in) → `same`.
 * - Same generation, different state (two replicas moved concurrently from the same generation): the
 *   fleet's state wins and is re-published under the next generation, so every replica, the loser
 *   included, adopts it → `conflict` + snapshot.
 * - Older: the replica missed something → `stale` + the fleet's snapshot.
 */
export const SYNC_SCRIPT = `${PRELUDE}
local cur = redis.call('HMGET', KEYS[1], 's', 'g', 'o', 'r', 'f')
local g = tonumber(ARGV[4])
if not cur[1] or tonumber(cur[2]) < g then
  redis.call('HSET', KEYS[1], 's', ARGV[3], 'g', ARGV[4], 'o', ARGV[5], 'r', ARGV[6], 'f', ARGV[7])
  redis.call('PEXPIRE', KEYS[1], ARGV[8])
  redis.call('DEL', KEYS[2])
  publish(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
  return {'accepted'}
end
redis.call('PEXPIRE', KEYS[1], ARGV[8])
local stored = tonumber(cur[2])
if stored == g then
  if cur[1] == ARGV[3] then
    if cur[4] == '' and ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'r', ARGV[6]) end
    return {'same'}
  end
  local bumped = tostring(stored + 1)
  redis.call('HSET', KEYS[1], 'g', bumped)
  redis.call('DEL', KEYS[2])
  publish(ARGV[1], ARGV[2], cur[1], bumped, cur[3], cur[4], cur[5])
  return {'conflict', cur[1], bumped, cur[3], cur[4], cur[5]}
end
return {'stale', cur[1], cur[2], cur[3], cur[4], cur[5]}
`;

/**
 * RECORD: a replica flushes its batched failures for the closed period `g`.
 * KEYS: state, failures. ARGV: channel, name, g, replica, reset (1 = a success ended my run), add,
 * threshold, failureWindowMs, stateTtlMs.
 *
 * The failures hash holds one field per replica: "count:lastUpdateMs", that replica's current run of
 * failures. Runs older than the window no longer count and are deleted. When the sum reaches the
 * threshold the script opens the breaker for the fleet (generation g+1, openedAt = Redis time, retryAt
 * left to each replica's recovery timeout) and publishes it → `tripped` + snapshot; otherwise
 * `counted` + the fleet-wide count; `stale` + snapshot when the fleet is no longer closed at `g`.
 */
export const RECORD_SCRIPT = `${PRELUDE}
local g = ARGV[3]
local cur = redis.call('HMGET', KEYS[1], 's', 'g', 'o', 'r', 'f')
if not cur[1] then
  redis.call('HSET', KEYS[1], 's', 'closed', 'g', g, 'o', '', 'r', '', 'f', '0')
  redis.call('PEXPIRE', KEYS[1], ARGV[9])
  cur = {'closed', g, '', '', '0'}
end
if cur[1] ~= 'closed' or tonumber(cur[2]) ~= tonumber(g) then
  return {'stale', cur[1], cur[2], cur[3], cur[4], cur[5]}
end
local now = now_ms()
local window = tonumber(ARGV[8])
local mine = 0
if ARGV[5] ~= '1' then
  local entry = redis.call('HGET', KEYS[2], ARGV[4])
  if entry then
    local sep = string.find(entry, ':', 1, true)
    if now - tonumber(string.sub(entry, sep + 1)) <= window then
      mine = tonumber(string.sub(entry, 1, sep - 1))
    end
  end
end
mine = mine + tonumber(ARGV[6])
if mine > 0 then
  redis.call('HSET', KEYS[2], ARGV[4], mine .. ':' .. now)
else
  redis.call('HDEL', KEYS[2], ARGV[4])
end
local total = 0
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local entry = all[i + 1]
  local sep = string.find(entry, ':', 1, true)
  if now - tonumber(string.sub(entry, sep + 1)) > window then
    redis.call('HDEL', KEYS[2], all[i])
  else
    total = total + tonumber(string.sub(entry, 1, sep - 1))
  end
end
if total >= tonumber(ARGV[7]) then
  local gen = tostring(tonumber(g) + 1)
  local opened = tostring(now)
  redis.call('HSET', KEYS[1], 's', 'open', 'g', gen, 'o', opened, 'r', '', 'f', '0')
  redis.call('PEXPIRE', KEYS[1], ARGV[9])
  redis.call('DEL', KEYS[2])
  publish(ARGV[1], ARGV[2], 'open', gen, opened, '', '0')
  return {'tripped', 'open', gen, opened, '', '0'}
end
if total > 0 then redis.call('PEXPIRE', KEYS[2], window) end
return {'counted', tostring(total)}
`;

/**
 * ACQUIRE: one half-open trial permit for generation `g`, at most `max` held fleet-wide. Permits are
 * members of a sorted set scored by their lease expiry, so a permit whose holder crashed lapses by
 * itself after `leaseMs`.
 * KEYS: state, probes (per generation). ARGV: g, token, max, leaseMs.
 * → `granted`, `denied`, or `stale` + snapshot when the fleet has already moved past `g`.
 */
export const ACQUIRE_SCRIPT = `${PRELUDE}
local cur = redis.call('HMGET', KEYS[1], 's', 'g', 'o', 'r', 'f')
if cur[1] and tonumber(cur[2]) > tonumber(ARGV[1]) then
  return {'stale', cur[1], cur[2], cur[3], cur[4], cur[5]}
end
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  return {'denied'}
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
return {'granted'}
`;
