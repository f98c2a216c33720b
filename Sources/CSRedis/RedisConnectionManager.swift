import Logging
import NIOConcurrencyHelpers
import NIOCore

/// Owns the one connection of a ``RedisClient``: connects on first use, hands the connection to
/// callers, and keeps re-establishing it (with backoff) after it drops, until closed.
///
/// All state lives in one lock; continuations are resumed and channels closed outside the lock.
final class RedisConnectionManager: Sendable {
    enum Phase {
        case idle
        case connecting
        case connected(RedisConnection)
        case closed
    }

    struct Waiter {
        let continuation: CheckedContinuation<RedisConnection, any Error>
        var timeout: Scheduled<Void>?
    }

    struct State {
        var phase: Phase = .idle
        var waiters: [UInt64: Waiter] = [:]
        var nextWaiterID: UInt64 = 0
        var reconnectCount = 0
        var lastError: RedisError?
    }

    let configuration: RedisConfiguration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    let state = NIOLockedValueBox(State())
    let sleeper = RedisBackoffSleeper()

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    var reconnectCount: Int {
        self.state.withLockedValue { $0.reconnectCount }
    }

    /// The live connection if there is one now (no waiting, no reconnect started).
    func readyConnection() -> RedisConnection? {
        self.state.withLockedValue { state in
            guard case .connected(let connection) = state.phase, connection.isActive else { return nil }
            return connection
        }
    }

    /// The live connection, waiting up to `connectTimeout` for one if necessary.
    /// - Throws: ``RedisError/Code/unavailable`` (or `authenticationFailed`) after the timeout,
    ///   ``RedisError/Code/clientClosed`` after close, `CancellationError` if the task is cancelled.
    func connection() async throws -> RedisConnection {
        enum Next { case ready(RedisConnection), closed, wait(startMaintenance: Bool) }
        let next = self.state.withLockedValue { state -> Next in
            switch state.phase {
            case .connected(let connection) where connection.isActive:
                return .ready(connection)
            case .connected, .connecting:
                return .wait(startMaintenance: false)
            case .idle:
                state.phase = .connecting
                return .wait(startMaintenance: true)
            case .closed:
                return .closed
            }
        }
        switch next {
        case .ready(let connection):
            return connection
        case .closed:
            throw Self.clientClosedError
        case .wait(let startMaintenance):
            if startMaintenance {
                Task.detached { await self.maintainConnection() }
            }
            return try await self.waitForConnection()
        }
    }

    /// Stops reconnecting, fails waiters and in-flight commands with ``RedisError/Code/clientClosed``
    /// and waits until the connection is closed.
    func close() async {
        if let connection = self.shutdown() {
            await connection.closed()
        }
    }

    /// Non-waiting part of ``close()``; returns the connection being closed, if any.
    @discardableResult
    func shutdown() -> RedisConnection? {
        let (waiters, connection) = self.state.withLockedValue { state -> ([Waiter], RedisConnection?) in
            var connection: RedisConnection?
            switch state.phase {
            case .closed: return ([], nil)
            case .connected(let current): connection = current
            case .idle, .connecting: break
            }
            state.phase = .closed
            defer { state.waiters = [:] }
            return (Array(state.waiters.values), connection)
        }
        self.sleeper.stop()
        for waiter in waiters {
            waiter.timeout?.cancel()
            waiter.continuation.resume(throwing: Self.clientClosedError)
        }
        connection?.close(failingWith: Self.clientClosedError)
        return connection
    }

    static let clientClosedError = RedisError(code: .clientClosed, message: "the Redis client was closed")
}
