import CSCore
import CSRedis

/// Lua scripts that make routing decisions atomically in Redis, so that any number of dispatchers
/// can run at once without exceeding an agent's capacity or assigning a conversation twice.
///
/// All keys they touch carry the `{agents}` hash tag (one slot on Redis Cluster). Per-skill and
/// per-agent keys (queues, handling times, an agent's conversation set) are built inside the
/// scripts from prefixes passed as arguments; they share the tag, so they stay in the slot.
public enum RoutingScripts {
    /// Keys every routing script takes, in this order (KEYS[1]...KEYS[12]).
    public static let routingKeys: [String] = [
        RedisKeys.agentsOnline, RedisKeys.agentsLoad, RedisKeys.agentsCapacity, RedisKeys.agentsSkills,
        RedisKeys.agentsLastAssigned, RedisKeys.assignments, RedisKeys.queued, RedisKeys.queueSkills,
        RedisKeys.agentsStatus, RedisKeys.conversationSkills, RedisKeys.assignedAt, RedisKeys.transfersApplied,
    ]

    /// Key prefixes every routing script takes as its first three arguments.
    public static let prefixArguments: [String] = [
        RedisKeys.queuePrefix, RedisKeys.agentConversationsPrefix, RedisKeys.handlingTimesPrefix,
    ]

    static let library = """
        local QUEUE, OF, HANDLE = ARGV[1], ARGV[2], ARGV[3]
        local function available(id, now)
          local score = redis.call('ZSCORE', KEYS[1], id)
          if not score or tonumber(score) <= now then return false end
          local status = redis.call('HGET', KEYS[9], id)
          return status ~= 'away' and status ~= 'offline'
        end
        local function hasSkill(id, skill)
          local skills = redis.call('HGET', KEYS[4], id)
          return skills and string.find(skills, ',' .. skill .. ',', 1, true) ~= nil
        end
        local function load(id) return tonumber(redis.call('HGET', KEYS[2], id) or '0') end
        local function capacity(id) return tonumber(redis.call('HGET', KEYS[3], id) or '0') end
        -- Least-loaded online agent with the skill and free capacity; ties go to the longest idle.
        local function pick(skill, now)
          local best, bestLoad, bestLast = nil, 0, 0
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
            if hasSkill(id, skill) and available(id, now) then
              local l = load(id)
              if l < capacity(id) then
                local last = tonumber(redis.call('HGET', KEYS[5], id) or '0')
                if best == nil or l < bestLoad or (l == bestLoad and last < bestLast) then
                  best, bestLoad, bestLast = id, l, last
                end
              end
            end
          end
          return best
        end
        local function onlineWithSkill(skill, now)
          local count = 0
          for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
            if hasSkill(id, skill) and available(id, now) then count = count + 1 end
          end
          return count
        end
        local function give(conv, agent, skill, now)
          redis.call('HINCRBY', KEYS[2], agent, 1)
          redis.call('HSET', KEYS[5], agent, now)
          redis.call('HSET', KEYS[6], conv, agent)
          redis.call('SADD', OF .. agent, conv)
          redis.call('HSET', KEYS[10], conv, skill)
          redis.call('HSET', KEYS[11], conv, now)
        end
        local function takeBack(conv, agent)
          redis.call('HDEL', KEYS[6], conv)
          redis.call('SREM', OF .. agent, conv)
          if redis.call('HINCRBY', KEYS[2], agent, -1) < 0 then redis.call('HSET', KEYS[2], agent, 0) end
        end
        local function enqueue(conv, skill, atHead)
          if atHead then redis.call('LPUSH', QUEUE .. skill, conv) else redis.call('RPUSH', QUEUE .. skill, conv) end
          redis.call('HSET', KEYS[7], conv, skill)
          redis.call('HSET', KEYS[10], conv, skill)
          redis.call('SADD', KEYS[8], skill)
        end

        """

