import CSCore
import CSRedis
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps exactly one pub/sub subscription per user with at least one connection on this gateway.
///
/// Requests are applied in arrival order by a single loop, so a disconnect racing a reconnect of
/// the same user can never leave the user unsubscribed. The loop takes every request waiting
/// when it wakes as one batch: the users the batch newly needs share one `SUBSCRIBE` (and the
/// ones it no longer needs one `UNSUBSCRIBE`), so a wave of connections after a gateway restart
/// costs a few round trips to Redis instead of one per user.
public final class SubscriptionManager: Service, Sendable {
    enum Request: Sendable {
        case acquire(String, CheckedContinuation<Void, any Error>)
        case release(String)
    }

    private struct Queue {
        var requests: [Request] = []
        var closed = false
    }

    private let subscriber: RedisSubscriber
    private let logger: Logger
    private let queue = Mutex(Queue())
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(subscriber: RedisSubscriber, logger: Logger) {
        self.subscriber = subscriber
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Returns once deliveries for `userID` reach this gateway.
    public func acquire(_ userID: String) async throws {
        try await withCheckedThrowingContinuation { continuation in
            if !enqueue(.acquire(userID, continuation)) {
                continuation.resume(throwing: ChatError(.unavailable, "gateway is shutting down"))
            }
        }
    }

    /// Drops one reference; the last one unsubscribes.
    public func release(_ userID: String) {
        _ = enqueue(.release(userID))
    }

    /// Queues a request and wakes the loop; false once the manager stopped taking requests.
    private func enqueue(_ request: Request) -> Bool {
        let queued = queue.withLock { queue in
            guard !queue.closed else { return false }
            queue.requests.append(request)
            return true
        }
        if queued { wake.yield() }
        return queued
    }

    private func takeRequests() -> [Request] {
        queue.withLock { queue in
            defer { queue.requests = [] }
            return queue.requests
        }
    }

    public func run() async throws {
        var references: [String: Int] = [:]
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                await apply(takeRequests(), to: &references)
            }
            // Stopped (shutdown or cancellation): later acquires are refused at once instead of
            // waiting for a loop that is gone; those queued before are still answered.
            queue.withLock { $0.closed = true }
            await apply(takeRequests(), to: &references)
        } onGracefulShutdown: {
            self.queue.withLock { $0.closed = true }
            self.wake.finish()
        }
    }

    /// Applies one batch: reference counts in order, then one UNSUBSCRIBE for the users the batch
    /// left without a connection and one SUBSCRIBE for those it gave their first; an acquire
    /// returns once its user's subscription is confirmed.
    func apply(_ batch: [Request], to references: inout [String: Int]) async {
        guard !batch.isEmpty else { return }
        var plan = SubscriptionBatch()
        for request in batch { plan.add(request, references: &references) }
        let (subscribe, unsubscribe) = plan.changes(references: references)
        if !unsubscribe.isEmpty {
            do {
                try await subscriber.unsubscribe(unsubscribe.map(RedisKeys.userChannel))
            } catch {
                logger.debug("unsubscribe failed", metadata: ["users": "\(unsubscribe.count)", "error": "\(error)"])
            }
        }
        if !subscribe.isEmpty {
            do {
                try await subscriber.subscribe(subscribe.map(RedisKeys.userChannel))
            } catch {
                logger.warning("subscribe failed", metadata: ["users": "\(subscribe.count)", "error": "\(error)"])
                for user in subscribe { references[user] = nil }
                plan.fail(subscribe, ChatError(.unavailable, "cannot subscribe"))
            }
        }
        plan.resumeAll()
    }
}

/// What one batch of subscription requests changes, and who waits for it.
struct SubscriptionBatch {
    /// Users the batch touched, with whether they were subscribed before it.
    private var subscribedBefore: [String: Bool] = [:]
    /// Acquires that wait for their user's SUBSCRIBE.
    private var waiting: [String: [CheckedContinuation<Void, any Error>]] = [:]
    /// Acquires of users subscribed all along: answered without a command.
    private var ready: [CheckedContinuation<Void, any Error>] = []

    mutating func add(_ request: SubscriptionManager.Request, references: inout [String: Int]) {
        switch request {
        case .acquire(let user, let continuation):
            let wasSubscribed = subscribedBefore[user] ?? (references[user] != nil)
            subscribedBefore[user] = wasSubscribed
            references[user, default: 0] += 1
            if wasSubscribed { ready.append(continuation) } else { waiting[user, default: []].append(continuation) }
        case .release(let user):
            // A release without an acquire (its acquire failed) changes nothing.
            guard let count = references[user] else { return }
            if subscribedBefore[user] == nil { subscribedBefore[user] = true }
            references[user] = count > 1 ? count - 1 : nil
        }
    }

    /// Users to subscribe (none before, some now) and to unsubscribe (some before, none now).
    func changes(references: [String: Int]) -> (subscribe: [String], unsubscribe: [String]) {
        var subscribe: [String] = []
        var unsubscribe: [String] = []
        for (user, wasSubscribed) in subscribedBefore {
            let isWanted = references[user] != nil
            if isWanted && !wasSubscribed { subscribe.append(user) }
            if !isWanted && wasSubscribed { unsubscribe.append(user) }
        }
        return (subscribe, unsubscribe)
    }

    /// Fails the acquires waiting for `users`.
    mutating func fail(_ users: [String], _ error: any Error) {
        for user in users {
            for continuation in waiting.removeValue(forKey: user) ?? [] { continuation.resume(throwing: error) }
        }
    }

    /// Answers every acquire not failed (including one whose connection already released it
    /// within the batch: it has nothing left to wait for).
    mutating func resumeAll() {
        for continuation in ready { continuation.resume() }
        for continuations in waiting.values { for continuation in continuations { continuation.resume() } }
        ready = []
        waiting = [:]
    }
}
