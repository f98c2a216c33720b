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
    /// token, see `fenceCheck`; '' or 0 = unfenced), nowMs. The frame is `prefix .. seq .. suffix`;
    /// `altChannels` receive `prefix .. seq .. altSuffix` instead (the agent's copy of an assignment
    /// carries history). A dedup id seen before returns `{0, seq}` and changes nothing; otherwise
    /// `{1, seq}`. Log entry ids are `<seq>-0`, so a reader can XRANGE from any seq.
    ///
    /// Four commands and one PUBLISH per channel (issue 17; it was six and one per channel): one
    /// `HMGET` reads the fence, the seq and when the dedup table's expiry was last refreshed;
    /// `HSETNX` claims the dedup id and tells a duplicate in one step; the log `XADD` runs
    /// protected, and when it fails the claim is taken back (`HDEL`), so a dedup id never says
    /// committed without its entry in the log; one `HSET` stores the seq (and a raised fence). The
    /// dedup table's expiry is refreshed at most once an hour (`dedupAt`), so it lasts at least its
    /// TTL less an hour after the last entry.
    public static let append = RedisScript(
        "cs_conversation_append",
        """
        local meta = redis.call('HMGET', KEYS[1], 'fence', 'seq', 'dedupAt')
        local fence = tonumber(ARGV[9] or '0') or 0
        local seen = tonumber(meta[1] or '0')
        if fence > 0 and fence < seen then return redis.error_reply('FENCED lease token ' .. fence .. ' < ' .. seen) end
        local seq = tonumber(meta[2] or '0') + 1
        local now = tonumber(ARGV[10] or '0') or 0
        local update = {'seq', seq}
        if ARGV[1] ~= '' then
          if redis.call('HSETNX', KEYS[3], ARGV[1], seq) == 0 then
            return {0, tonumber(redis.call('HGET', KEYS[3], ARGV[1]))}
          end
          if now - tonumber(meta[3] or '0') > 3600000 then
            redis.call('EXPIRE', KEYS[3], ARGV[5])
            update[#update + 1] = 'dedupAt'
            update[#update + 1] = now
          end
        end
        local frame = ARGV[2] .. seq .. ARGV[3]
        local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], seq .. '-0', 'f', frame)
        if type(added) == 'table' and added.err then
          -- Not committed: the dedup id must not say it was (a function is not rolled back).
          if ARGV[1] ~= '' then redis.call('HDEL', KEYS[3], ARGV[1]) end
          return added
        end
        if fence > seen then
          update[#update + 1] = 'fence'
          update[#update + 1] = fence
        end
        redis.call('HSET', KEYS[1], unpack(update))
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
