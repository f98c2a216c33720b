import CSCore
import CSRedis

/// Lua scripts that make routing decisions atomically in Redis, so that any number of dispatchers
/// can run at once without exceeding an agent's capacity or assigning a conversation twice.
///
/// All keys they touch carry the `{agents}` hash tag (one slot on Redis Cluster).
public enum RoutingScripts {
    /// Keys passed to `assign` and `drain`, in this order.
    public static let routingKeys: [String] = [
        RedisKeys.agentsOnline, RedisKeys.agentsLoad, RedisKeys.agentsCapacity, RedisKeys.agentsSkills,
        RedisKeys.agentsLastAssigned, RedisKeys.assignments, RedisKeys.queued, RedisKeys.queueSkills,
    ]

    /// Picks the online agent with `skill` and the most free capacity; ties go to the longest idle.
    private static let pickAgent = """
        local function pick(ids, skill)
          local best, bestFree, bestLast = nil, 0, 0
          for _, id in ipairs(ids) do
            local skills = redis.call('HGET', KEYS[4], id)
            if skills and string.find(skills, ',' .. skill .. ',', 1, true) then
              local free = tonumber(redis.call('HGET', KEYS[3], id) or '0') - tonumber(redis.call('HGET', KEYS[2], id) or '0')
              if free > 0 then
                local last = tonumber(redis.call('HGET', KEYS[5], id) or '0')
                if best == nil or free > bestFree or (free == bestFree and last < bestLast) then
                  best, bestFree, bestLast = id, free, last
                end
              end
            end
          end
          return best
        end
        local function give(conv, agent, now)
          redis.call('HINCRBY', KEYS[2], agent, 1)
          redis.call('HSET', KEYS[5], agent, now)
          redis.call('HSET', KEYS[6], conv, agent)
        end
        local function onlineAgents(now)
          redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
          return redis.call('ZRANGE', KEYS[1], 0, -1)
        end

        """

    /// `assign`: KEYS = routingKeys + [queue(skill)]; ARGV = conversationId, nowMs, skill.
    /// Returns `{'assigned', agentId}` or `{'queued', ''}`; repeating a call returns the same answer.
    public static let assign = RedisScript(
        pickAgent + """
            local conv, now, skill = ARGV[1], tonumber(ARGV[2]), ARGV[3]
            local current = redis.call('HGET', KEYS[6], conv)
            if current then return {'assigned', current} end
            if redis.call('HEXISTS', KEYS[7], conv) == 1 then return {'queued', ''} end
            local best = pick(onlineAgents(now), skill)
            if best then
              give(conv, best, now)
              return {'assigned', best}
            end
            redis.call('RPUSH', KEYS[9], conv)
            redis.call('HSET', KEYS[7], conv, skill)
            redis.call('SADD', KEYS[8], skill)
            return {'queued', ''}
            """
    )

    /// `drain`: KEYS = routingKeys; ARGV = nowMs, limit, queue key prefix.
    /// Assigns waiting conversations, oldest first per skill, while agents have capacity.
    /// Returns a flat list `conversationId, agentId, ...`.
    public static let drain = RedisScript(
        pickAgent + """
            local now, limit, prefix = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
            local out = {}
            if redis.call('SCARD', KEYS[8]) == 0 then return out end
            local ids = onlineAgents(now)
            if #ids == 0 then return out end
            for _, skill in ipairs(redis.call('SMEMBERS', KEYS[8])) do
              local queue = prefix .. skill
              while #out < limit * 2 do
                local conv = redis.call('LINDEX', queue, 0)
                if not conv then
                  redis.call('SREM', KEYS[8], skill)
                  break
                end
                if redis.call('HEXISTS', KEYS[6], conv) == 1 or redis.call('HEXISTS', KEYS[7], conv) == 0 then
                  redis.call('LPOP', queue)
                else
                  local best = pick(ids, skill)
                  if not best then break end
                  redis.call('LPOP', queue)
                  redis.call('HDEL', KEYS[7], conv)
                  give(conv, best, now)
                  table.insert(out, conv)
                  table.insert(out, best)
                end
              end
            end
            return out
            """
    )

    /// `release`: KEYS = load, assignments, queued, queue(skill); ARGV = conversationId, expectedAgent ('' = any).
    /// Frees the agent's capacity (or takes the conversation out of its queue). Returns the agent id or false.
    public static let release = RedisScript(
        """
        local conv, expected = ARGV[1], ARGV[2]
        local agent = redis.call('HGET', KEYS[2], conv)
        if agent and (expected == '' or expected == agent) then
          redis.call('HDEL', KEYS[2], conv)
          if redis.call('HINCRBY', KEYS[1], agent, -1) < 0 then redis.call('HSET', KEYS[1], agent, 0) end
          return agent
        end
        if expected == '' and redis.call('HDEL', KEYS[3], conv) == 1 then
          redis.call('LREM', KEYS[4], 1, conv)
        end
        return false
        """
    )
}
