import Foundation

// MARK: - Small concurrency helpers

/// Thrown when an awaited condition does not happen in time.
public struct TimeLimitExceeded: Error, CustomStringConvertible {
    public let waitingFor: String
    public let limit: Duration
    public let detail: String

    public init(waitingFor: String, limit: Duration, detail: String = "") {
        self.waitingFor = waitingFor
        self.limit = limit
        self.detail = detail
    }

    public var description: String {
        "timed out after \(limit) waiting for \(waitingFor)" + (detail.isEmpty ? "" : "\n\(detail)")
    }
}

public enum TimeLimit {
    /// Runs `operation` in a child task and cancels it when `limit` passes first.
    public static func run<T: Sendable>(
        _ limit: Duration,
        _ waitingFor: @autoclosure () -> String,
        operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let what = waitingFor()
        return try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: limit)
                throw TimeLimitExceeded(waitingFor: what, limit: limit)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}

/// A value set once; any number of tasks can wait for it (cancellably).
final class OneShot<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var _value: Value?
    /// Waiters are resumed with the value, or with nil when they are cancelled.
    private var waiters: [UInt64: CheckedContinuation<Value?, Never>] = [:]
    private var nextWaiter: UInt64 = 0

    var value: Value? { lock.withLock { _value } }

    /// Sets the value (first call wins) and wakes every waiter.
    @discardableResult
    func fulfill(_ value: Value) -> Bool {
        let toResume: [CheckedContinuation<Value?, Never>]? = lock.withLock {
            guard _value == nil else { return nil }
            _value = value
            let all = Array(waiters.values)
            waiters.removeAll()
            return all
        }
        guard let toResume else { return false }
        for waiter in toResume { waiter.resume(returning: value) }
        return true
    }

    /// Waits for the value. - Throws: `CancellationError` when the task is cancelled first.
    func wait() async throws -> Value {
        guard let result = await wait(cancellable: true) else { throw CancellationError() }
        return result
    }

    /// Waits for the value even when the task is cancelled (teardown paths).
    func waitIgnoringCancellation() async -> Value {
        await wait(cancellable: false)!
    }

    private func wait(cancellable: Bool) async -> Value? {
        let id: UInt64 = lock.withLock {
            nextWaiter += 1
            return nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Value?, Never>) in
                lock.lock()
                if let value = _value {
                    lock.unlock()
                    continuation.resume(returning: value)
                } else if cancellable && Task.isCancelled {
                    lock.unlock()
                    continuation.resume(returning: nil)
                } else {
                    waiters[id] = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            guard cancellable else { return }
            let waiter = lock.withLock { waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }
}
