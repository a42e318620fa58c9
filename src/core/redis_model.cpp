// What Redis holds of a cluster's sessions, and the scripts that change it
// in one step each: key names, records, ends that exactly one node wins.
#include "../oidc_logout_core.h"

#include <string>

namespace oidc_logout {

namespace {

/*
 * Keys, after the prefix:
 *   h:<handle>  the session's record (the cookie finds it); once it
 *               ended, an empty string for as long as t:<sid> stays, so
 *               that its cookie is refused without asking again
 *   s:<sid>     a hash: h (its handle), u (its subject), p (its provider
 *               sids, one a line), l (when its lifetime ends, 0: never)
 *   u:<sub>     the sids of a subject;  p:<provider sid>  the sids holding it
 *   x           a sorted set: each sid by when it expires
 *   t:<sid>     an ended session's mark, the node that ended it as value
 *               (and ":r" when it told the clients of Redis's record, not
 *               of its own copy): nothing writes it back, and the same
 *               node asks again safely
 *   tc:<sid>    for a minute, the record an end took (its clients told)
 *   tl:<sid>    ... and those a write that came late told
 *   e           a stream of ends: s (sid), c (cause), for every node's cache
 *   k           the cluster's secret (anti-CSRF tokens, keyed hashes)
 */
const char *const finish_function = R"lua(
-- a record: version, handle (16), sid (16), created (4), subject length,
-- client count, data length (2), then the subject and each client's
-- length-prefixed id and provider sid
local function clients(rec)
  local out, order = {}, {}
  if not rec or #rec < 41 then return out, order end
  local sub_len, count = rec:byte(38), rec:byte(39)
  local at = 42 + sub_len
  for _ = 1, count do
    local cl = rec:byte(at)
    if not cl then break end
    local c = rec:sub(at + 1, at + cl)
    local pl = rec:byte(at + 1 + cl) or 0
    out[c] = rec:sub(at + cl + 1, at + cl + 1 + pl)
    order[#order + 1] = c
    at = at + 2 + cl + pl
  end
  return out, order
end
-- rec with its clients replaced by the entries of list (n of them)
local function with_clients(rec, list, n)
  local sub = rec:sub(42, 41 + rec:byte(38))
  local len = #sub + #list
  return rec:sub(1, 38) .. string.char(n) ..
         string.char(len % 256, math.floor(len / 256)) .. sub .. list
end
-- mark: the t: value (the node, with ':r' when it tells the clients of
-- the record returned rather than those of its own copy)
local function finish(p, mark, ttl, sid, cause)
  -- the end on the stream first: a key of another type stops the
  -- script before it changed anything
  redis.call('XADD', p .. 'e', 'MAXLEN', '~', 100000, '*', 's', sid, 'c', cause)
  local sk = p .. 's:' .. sid
  local f = redis.call('HMGET', sk, 'h', 'u', 'p')
  local rec = false
  if f[1] then
    rec = redis.call('GET', p .. 'h:' .. f[1])
    redis.call('DEL', sk)
    redis.call('SET', p .. 'h:' .. f[1], '', 'EX', ttl)
    if f[2] and f[2] ~= '' then redis.call('SREM', p .. 'u:' .. f[2], sid) end
    if f[3] then
      for ps in string.gmatch(f[3], '[^\n]+') do
        redis.call('SREM', p .. 'p:' .. ps, sid)
      end
    end
  end
  redis.call('ZREM', p .. 'x', sid)
  redis.call('SET', p .. 't:' .. sid, mark, 'EX', ttl)
  -- who was told, for a write of the session that comes late
  if rec then redis.call('SET', p .. 'tc:' .. sid, rec, 'EX', 60) end
  return rec
end
)lua";

/* ARGV: prefix, sid, handle, subject, record, deadline, lifetime end,
 * provider sids..., then node, mark's seconds.  Clients are only ever
 * added to a session: those of Redis's record that the new one lacks
 * (joined on another node meanwhile) are kept.  0: it had ended; its
 * record: its cookie was logged out on a node that could not reach Redis,
 * so it ends now, for this node to notify. */
const char *const put_script = R"lua(
local p, sid = ARGV[1], ARGV[2]
local node, ttl = ARGV[#ARGV - 1], ARGV[#ARGV]
local ended_by = redis.call('GET', p .. 't:' .. sid)
if ended_by == node then
  -- this node ended it before its write arrived and told every client of
  -- its copy, those of this older write among them
  return 0
end
if ended_by then
  -- another node ended it before this write arrived: the clients it adds
  -- (joined here just before) were told by nobody; this node tells them
  local told = clients(redis.call('GET', p .. 'tc:' .. sid))
  local late, late_order = clients(redis.call('GET', p .. 'tl:' .. sid))
  local has, order = clients(ARGV[5])
  local list, n = '', 0
  for _, c in ipairs(order) do
    if not told[c] and not late[c] then
      list = list .. string.char(#c) .. c .. has[c]
      n = n + 1
    end
  end
  if n == 0 then return 0 end
  -- told from now on: another write of them (another worker's) tells
  -- nobody again
  local all, m = list, n
  for _, c in ipairs(late_order) do
    all = all .. string.char(#c) .. c .. late[c]
    m = m + 1
  end
  if m <= 255 then
    redis.call('SET', p .. 'tl:' .. sid, with_clients(ARGV[5], all, m), 'EX', 60)
  end
  return with_clients(ARGV[5], list, n)
end
if redis.call('EXISTS', p .. 'th:' .. ARGV[3]) == 1 then
  finish(p, node .. ':r', ttl, sid, '0')
  redis.call('SET', p .. 'h:' .. ARGV[3], '', 'EX', ttl)
  redis.call('SET', p .. 'tc:' .. sid, ARGV[5], 'EX', 60)
  return ARGV[5]
end
local sk = p .. 's:' .. sid
local old = redis.call('HMGET', sk, 'h', 'u', 'p')
local rec = ARGV[5]
if old[1] then
  local had, had_order = clients(redis.call('GET', p .. 'h:' .. old[1]))
  local has = clients(rec)
  local extra, n = '', 0
  for _, c in ipairs(had_order) do
    if not has[c] then
      extra = extra .. string.char(#c) .. c .. had[c]
      n = n + 1
    end
  end
  local count, len = rec:byte(39), rec:byte(40) + 256 * rec:byte(41)
  if n > 0 and count + n <= 255 and len + #extra <= 1024 then
    len = len + #extra
    rec = rec:sub(1, 38) .. string.char(count + n) ..
          string.char(len % 256, math.floor(len / 256)) .. rec:sub(42) .. extra
  end
end
if old[1] and old[1] ~= ARGV[3] then
  -- a fresh cookie: the old one is refused from now on
  redis.call('SET', p .. 'h:' .. old[1], '', 'EX', ttl)
end
if old[2] and old[2] ~= '' and old[2] ~= ARGV[4] then
  redis.call('SREM', p .. 'u:' .. old[2], sid)
end
if old[3] then
  for ps in string.gmatch(old[3], '[^\n]+') do
    redis.call('SREM', p .. 'p:' .. ps, sid)
  end
end
local ps, seen = {}, {}
for i = 8, #ARGV - 2 do seen[ARGV[i]] = true; ps[#ps + 1] = ARGV[i] end
for _, v in pairs(clients(rec)) do
  if v:sub(2) ~= '' and not seen[v:sub(2)] and not v:sub(2):find('\n') then
    seen[v:sub(2)] = true
    ps[#ps + 1] = v:sub(2)
  end
end
for _, v in ipairs(ps) do redis.call('SADD', p .. 'p:' .. v, sid) end
redis.call('HSET', sk, 'h', ARGV[3], 'u', ARGV[4], 'p', table.concat(ps, '\n'),
           'l', ARGV[7])
redis.call('SET', p .. 'h:' .. ARGV[3], rec)
if ARGV[4] ~= '' then redis.call('SADD', p .. 'u:' .. ARGV[4], sid) end
if ARGV[6] ~= '0' then
  redis.call('ZADD', p .. 'x', 'GT', ARGV[6], sid)
else
  redis.call('ZREM', p .. 'x', sid)
end
return 1
)lua";

/* ARGV: prefix, node, mark's seconds, then sid and cause pairs.  For each:
 * {1, record} when this node ended it (now, or before: the record it took
 * then), {0} when another did. */
const char *const end_script = R"lua(
local p, node, ttl = ARGV[1], ARGV[2], ARGV[3]
local out = {}
for i = 4, #ARGV - 1, 2 do
  local sid = ARGV[i]
  local t = redis.call('GET', p .. 't:' .. sid)
  if t == node then
    -- asked again (two workers publish the same end): the same answer
    out[#out + 1] = {1, redis.call('GET', p .. 'tc:' .. sid)}
  elseif t then
    out[#out + 1] = {0}
  else
    out[#out + 1] = {1, finish(p, node, ttl, sid, ARGV[i + 1])}
  end
end
return out
)lua";

/* ARGV: prefix, node, mark's seconds, now, max, the idle cause, the
 * lifetime cause.  Ends the sessions due by now: {sid, cause, record}
 * each, for this node to notify. */
const char *const expire_script = R"lua(
local p, node, ttl, now = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local ids = redis.call('ZRANGEBYSCORE', p .. 'x', '-inf', now, 'LIMIT', 0,
                       tonumber(ARGV[5]))
local out = {}
for _, sid in ipairs(ids) do
  local l = tonumber(redis.call('HGET', p .. 's:' .. sid, 'l') or '0') or 0
  local cause = ARGV[6]
  if l ~= 0 and l <= now then cause = ARGV[7] end
  out[#out + 1] = {sid, cause, finish(p, node .. ':r', ttl, sid, cause)}
end
return out
)lua";

/* ARGV: prefix, node, mark's seconds, cause, u (a subject) or p (a
 * provider sid), the value, a provider sid the subject's sessions must
 * hold (may be empty).  Ends them: {sid, record} each, for this node to
 * notify. */
const char *const end_by_script = R"lua(
local p, node, ttl, cause = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local sids
if ARGV[5] == 'u' and ARGV[7] ~= '' then
  sids = redis.call('SINTER', p .. 'u:' .. ARGV[6], p .. 'p:' .. ARGV[7])
else
  sids = redis.call('SMEMBERS', p .. ARGV[5] .. ':' .. ARGV[6])
end
local out = {}
for _, sid in ipairs(sids) do
  if redis.call('EXISTS', p .. 't:' .. sid) == 0 then
    out[#out + 1] = {sid, finish(p, node .. ':r', ttl, sid, cause)}
  end
end
return out
)lua";

/* ARGV: prefix, node, mark's seconds, a cookie value, cause.  Ends the
 * session of that cookie: {1, record, sid} for this node to notify, {0}
 * when there is none (or another node ended it). */
const char *const end_handle_script = R"lua(
local p, node, ttl = ARGV[1], ARGV[2], ARGV[3]
local rec = redis.call('GET', p .. 'h:' .. ARGV[4])
if rec == '' then return {0} end -- it ended
if not rec or #rec < 41 then
  -- not written yet (made on a node while Redis was away): it ends as
  -- soon as it is (put_script)
  redis.call('SET', p .. 'th:' .. ARGV[4], node, 'EX', ttl)
  return {0}
end
-- the sid, bytes 18 to 33 of the record, as base64url
local A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
local raw, out = rec:sub(18, 33), {}
for i = 1, 16, 3 do
  local a, b, c = raw:byte(i, i + 2)
  local n = a * 65536 + (b or 0) * 256 + (c or 0)
  local k = (b == nil) and 2 or ((c == nil) and 3 or 4)
  for j = 1, k do
    local v = math.floor(n / 2 ^ (18 - 6 * (j - 1))) % 64
    out[#out + 1] = A:sub(v + 1, v + 1)
  end
end
local sid = table.concat(out)
if redis.call('EXISTS', p .. 't:' .. sid) == 1 then return {0} end
return {1, finish(p, node .. ':r', ttl, sid, ARGV[5]), sid}
)lua";

/* ARGV: prefix, u (by subject), p (by provider sid) or s (one sid), the
 * value.  The records of those sessions, at most 1024. */
const char *const load_script = R"lua(
local p, kind = ARGV[1], ARGV[2]
local sids = {ARGV[3]}
if kind ~= 's' then sids = redis.call('SMEMBERS', p .. kind .. ':' .. ARGV[3]) end
local out = {}
for _, sid in ipairs(sids) do
  local h = redis.call('HGET', p .. 's:' .. sid, 'h')
  local rec = h and redis.call('GET', p .. 'h:' .. h)
  if rec and rec ~= '' then out[#out + 1] = rec end
  if #out >= 1024 then break end
end
return out
)lua";

/* ARGV: prefix, sids...: 1 for each that lives, 0 for each that does
 * not. */
const char *const exists_script = R"lua(
local out = {}
for i = 2, #ARGV do
  out[#out + 1] = redis.call('EXISTS', ARGV[1] .. 's:' .. ARGV[i])
end
return out
)lua";

/* ARGV: prefix, a fresh secret: the cluster's secret, the first one
 * offered. */
const char *const secret_script = R"lua(
redis.call('SET', ARGV[1] .. 'k', ARGV[2], 'NX')
return redis.call('GET', ARGV[1] .. 'k')
)lua";

} // namespace

const char *
redis_script(ol_cluster_script kind)
{
    static const std::string end = std::string(finish_function) + end_script;
    static const std::string put = std::string(finish_function) + put_script;
    static const std::string expire =
        std::string(finish_function) + expire_script;
    static const std::string end_by =
        std::string(finish_function) + end_by_script;
    static const std::string end_handle =
        std::string(finish_function) + end_handle_script;
    switch (kind) {
    case OL_SCRIPT_PUT:
        return put.c_str();
    case OL_SCRIPT_END:
        return end.c_str();
    case OL_SCRIPT_EXPIRE:
        return expire.c_str();
    case OL_SCRIPT_END_BY:
        return end_by.c_str();
    case OL_SCRIPT_END_HANDLE:
        return end_handle.c_str();
    case OL_SCRIPT_LOAD:
        return load_script;
    case OL_SCRIPT_EXISTS:
        return exists_script;
    case OL_SCRIPT_SECRET:
        return secret_script;
    }
    return "";
}

} // namespace oidc_logout
