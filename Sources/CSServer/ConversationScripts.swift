import CSRedis

/// Lua scripts on one conversation's keys (hash tag `{c:<id>}`).
public enum ConversationScripts {
    /// Lua prologue of every script that writes (or, for an owner, reads) a conversation's state:
    /// `ARGV[argument]` is the caller's partition lease token. The meta hash (KEYS[1]) remembers
    /// the largest token seen in field `fence`; a smaller one is a dispatcher whose lease another
    /// took over while it stalled, and its call fails with `FENCED` before touching anything.
    /// Lease and conversation keys are in different slots, so the token, not the lease key, is
    /// what the conversation's slot can compare (docs/architecture.md, "Fencing").
    static func fenceCheck(argument: Int) -> String {
        """
        local fence = tonumber(ARGV[\(argument)] or '0') or 0
        if fence > 0 then
          local seen = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
          if fence < seen then return redis.error_reply('FENCED lease token ' .. fence .. ' < ' .. seen) end
          if fence > seen then redis.call('HSET', KEYS[1], 'fence', fence) end
        end

        """
    }

    /// `save`: KEYS = meta; ARGV = fence, field, value, field, value... Writes the state's fields
    /// unless a newer partition owner has touched the conversation (`fenceCheck`).
    public static let save = RedisScript(
        "cs_conversation_save",
        fenceCheck(argument: 1) + """
        redis.call('HSET', KEYS[1], unpack(ARGV, 2))
        return 1
        """
    )

    /// `load`: KEYS = meta; ARGV = fence. The meta hash (`HGETALL`) for the partition's owner,
    /// which raises the fence: from now on a stalled former owner may not write this conversation.
    /// A conversation that does not exist stays so (empty reply, no key created).
    public static let load = RedisScript(
        "cs_conversation_load",
        "if redis.call('EXISTS', KEYS[1]) == 0 then return {} end\n" + fenceCheck(argument: 1) + """
        return redis.call('HGETALL', KEYS[1])
        """
    )

    /// `append`: numbers, stores and publishes one conversation entry atomically, exactly once.
    ///
    /// KEYS = meta, log, dedup. ARGV = dedupId ('' = none), prefix, suffix, maxLen, dedupTTLSeconds,
    /// channels (space-separated), altSuffix, altChannels, fence (the writer's partition lease
    /// token, see `fenceCheck`; '' or 0 = unfenced). The frame is `prefix .. seq .. suffix`;
    /// `altChannels` receive `prefix .. seq .. altSuffix` instead (the agent's copy of an assignment
    /// carries history). A dedup id seen before returns `{0, seq}` and changes nothing; otherwise
    /// `{1, seq}`. Log entry ids are `<seq>-0`, so a reader can XRANGE from any seq.
    public static let append = RedisScript(
        "cs_conversation_append",
        fenceCheck(argument: 9) + """
        if ARGV[1] ~= '' then
          local seen = redis.call('HGET', KEYS[3], ARGV[1])
          if seen then return {0, tonumber(seen)} end
        end
        local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
        local frame = ARGV[2] .. seq .. ARGV[3]
        redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], seq .. '-0', 'f', frame)
        if ARGV[1] ~= '' then
          redis.call('HSET', KEYS[3], ARGV[1], seq)
          redis.call('EXPIRE', KEYS[3], ARGV[5])
        end
        for channel in string.gmatch(ARGV[6], '%S+') do redis.call('PUBLISH', channel, frame) end
        if ARGV[8] ~= '' then
          local alt = ARGV[2] .. seq .. ARGV[7]
          for channel in string.gmatch(ARGV[8], '%S+') do redis.call('PUBLISH', channel, alt) end
        end
        return {1, seq}
        """
    )
}

/// Lua scripts for partition leases (hash tag `{p<N>}`).
public enum LeaseScripts {
    /// KEYS = lease, fence; ARGV = owner, ttlMs. Takes a free lease or extends our own. Returns
    /// the lease's fencing token (> 0) when held, 0 otherwise.
    ///
    /// The token comes from `INCR` on the partition's fence counter at each acquisition, so a
    /// later owner always holds a larger one; conversation writes carry it (`fenceCheck`) and a
    /// stalled earlier owner's writes are refused once the new owner touched the conversation.
    public static let acquire = RedisScript(
        "cs_lease_acquire",
        """
        local holder = redis.call('GET', KEYS[1])
        if holder == false then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return redis.call('INCR', KEYS[2])
        end
        if holder == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          local token = tonumber(redis.call('GET', KEYS[2]) or '0')
          -- A lease taken before fencing existed: give it a token now.
          if token == 0 then token = redis.call('INCR', KEYS[2]) end
          return token
        end
        return 0
        """
    )

    /// KEYS = lease; ARGV = owner. Gives the lease up if we hold it.
    public static let release = RedisScript(
        "cs_lease_release",
        """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """
    )
}
