import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A dedicated pub/sub connection (separate from ``RedisClient``).
///
/// Subscribe and unsubscribe at any time. The subscriber remembers the wanted channels and
/// patterns and, after every (re)connect, subscribes to all of them again before emitting
/// ``RedisSubscriberEvent/connected(isReconnect:)``. Messages published while disconnected are
/// lost (that is how Redis pub/sub works): react to `connected(isReconnect: true)` by resynchronising.
///
/// ```swift
/// let subscriber = RedisSubscriber(configuration: config, logger: logger)
/// async let running: Void = subscriber.run()        // usually inside a Service
/// try await subscriber.subscribe(["conv:42"])
/// for await event in subscriber.events { ... }
/// ```
public final class RedisSubscriber: Sendable {
    struct State {
        var channels: Set<String> = []
        var patterns: Set<String> = []
        /// Set once the current connection's resubscribe commands were written; `nil` while disconnected.
        var connection: RedisSubscriberConnection?
        var running = false
        var closed = false
        /// Receives `message` pushes on the event loop instead of ``events`` (see ``onMessage(_:)``).
        var messageHandler: (@Sendable (String, ByteBuffer) -> Void)?
    }

    /// The configuration this subscriber was created with (`database` is ignored).
    public let configuration: RedisConfiguration
    /// Messages and connection state changes, in order. Single consumer; the stream finishes when
    /// ``run()`` returns or ``close()`` is called. It buffers without limit, so keep consuming it.
    public let events: AsyncStream<RedisSubscriberEvent>

    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let continuation: AsyncStream<RedisSubscriberEvent>.Continuation
    let state = NIOLockedValueBox(State())
    let sleeper = RedisBackoffSleeper()

    /// Creates a subscriber; nothing happens until ``run()`` is started.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        (self.events, self.continuation) = AsyncStream.makeStream(of: RedisSubscriberEvent.self)
    }

    deinit {
        self.shutdown()
    }

    /// Hands every `message` push (channel, payload) to `handler`, called on the connection's event
    /// loop, instead of yielding it to ``events``: no task hop per message. Keep `handler` short and
    /// non-blocking. Set it before ``run()`` starts; `pmessage` and connection events still go to ``events``.
    public func onMessage(_ handler: @escaping @Sendable (_ channel: String, _ payload: ByteBuffer) -> Void) {
        self.state.withLockedValue { $0.messageHandler = handler }
    }

    /// Stops ``run()``, closes the connection and finishes ``events``. Later calls to the
    /// subscription methods throw ``RedisError/Code/clientClosed``.
    public func close() async {
        if let connection = self.shutdown() {
            await connection.closed()
        }
    }

    /// Non-waiting part of ``close()``.
    @discardableResult
    func shutdown() -> RedisSubscriberConnection? {
        let connection = self.state.withLockedValue { state -> RedisSubscriberConnection? in
            state.closed = true
            defer { state.connection = nil }
            return state.connection
        }
        self.sleeper.stop()
        connection?.close()
        self.continuation.finish()
        return connection
    }

    static let closedError = RedisError(code: .clientClosed, message: "the Redis subscriber was closed")
}
