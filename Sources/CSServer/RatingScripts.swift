import CSRedis

/// Lua scripts on the ratings keys (hash tag `{ratings}`, docs/redis-keys.md).
public enum RatingScripts {
    /// `record`: stores one conversation's rating and updates every aggregate in one step.
    ///
    /// KEYS = record, all, all:<day>, team, team:<day>, agent, agent:<day>, index:all, index:team,
    /// index:agent, agents set, teams set. ARGV = entryMs, entrySeq, score, comment, closedAt,
    /// hasAgent (`1`/`0`), agentId, agentName, handlers, team, customerId, customerName,
    /// clientMessageId, conversationId.
    ///
    /// The stream entry id (`entryMs-entrySeq`) of the last applied rating is stored: an entry at
    /// or before it (the same entry processed again after a crash, or an older one) changes
    /// nothing and returns `{'dup', …}`; so does a retry of the stored rating's frame (the same
    /// client message id `cid`: gateways append retries as entries of their own). A first rating counts once everywhere (`'new'`); a change
    /// moves the old score out of every distribution and the new one in (`'changed'`). Returns
    /// `{status, ratedAt, score, comment, updatedAt}` as stored afterwards.
    public static let record = RedisScript(
        "cs_rating_record",
        """
        local rec = KEYS[1]
        local old = redis.call('HMGET', rec, 'score', 'entryMs', 'entrySeq', 'cid')
        local ms, sq = tonumber(ARGV[1]), tonumber(ARGV[2])
        if old[1] then
          local oldMs, oldSeq = tonumber(old[2]) or 0, tonumber(old[3]) or 0
          -- A retried frame (same client message id as the rating stored) is a later entry of its own.
          if ms < oldMs or (ms == oldMs and sq <= oldSeq) or (ARGV[13] ~= '' and old[4] == ARGV[13]) then
            local cur = redis.call('HMGET', rec, 'ratedAt', 'score', 'comment', 'updatedAt')
            return {'dup', cur[1], cur[2], cur[3], cur[4]}
          end
        end
        local aggregates = {KEYS[2], KEYS[3], KEYS[4], KEYS[5]}
        local indexes = {KEYS[8], KEYS[9]}
        if ARGV[6] == '1' then
          table.insert(aggregates, KEYS[6]); table.insert(aggregates, KEYS[7]); table.insert(indexes, KEYS[10])
          redis.call('SADD', KEYS[11], ARGV[7])
        end
        redis.call('SADD', KEYS[12], ARGV[10])
        local score = tonumber(ARGV[3])
        for _, key in ipairs(aggregates) do
          if old[1] then
            redis.call('HINCRBY', key, 's' .. old[1], -1)
            redis.call('HINCRBY', key, 'sum', -tonumber(old[1]))
          else
            redis.call('HINCRBY', key, 'count', 1)
          end
          redis.call('HINCRBY', key, 's' .. score, 1)
          local v = redis.call('HMGET', key, 'count', 'sum', 's4', 's5')
          local sum = redis.call('HINCRBY', key, 'sum', score)
          local count = tonumber(v[1])
          local happy = (tonumber(v[3]) or 0) + (tonumber(v[4]) or 0)
          -- Rounded half up in integers, exactly as the HTTP API rounds (RatingAggregate).
          local h = math.floor((sum * 200 + count) / (count * 2))
          local t = math.floor((happy * 2000 + count) / (count * 2))
          redis.call('HSET', key, 'avg', string.format('%d.%02d', math.floor(h / 100), h % 100),
            'csat', string.format('%d.%d', math.floor(t / 10), t % 10))
        end
        if not old[1] then
          for _, key in ipairs(indexes) do redis.call('ZADD', key, ARGV[5], ARGV[14]) end
        end
        redis.call('HSET', rec, 'score', score, 'comment', ARGV[4], 'updatedAt', ms, 'entryMs', ms, 'entrySeq', sq,
          'cid', ARGV[13], 'closedAt', ARGV[5], 'agent', ARGV[7], 'agentName', ARGV[8], 'handlers', ARGV[9],
          'team', ARGV[10], 'customer', ARGV[11], 'customerName', ARGV[12])
        redis.call('HSETNX', rec, 'ratedAt', ms)
        local status = 'new'
        if old[1] then status = 'changed' end
        return {status, redis.call('HGET', rec, 'ratedAt'), tostring(score), ARGV[4], tostring(ms)}
        """
    )
}
