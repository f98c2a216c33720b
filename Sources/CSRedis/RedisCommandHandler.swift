import NIOCore

/// Request/response handler of a ``RedisClient`` connection.
///
/// Outbound ``RedisRequest``s are encoded (via hiredis) and their promises queued; each inbound
/// ``RESPValue`` completes the oldest queued request (Redis answers in order), so any number of
/// commands can be in flight. If the oldest request gets no reply within `commandTimeout` it fails
/// with ``RedisError/Code/commandTimeout`` and the channel is closed, because a late reply could
/// otherwise be matched to the wrong command. When the channel goes away every queued request fails.
final class RedisCommandHandler: ChannelDuplexHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    /// Outbound user event: close the channel and fail everything queued with `error`.
    struct CloseEvent: Sendable {
        let error: RedisError
    }

    private var pending = CircularBuffer<PendingRedisRequest>(initialCapacity: 16)
    private var failure: RedisError?
    private var timer = RedisDeadlineTimer()
    private let commandTimeout: TimeAmount

    init(commandTimeout: TimeAmount) {
        self.commandTimeout = commandTimeout
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = self.unwrapOutboundIn(data)
        if let failure = self.failure {
            request.fail(failure)
            promise?.fail(failure)
            return
        }
        if case .pipeline(let commands, let replyPromise) = request, commands.isEmpty {
            replyPromise.succeed([])
            promise?.succeed(())
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: request.maximumEncodedSize)
        do {
            try request.encode(into: &buffer)
        } catch {
            request.fail(error)
            promise?.fail(error)
            return
        }
        let deadline = context.eventLoop.now + self.commandTimeout
        self.pending.append(PendingRedisRequest(request, deadline: deadline))
        self.timer.arm(deadline: deadline, context: context) { [unowned self] in self.checkTimeout(context: context) }
        context.write(self.wrapOutboundOut(buffer), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = self.unwrapInboundIn(data)
        guard !self.pending.isEmpty else {
            if self.failure == nil {
                self.fail(context: context, with: RedisError(code: .protocolError, message: "received a reply with no command in flight: \(String(describing: reply).prefix(200))"))
            }
            return
        }
        if self.pending[self.pending.startIndex].receive(reply) {
            self.pending.removeFirst()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.failAll(RedisError(code: .connectionClosed, message: "connection to Redis closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.fail(context: context, with: RedisError.wrapping(error, as: .connectionClosed, context: "connection error"))
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let close = event as? CloseEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        self.fail(context: context, with: close.error, closePromise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.failAll(RedisError(code: .connectionClosed, message: "connection to Redis closed"))
    }

    /// Closes the channel, then fails everything queued with `error` (and `timedOut`, if given,
    /// with a timeout). Closing first means that callers resuming from these failures already see
    /// an inactive channel, so their next command waits for a new connection instead of using this one.
    private func fail(
        context: ChannelHandlerContext, with error: RedisError,
        timedOut: PendingRedisRequest? = nil, closePromise: EventLoopPromise<Void>? = nil
    ) {
        if self.failure == nil { self.failure = error }
        self.timer.cancel()
        let queued = self.pending
        self.pending.removeAll()
        context.close(promise: closePromise)
        timedOut?.request.fail(RedisError(code: .commandTimeout, message: "no reply from Redis within \(Duration(self.commandTimeout))"))
        for entry in queued { entry.request.fail(error) }
    }

    private func failAll(_ error: RedisError) {
        if self.failure == nil { self.failure = error }
        self.timer.cancel()
        while let entry = self.pending.popFirst() {
            entry.request.fail(error)
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
        let error = RedisError(code: .connectionClosed, message: "connection closed because an earlier command timed out")
        self.fail(context: context, with: error, timedOut: head)
    }
}
