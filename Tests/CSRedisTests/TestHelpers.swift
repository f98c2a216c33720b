import CSRedis
import Foundation
import Logging
import NIOCore

/// Shared helpers for the CSRedis tests.
enum TestSupport {
    static var logger: Logger {
        var logger = Logger(label: "cs.redis.tests")
        logger.logLevel = .notice
        return logger
    }

    /// A configuration for `port` with quick retries, suitable for tests.
    static func configuration(port: Int, commandTimeout: Duration = .seconds(10), connectTimeout: Duration = .seconds(5)) -> RedisConfiguration {
        RedisConfiguration(
            host: "127.0.0.1", port: port,
            connectTimeout: connectTimeout, commandTimeout: commandTimeout,
            reconnectBackoff: RedisReconnectBackoff(initial: .milliseconds(20), max: .milliseconds(250))
        )
    }

    /// Polls `condition` until it returns `true`; fails after `timeout`.
    static func eventually(
        _ what: String, timeout: Duration = .seconds(20), _ condition: () async throws -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                if try await condition() { return }
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw TestFailure("timed out waiting for \(what)" + (lastError.map { " (last error: \($0))" } ?? ""))
    }

    static func bytes(_ string: String) -> ByteBuffer { ByteBuffer(string: string) }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Collects a subscriber's events in the background so tests can wait for them in order.
final class EventCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [RedisSubscriberEvent] = []
    private var finished = false
    private var cursor = 0
    private var task: Task<Void, Never>?

    init(_ stream: AsyncStream<RedisSubscriberEvent>) {
        self.task = Task { [weak self] in
            for await event in stream {
                self?.lock.withLock { self?.events.append(event) }
            }
            self?.lock.withLock { self?.finished = true }
        }
    }

    deinit { self.task?.cancel() }

    var isFinished: Bool { self.lock.withLock { self.finished } }

    /// The next event not returned before; fails after `timeout`.
    func next(timeout: Duration = .seconds(20)) async throws -> RedisSubscriberEvent {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let event = self.lock.withLock { () -> RedisSubscriberEvent? in
                guard self.cursor < self.events.count else { return nil }
                defer { self.cursor += 1 }
                return self.events[self.cursor]
            }
            if let event { return event }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("no subscriber event within \(timeout); got so far: \(self.lock.withLock { self.events })")
    }

    /// Skips events until one satisfies `predicate`, returning it.
    func next(timeout: Duration = .seconds(20), where predicate: (RedisSubscriberEvent) -> Bool) async throws -> RedisSubscriberEvent {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - ContinuousClock.now
            guard remaining > .zero else { throw TestFailure("no matching subscriber event within \(timeout)") }
            let event = try await self.next(timeout: remaining)
            if predicate(event) { return event }
        }
    }
}
