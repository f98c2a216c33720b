import CSRedis

/// Lua scripts on one conversation's keys (hash tag `{c:<id>}`).
public enum ConversationScripts {
    /// `append`: numbers, stores and publishes one conversation entry atomically, exactly once.
    ///
    /// KEYS = meta, log, dedup. ARGV = dedupId ('' = none), prefix, suffix, maxLen, dedupTTLSeconds,
    /// channels (space-separated), altSuffix, altChannels. The frame is `prefix .. seq .. suffix`;
    /// `altChannels` receive `prefix .. seq .. altSuffix` instead (the agent's copy of an assignment
    /// carries history). A dedup id seen before returns `{0, seq}` and changes nothing; otherwise
    /// `{1, seq}`. Log entry ids are `<seq>-0`, so a reader can XRANGE from any seq.
    public static let append = RedisScript(
        "cs_conversation_append",
        """
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
    /// KEYS = lease; ARGV = owner, ttlMs. Takes a free lease or extends our own. Returns 1 when held.
    public static let acquire = RedisScript(
        "cs_lease_acquire",
        """
        local holder = redis.call('GET', KEYS[1])
        if holder == false then
          redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
          return 1
        end
        if holder == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return 1
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