    /// `assign`: ARGV = prefixes..., conversationId, nowMs, skill.
    /// Returns `{'assigned', agentId}` or `{'queued', onlineAgentsWithSkill}`; a repeat returns
    /// the same kind of answer and changes nothing.
    public static let assign = RedisScript(
        "cs_routing_assign",
        library + """
            local conv, now, skill = ARGV[4], tonumber(ARGV[5]), ARGV[6]
            local current = redis.call('HGET', KEYS[6], conv)
            if current then return {'assigned', current} end
            if redis.call('HEXISTS', KEYS[7], conv) == 0 then
              local best = pick(skill, now)
              if best then
                give(conv, best, skill, now)
                return {'assigned', best}
              end
              enqueue(conv, skill, false)
            end
            return {'queued', tostring(onlineWithSkill(skill, now))}
            """
    )

    /// `drain`: ARGV = prefixes..., nowMs, limit.
    /// Assigns waiting conversations, oldest first per skill, while agents have capacity.
    /// Returns a flat list `conversationId, agentId, ...`.
    public static let drain = RedisScript(
        "cs_routing_drain",
        library + """
            local now, limit = tonumber(ARGV[4]), tonumber(ARGV[5])
            local out = {}
            for _, skill in ipairs(redis.call('SMEMBERS', KEYS[8])) do
              local queue = QUEUE .. skill
              while #out < limit * 2 do
                local conv = redis.call('LINDEX', queue, 0)
                if not conv then
                  redis.call('SREM', KEYS[8], skill)
                  break
                end
                if redis.call('HEXISTS', KEYS[6], conv) == 1 or redis.call('HEXISTS', KEYS[7], conv) == 0 then
                  redis.call('LPOP', queue)
                else
                  local best = pick(skill, now)
                  if not best then break end
                  redis.call('LPOP', queue)
                  redis.call('HDEL', KEYS[7], conv)
                  give(conv, best, skill, now)
                  table.insert(out, conv)
                  table.insert(out, best)
                end
              end
            end
            return out
            """
    )

    /// `release`: ARGV = prefixes..., conversationId, expectedAgent ('' = any), nowMs.
    /// Frees the agent's capacity and records the handling time (or takes the conversation out
    /// of its queue). Returns the agent id, or false.
    public static let release = RedisScript(
        "cs_routing_release",
        library + """
            local conv, expected, now = ARGV[4], ARGV[5], tonumber(ARGV[6])
            local agent = redis.call('HGET', KEYS[6], conv)
            local skill = redis.call('HGET', KEYS[10], conv)
            if agent and (expected == '' or expected == agent) then
              takeBack(conv, agent)
              local since = redis.call('HGET', KEYS[11], conv)
              -- A stale drain assignment given back was never handled: no handling time.
              if since and skill and expected == '' then
                redis.call('LPUSH', HANDLE .. skill, now - tonumber(since))
                redis.call('LTRIM', HANDLE .. skill, 0, 19)
              end
              redis.call('HDEL', KEYS[10], conv)
              redis.call('HDEL', KEYS[11], conv)
              if expected == '' then redis.call('HDEL', KEYS[12], conv) end
              return agent
            end
            if expected == '' and redis.call('HDEL', KEYS[7], conv) == 1 then
              if skill then redis.call('LREM', QUEUE .. skill, 1, conv) end
              redis.call('HDEL', KEYS[10], conv)
              redis.call('HDEL', KEYS[12], conv)
            end
            return false
            """
    )

    /// `transfer`: ARGV = prefixes..., conversationId, expectedAgent ('' = any), toAgent ('' = to a skill),
    /// toSkill ('' = the conversation's own skill), nowMs, entryId ('' = not recorded).
    /// Returns `{'moved', fromAgent}`, `{'queued', fromAgent}`, `{'unavailable', ''}` (target
    /// offline, away, at capacity, or the current agent) or `{'not_assigned', ''}`. A transfer to
    /// a named agent does not check skills: the sender chose the person.
    ///
    /// Idempotent per inbound entry: a move records `entryId` in `transferred`, and the same entry
    /// run again (its owner failed after this script, before announcing) gets the first answer
    /// back instead of `not_assigned` from the new owner.
    public static let transfer = RedisScript(
        "cs_routing_transfer",
        library + """
            local conv, expected, target, skill, now, entry = ARGV[4], ARGV[5], ARGV[6], ARGV[7], tonumber(ARGV[8]), ARGV[9] or ''
            if entry ~= '' then
              local applied = redis.call('HGET', KEYS[12], conv)
              if applied then
                local id, kind, was = string.match(applied, '^(%S+) (%S+) (%S+)$')
                if id == entry then return {kind, was} end
              end
            end
            local from = redis.call('HGET', KEYS[6], conv)
            if not from or (expected ~= '' and expected ~= from) then return {'not_assigned', ''} end
            local kind = 'queued'
            if target ~= '' then
              if target == from or not available(target, now) or load(target) >= capacity(target) then
                return {'unavailable', ''}
              end
              takeBack(conv, from)
              give(conv, target, redis.call('HGET', KEYS[10], conv) or 'default', now)
              kind = 'moved'
            else
              if skill == '' then skill = redis.call('HGET', KEYS[10], conv) or 'default' end
              takeBack(conv, from)
              redis.call('HDEL', KEYS[11], conv)
              enqueue(conv, skill, true)
            end
            if entry ~= '' then redis.call('HSET', KEYS[12], conv, entry .. ' ' .. kind .. ' ' .. from) end
            return {kind, from}
            """
    )

