import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One established TCP connection of a ``RedisClient``: `RedisReplyDecoder` + `RedisCommandHandler`,
/// already authenticated and with the configured database selected.
///
/// Requests from any thread are queued and written by one event-loop task with a single flush,
/// so concurrent callers share one hop to the event loop and one `writev` instead of paying
/// one each (the queue keeps submission order, which is the reply order).
final class RedisConnection: Sendable {
    let channel: any Channel
    private let outbox = NIOLockedValueBox(Outbox())

    private struct Outbox {
        var requests: [RedisRequest] = []
        var drainScheduled = false
    }

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// `false` once the channel has closed (thread-safe).
    var isActive: Bool { self.channel.isActive }

    /// Connects, then runs the handshake (`AUTH`, `SELECT`, `CLIENT SETNAME` as configured).
    static func connect(configuration: RedisConfiguration, eventLoop: any EventLoop, logger: Logger) async throws -> RedisConnection {
        let commandTimeout = TimeAmount(configuration.commandTimeout)
        let channel = try await RedisBootstrap.connect(configuration: configuration, eventLoop: eventLoop) { channel in
            try channel.pipeline.syncOperations.addHandlers(
                ByteToMessageHandler(RedisReplyDecoder()),
                RedisCommandHandler(commandTimeout: commandTimeout)
            )
        }
        let connection = RedisConnection(channel: channel)
        do {
            let steps = RedisHandshake.steps(for: configuration, selectDatabase: true)
            if !steps.isEmpty {
                let replies = try await connection.send(pipeline: steps.map(\.command))
                try RedisHandshake.validate(steps: steps, replies: replies)
            }
        } catch {
            connection.close(failingWith: RedisError.wrapping(error, as: .connectionClosed, context: "handshake failed"))
            throw error
        }
        logger.debug("connected to Redis", metadata: ["redis.address": "\(configuration.host):\(configuration.port)"])
        return connection
    }

    /// Sends one command; an error reply is returned as `.error`.
    func send(_ arguments: [RedisArgument]) async throws -> RESPValue {
        do {
            return try await sendFuture(arguments).get()
        } catch {
            throw Self.failed(error)
        }
    }

    /// Sends one command; the future (completed on the connection's event loop) holds the reply,
    /// an error reply as `.error`.
    func sendFuture(_ arguments: [RedisArgument]) -> EventLoopFuture<RESPValue> {
        let promise = self.channel.eventLoop.makePromise(of: RESPValue.self)
        self.enqueue(.command(arguments, promise))
        return promise.futureResult
    }

    /// What a command fails with when the connection does (NIO's errors as `connectionClosed`).
    static func failed(_ error: any Error) -> RedisError {
        RedisError.wrapping(error, as: .connectionClosed, context: "connection to Redis failed")
    }

    /// Sends all commands with a single flush; error replies are returned as `.error` in their slots.
    func send(pipeline commands: [[RedisArgument]]) async throws -> [RESPValue] {
        let promise = self.channel.eventLoop.makePromise(of: [RESPValue].self)
        self.enqueue(.pipeline(commands, promise))
        do {
            return try await promise.futureResult.get()
        } catch {
            throw RedisError.wrapping(error, as: .connectionClosed, context: "connection to Redis failed")
        }
    }

    /// Queues `request`; the first request of a batch schedules the event-loop task that writes them all.
    private func enqueue(_ request: RedisRequest) {
        let schedule = self.outbox.withLockedValue { outbox -> Bool in
            outbox.requests.append(request)
            defer { outbox.drainScheduled = true }
            return !outbox.drainScheduled
        }
        if schedule {
            self.channel.eventLoop.execute { self.drain() }
        }
    }

    /// On the event loop: writes every queued request, then flushes once. While the channel is
    /// active every write reaches `RedisCommandHandler`, which answers or fails each request; once
    /// it is closed the requests fail here.
    private func drain() {
        let requests = self.outbox.withLockedValue { outbox -> [RedisRequest] in
            outbox.drainScheduled = false
            let taken = outbox.requests
            outbox.requests = []
            return taken
        }
        guard self.channel.isActive else {
            let error = RedisError(code: .connectionClosed, message: "connection to Redis closed")
            for request in requests { request.fail(error) }
            return
        }
        for request in requests {
            self.channel.write(request, promise: nil)
        }
        self.channel.flush()
    }

    /// Fails every in-flight command with `error` and closes the channel.
    func close(failingWith error: RedisError) {
        let channel = self.channel
        channel.triggerUserOutboundEvent(RedisCommandHandler.CloseEvent(error: error)).whenFailure { _ in
            channel.close(promise: nil)
        }
    }

    /// Returns once the channel is closed.
    func closed() async {
        try? await self.channel.closeFuture.get()
    }
}
