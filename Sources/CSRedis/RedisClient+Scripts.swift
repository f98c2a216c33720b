extension RedisClient {
    /// Runs `script` with `EVALSHA`; if Redis does not know it (`NOSCRIPT`, e.g. after a restart or
    /// `SCRIPT FLUSH`) falls back to `EVAL`, which also caches it again.
    /// - Throws: ``RedisError`` as ``send(_:)-([RedisArgument])`` does (a script error is a `serverError`).
    public func evalScript(
        _ script: RedisScript, keys: [RedisArgument] = [], arguments: [RedisArgument] = []
    ) async throws -> RESPValue {
        do {
            return try await self.send(script.evalshaCommand(keys: keys, arguments: arguments))
        } catch let error as RedisError where error.redisErrorPrefix == "NOSCRIPT" {
            return try await self.send(script.evalCommand(keys: keys, arguments: arguments))
        }
    }

    /// Loads scripts with `SCRIPT LOAD` (one pipelined round trip), so `EVALSHA` works for them.
    /// Run it at startup; after a Redis restart ``evalScript(_:keys:arguments:)`` reloads by itself,
    /// while pipelines using ``RedisScript/evalshaCommand(keys:arguments:)`` should call this again on `NOSCRIPT`.
    /// - Throws: the first error reply as ``RedisError/Code/serverError``; ``RedisError/Code/protocolError``
    ///   if Redis reports a different SHA1 than computed locally.
    public func loadScripts(_ scripts: [RedisScript]) async throws {
        let replies = try await self.pipeline(scripts.map { ["SCRIPT", "LOAD", RedisArgument($0.source)] })
        for (script, reply) in zip(scripts, replies) {
            if let error = reply.redisError { throw error }
            guard reply.string?.lowercased() == script.sha1 else {
                throw RedisError(code: .protocolError, message: "SCRIPT LOAD returned \(reply), expected \(script.sha1)")
            }
        }
    }
}
