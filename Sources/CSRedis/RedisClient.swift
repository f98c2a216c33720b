import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A pipelined Redis connection that (re)connects by itself.
///
/// - The connection is opened on first use. After it drops (server restart, network error,
///   command timeout) it is re-established right away in the background, retrying with
///   ``RedisConfiguration/reconnectBackoff`` until it succeeds or the client is closed.
/// - While there is no connection, a command waits up to ``RedisConfiguration/connectTimeout``
///   for one and then throws ``RedisError/Code/unavailable``.
/// - Commands in flight when a connection drops fail with ``RedisError/Code/connectionClosed``
///   (they may or may not have been executed); they are never retried automatically.
/// - All concurrent callers share the one connection; their commands are pipelined.
/// - Blocking commands (`BLPOP`, `XREAD BLOCK`, ...) hold up every command pipelined behind them:
///   give them a dedicated client whose ``RedisConfiguration/commandTimeout`` exceeds the block time.
/// - Cancelling a task cancels its wait for a connection; a command already written is not
///   withdrawn (its reply is still awaited, bounded by the command timeout).
///
/// Call ``close()`` when done (dropping the last reference also closes it, without waiting), and
/// before shutting down a custom `EventLoopGroup`.
public final class RedisClient: Sendable {
    /// The configuration this client was created with.
    public let configuration: RedisConfiguration
    let manager: RedisConnectionManager
    /// Function name → the library it was installed with (``installFunctions(_:)``), to load it
    /// again when Redis has lost it.
    let functionLibraries = Mutex<[String: RedisFunctionLibrary]>([:])

    /// Creates a client; no connection is made until the first command.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger
    ) {
        self.configuration = configuration
        self.manager = RedisConnectionManager(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    deinit {
        self.manager.shutdown()
    }

    /// Sends one command; concurrent callers are pipelined on the one connection.
    /// - Returns: the reply (`.null` for a nil reply).
    /// - Throws: ``RedisError`` — ``RedisError/Code/serverError`` for an error reply (see
    ///   ``RedisError/redisErrorPrefix``), `commandTimeout`, `connectionClosed`, `unavailable`,
    ///   `authenticationFailed`, `clientClosed`, `invalidCommand`; or `CancellationError`.
    public func send(_ arguments: [RedisArgument]) async throws -> RESPValue {
        let reply: RESPValue
        do {
            let connection = try await self.manager.connection()
            reply = try await connection.send(arguments)
        } catch {
            RedisMetrics.connectionErrors.increment()
            throw error
        }
        return try Self.checked(reply)
    }

    /// The reply, or its error reply thrown as ``RedisError/Code/serverError`` (and counted).
    static func checked(_ reply: RESPValue) throws(RedisError) -> RESPValue {
        if case .error(let message) = reply {
            RedisMetrics.replyErrors.increment()
            throw RedisError.server(message)
        }
        return reply
    }

    /// Sends one command, e.g. `try await client.send("SET", key, value)`. See ``send(_:)-([RedisArgument])``.
    public func send(_ arguments: RedisArgument...) async throws -> RESPValue {
        try await self.send(arguments)
    }

    /// Writes all commands with one flush and returns the replies in order.
    ///
    /// An error reply is returned as ``RESPValue/error(_:)`` in its slot, not thrown. The commands are
    /// not a transaction (wrap them in `MULTI`/`EXEC` for that), but no other caller's command is
    /// interleaved between them. Throws only if the batch as a whole failed (connection, timeout).
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RESPValue] {
        guard !commands.isEmpty else { return [] }
        do {
            let connection = try await self.manager.connection()
            let replies = try await connection.send(pipeline: commands)
            // Counted like a single command's error reply (callers read them from their slots).
            for case .error in replies { RedisMetrics.replyErrors.increment() }
            return replies
        } catch {
            RedisMetrics.connectionErrors.increment()
            throw error
        }
    }

    /// Stops reconnecting and closes the connection. In-flight and waiting commands fail with
    /// ``RedisError/Code/clientClosed``; later calls throw it immediately.
    public func close() async {
        await self.manager.close()
    }

    /// How many times the connection has been re-established after the first successful connect.
    public var reconnectCount: Int {
        self.manager.reconnectCount
    }
}
