import Logging
import NIOCore
import NIOPosix

/// One established, authenticated connection of a ``RedisSubscriber``.
final class RedisSubscriberConnection: Sendable {
    let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Connects and runs `AUTH`/`CLIENT SETNAME` as configured (no `SELECT`: pub/sub ignores databases).
    static func connect(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop,
        onMessage: @escaping @Sendable (RedisSubscriberEvent) -> Void
    ) async throws -> RedisSubscriberConnection {
        let commandTimeout = TimeAmount(configuration.commandTimeout)
        let pingInterval = configuration.healthCheckInterval.map { TimeAmount($0) }
        let channel = try await RedisBootstrap.connect(configuration: configuration, eventLoop: eventLoop) { channel in
            try channel.pipeline.syncOperations.addHandlers(
                ByteToMessageHandler(RedisReplyDecoder()),
                RedisPubSubHandler(commandTimeout: commandTimeout, pingInterval: pingInterval, onMessage: onMessage)
            )
        }
        let connection = RedisSubscriberConnection(channel: channel)
        do {
            let steps = RedisHandshake.steps(for: configuration, selectDatabase: false)
            let futures = steps.map { connection.send($0.command, expectedReplies: 1) }
            for (step, future) in zip(steps, futures) {
                do {
                    try await future.get()
                } catch let error as RedisError where error.code == .serverError {
                    try RedisHandshake.validate(step: step, reply: .error(error.message))
                }
            }
        } catch {
            connection.close()
            throw RedisError.wrapping(error, as: .connectionClosed, context: "handshake failed")
        }
        return connection
    }

    /// Writes one command now (so calls made in some order hit the wire in that order) and returns
    /// a future that succeeds when Redis has sent `expectedReplies` non-message replies.
    func send(_ arguments: [RedisArgument], expectedReplies: Int) -> EventLoopFuture<Void> {
        let promise = self.channel.eventLoop.makePromise(of: Void.self)
        let request = RedisPubSubRequest(arguments: arguments, expectedReplies: expectedReplies, promise: promise)
        self.channel.writeAndFlush(request).cascadeFailure(to: promise)
        return promise.futureResult
    }

    func close() {
        self.channel.close(promise: nil)
    }

    /// Returns once the channel is closed.
    func closed() async {
        try? await self.channel.closeFuture.get()
    }
}
