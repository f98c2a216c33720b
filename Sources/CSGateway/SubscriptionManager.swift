import CSCore
import CSRedis
import Logging
import ServiceLifecycle

/// Keeps exactly one pub/sub subscription per user with at least one connection on this gateway.
///
/// Requests are applied one at a time in arrival order by a single loop, so a disconnect racing a
/// reconnect of the same user can never leave the user unsubscribed.
public final class SubscriptionManager: Service, Sendable {
    private enum Request: Sendable {
        case acquire(String, CheckedContinuation<Void, any Error>)
        case release(String)
    }

    private let subscriber: RedisSubscriber
    private let logger: Logger
    private let requests: AsyncStream<Request>
    private let requestSink: AsyncStream<Request>.Continuation

    public init(subscriber: RedisSubscriber, logger: Logger) {
        self.subscriber = subscriber
        self.logger = logger
        (requests, requestSink) = AsyncStream.makeStream(of: Request.self)
    }

    /// Returns once deliveries for `userID` reach this gateway.
    public func acquire(_ userID: String) async throws {
        try await withCheckedThrowingContinuation { continuation in
            if case .terminated = requestSink.yield(.acquire(userID, continuation)) {
                continuation.resume(throwing: ChatError(.unavailable, "gateway is shutting down"))
            }
        }
    }

    /// Drops one reference; the last one unsubscribes.
    public func release(_ userID: String) {
        requestSink.yield(.release(userID))
    }

    public func run() async throws {
        var references: [String: Int] = [:]
        await withGracefulShutdownHandler {
            for await request in requests {
                switch request {
                case .acquire(let user, let continuation):
                    references[user, default: 0] += 1
                    if references[user] == 1 {
                        do {
                            try await subscriber.subscribe([RedisKeys.userChannel(user)])
                        } catch {
                            references[user] = nil
                            logger.warning("subscribe failed", metadata: ["user": "\(user)", "error": "\(error)"])
                            continuation.resume(throwing: ChatError(.unavailable, "cannot subscribe"))
                            continue
                        }
                    }
                    continuation.resume()
                case .release(let user):
                    guard let count = references[user] else { continue }
                    if count > 1 {
                        references[user] = count - 1
                        continue
                    }
                    references[user] = nil
                    do {
                        try await subscriber.unsubscribe([RedisKeys.userChannel(user)])
                    } catch {
                        logger.debug("unsubscribe failed", metadata: ["user": "\(user)", "error": "\(error)"])
                    }
                }
            }
        } onGracefulShutdown: {
            self.requestSink.finish()
        }
    }
}