    /// `expire`: ARGV = prefixes..., nowMs, graceMs.
    /// Agents whose presence expired more than the grace ago lose their conversations: each
    /// goes back to the head of its skill's queue. Returns a flat list `conversationId, agentId, ...`.
    public static let expire = RedisScript(
        "cs_routing_expire",
        library + """
            local now, grace = tonumber(ARGV[4]), tonumber(ARGV[5])
            local out = {}
            for _, agent in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - grace)) do
              for _, conv in ipairs(redis.call('SMEMBERS', OF .. agent)) do
                takeBack(conv, agent)
                redis.call('HDEL', KEYS[11], conv)
                enqueue(conv, redis.call('HGET', KEYS[10], conv) or 'default', true)
                table.insert(out, conv)
                table.insert(out, agent)
              end
              redis.call('ZREM', KEYS[1], agent)
            end
            return out
            """
    )

    /// `positions`: ARGV = prefixes..., skill, nowMs.
    /// Returns `{avgHandlingMs, onlineAgentsWithSkill, conversationId...}` (queue order).
    public static let positions = RedisScript(
        "cs_routing_positions",
        library + """
            local skill, now = ARGV[4], tonumber(ARGV[5])
            local times = redis.call('LRANGE', HANDLE .. skill, 0, -1)
            local total = 0
            for _, t in ipairs(times) do total = total + tonumber(t) end
            local avg = 0
            if #times > 0 then avg = math.floor(total / #times) end
            local out = {avg, onlineWithSkill(skill, now)}
            for _, conv in ipairs(redis.call('LRANGE', QUEUE .. skill, 0, -1)) do table.insert(out, conv) end
            return out
            """
    )

    /// `presence`: ARGV = prefixes..., agentId, status (`connect`, `online`, `away`, `offline`,
    /// `disconnect`), nowMs, ttlMs. Returns the agent's status after the change.
    /// `connect` keeps an agent away if it was; `disconnect` starts the grace period now (another
    /// gateway still holding a connection restores the presence at its next heartbeat).
    public static let presence = RedisScript(
        "cs_routing_presence",
        library + """
            local agent, status, now, ttl = ARGV[4], ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
            local current = redis.call('HGET', KEYS[9], agent) or 'online'
            if status == 'disconnect' then
              redis.call('ZADD', KEYS[1], 'XX', 'LT', now, agent)
              return current
            end
            if status == 'connect' then
              if current == 'offline' then current = 'online' end
              status = current
            end
            redis.call('HSET', KEYS[9], agent, status)
            if status == 'offline' then
              redis.call('ZADD', KEYS[1], 'XX', 1, agent)
            else
              redis.call('ZADD', KEYS[1], now + ttl, agent)
            end
            return status
            """
    )

    /// `heartbeat`: ARGV = prefixes..., nowMs, ttlMs, agentId... Extends the presence of agents
    /// that are not signed off.
    public static let heartbeat = RedisScript(
        "cs_routing_heartbeat",
        library + """
            local expiry = tonumber(ARGV[4]) + tonumber(ARGV[5])
            for i = 6, #ARGV do
              if redis.call('HGET', KEYS[9], ARGV[i]) ~= 'offline' then
                redis.call('ZADD', KEYS[1], 'GT', expiry, ARGV[i])
              end
            end
            return 0
            """
    )
}
