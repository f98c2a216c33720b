extension Array where Element == RESPValue {
    /// The first error reply among a pipeline's replies, as a ``RedisError``; nil when every
    /// command succeeded. A pipeline only throws for the connection: an error reply (WRONGTYPE,
    /// OOM, NOPERM...) sits in its command's slot and is lost unless someone looks.
    public var firstRedisError: RedisError? {
        for reply in self { if let error = reply.redisError { return error } }
        return nil
    }

    /// Throws the first error reply (see ``firstRedisError``); returns the replies otherwise.
    @discardableResult
    public func checked() throws -> [RESPValue] {
        if let error = firstRedisError { throw error }
        return self
    }
}
