extension RedisKeys {
    /// One process's heartbeat (hash: id, role, version, host, pid, startedAt, updatedAt,
    /// connections, messagesIn, messagesOut, streamLag, lastError, lastErrorAt); expires when the
    /// process stops beating.
    public static func processHeartbeat(_ id: String) -> String { "cs:{ops}:proc:\(id)" }
    /// Sorted set: process id → heartbeat expiry (ms); expired members stay an hour so that
    /// `cs-admin status` can show what went away.
    public static let processes = "cs:{ops}:procs"
}
