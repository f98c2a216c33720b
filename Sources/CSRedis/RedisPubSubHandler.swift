import NIOCore

/// A command for a subscriber connection and the number of non-message replies it produces
/// (`SUBSCRIBE a b` is confirmed by two `subscribe` replies; `AUTH` by one `+OK`).
struct RedisPubSubRequest: Sendable {
    var arguments: [RedisArgument]
    var expectedReplies: Int
    /// Succeeds once all replies arrived; fails with ``RedisError/Code/serverError`` on an error reply.
    var promise: EventLoopPromise<Void>?
}

/// Handler of a ``RedisSubscriber`` connection.
///
/// `message`/`pmessage` pushes go to `onMessage`; every other reply (subscribe confirmations,
/// `+OK` for `AUTH`, `pong`, errors) completes the oldest request in order. Replies are subject
/// to `commandTimeout` (the channel is closed on expiry) and, when `pingInterval` is set, a
/// `PING` is sent periodically so that a silently dead connection is noticed.
final class RedisPubSubHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisPubSubRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var remaining: Int
        let promise: EventLoopPromise<Void>?
        let deadline: NIODeadline
    }

    private let onMessage: @Sendable (RedisSubscriberEvent) -> Void
    private let commandTimeout: TimeAmount
    private let pingInterval: TimeAmount?
    private var pending = CircularBuffer<Pending>()
    private var failure: RedisError?
    private var timer = RedisDeadlineTimer()
    private var pingTask: Scheduled<Void>?

    init(commandTimeout: TimeAmount, pingInterval: TimeAmount?, onMessage: @escaping @Sendable (RedisSubscriberEvent) -> Void) {
        self.commandTimeout = commandTimeout
        self.pingInterval = pingInterval
        self.onMessage = onMessage
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { self.schedulePing(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.schedulePing(context: context)
        context.fireChannelActive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        guard let buffer = self.enqueue(request, context: context) else {
            promise?.fail(self.failure ?? RedisError(code: .invalidCommand, message: "cannot encode command"))
            return
        }
        context.write(self.wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = self.unwrapInboundIn(data)
        if let event = Self.messageEvent(reply) {
            self.onMessage(event)
            return
        }
        guard !self.pending.isEmpty else {
            if self.failure == nil {
                self.fail(context: context, with: RedisError(code: .protocolError, message: "unexpected reply on subscriber connection: \(String(describing: reply).prefix(200))"))
            }
            return
        }
        if case .error(let message) = reply {
            // Redis answers a rejected command with a single error, however many replies it would have sent.
            self.pending.removeFirst().promise?.fail(RedisError.server(message))
            return
        }
        self.pending[self.pending.startIndex].remaining -= 1
        if self.pending[self.pending.startIndex].remaining == 0 {
            self.pending.removeFirst().promise?.succeed(())
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(RedisError(code: .connectionClosed, message: "subscriber connection to Redis closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(context: context, with: RedisError.wrapping(error, as: .connectionClosed, context: "subscriber connection error"))
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.failAll(RedisError(code: .connectionClosed, message: "subscriber connection to Redis closed"))
    }

    /// `.message`/`.pmessage` for a pub/sub push, `nil` for any other reply.
    static func messageEvent(_ reply: RESPValue) -> RedisSubscriberEvent? {
        guard case .array(let items) = reply, items.count >= 3, case .bulkString(let kind) = items[0] else { return nil }
        switch (String(buffer: kind), items.count) {
        case ("message", 3):
            guard let channel = items[1].string, let payload = items[2].bytes else { return nil }
            return .message(channel: channel, payload: payload)
        case ("pmessage", 4):
            guard let pattern = items[1].string, let channel = items[2].string, let payload = items[3].bytes else { return nil }
            return .pmessage(pattern: pattern, channel: channel, payload: payload)
        default:
            return nil
        }
    }

    /// Encodes and queues a request; `nil` (with the request's promise failed) if it cannot be sent.
    private func enqueue(_ request: RedisPubSubRequest, context: ChannelHandlerContext) -> ByteBuffer? {
        if let failure = self.failure {
            request.promise?.fail(failure)
            return nil
        }
        var buffer = context.channel.allocator.buffer(capacity: 64)
        do {
            try RedisCommandEncoder.encode(request.arguments, into: &buffer)
        } catch {
            request.promise?.fail(error)
            return nil
        }
        guard request.expectedReplies > 0 else {
            request.promise?.succeed(())
            return buffer
        }
        let deadline = context.eventLoop.now + self.commandTimeout
        self.pending.append(Pending(remaining: request.expectedReplies, promise: request.promise, deadline: deadline))
        self.timer.arm(deadline: deadline, context: context) { [unowned self] in self.checkTimeout(context: context) }
        return buffer
    }

    private func schedulePing(context: ChannelHandlerContext) {
        guard let interval = self.pingInterval, self.pingTask == nil, self.failure == nil else { return }
        self.pingTask = context.eventLoop.assumeIsolated().scheduleTask(in: interval) { [unowned self] in
            self.pingTask = nil
            guard let buffer = self.enqueue(RedisPubSubRequest(arguments: ["PING"], expectedReplies: 1, promise: nil), context: context) else { return }
            context.writeAndFlush(self.wrapOutboundOut(buffer), promise: nil)
            self.schedulePing(context: context)
        }
    }

    /// Closes the channel, then fails everything queued (see `RedisCommandHandler` for why in this order).
    private func fail(context: ChannelHandlerContext, with error: RedisError, timedOut: Pending? = nil) {
        if self.failure == nil { self.failure = error }
        self.timer.cancel()
        self.pingTask?.cancel()
        self.pingTask = nil
        let queued = self.pending
        self.pending.removeAll()
        context.close(promise: nil)
        timedOut?.promise?.fail(RedisError(code: .commandTimeout, message: "no reply from Redis within \(Duration(self.commandTimeout))"))
        for entry in queued { entry.promise?.fail(error) }
    }

    private func failAll(_ error: RedisError) {
        if self.failure == nil { self.failure = error }
        self.timer.cancel()
        self.pingTask?.cancel()
        self.pingTask = nil
        while let entry = self.pending.popFirst() {
            entry.promise?.fail(error)
        }
    }

    private func checkTimeout(context: ChannelHandlerContext) {
        self.timer.fired()
        guard let head = self.pending.first else { return }
        guard head.deadline <= context.eventLoop.now else {
            self.timer.arm(deadline: head.deadline, context: context) { [unowned self] in self.checkTimeout(context: context) }
            return
        }
        self.pending.removeFirst()
        let error = RedisError(code: .connectionClosed, message: "subscriber connection closed because Redis stopped answering")
        self.fail(context: context, with: error, timedOut: head)
    }
}
