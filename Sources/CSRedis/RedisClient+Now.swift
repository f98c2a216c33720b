import NIOCore

extension RedisClient {
    /// Sends one command without a task or a wait: nil when there is no live connection right now
    /// (then use ``send(_:)-([RedisArgument])``, which waits for one).
    ///
    /// The future completes on the connection's event loop, with the reply, or fails with a
    /// ``RedisError``: `serverError` for an error reply, `connectionClosed`, `commandTimeout`.
    /// For callers already on an event loop, where a hop to a task would cost more than the command.
    public func sendNow(_ arguments: [RedisArgument]) -> EventLoopFuture<RESPValue>? {
        guard let connection = manager.readyConnection() else { return nil }
        let sent = connection.sendFuture(arguments)
        let reply = sent.eventLoop.makePromise(of: RESPValue.self)
        sent.whenComplete { result in
            switch result {
            case .success(let value):
                do { reply.succeed(try Self.checked(value)) } catch { reply.fail(error) }
            case .failure(let error):
                RedisMetrics.connectionErrors.increment()
                reply.fail(RedisConnection.failed(error))
            }
        }
        return reply.futureResult
    }
}
