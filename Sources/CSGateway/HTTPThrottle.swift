import CSCore
import Foundation
import Synchronization

/// A request refused for now (429 `rate_limited`, or 503 `unavailable` when the gateway is
/// saturated): the answer carries `Retry-After` (docs/api.md, "Limits").
struct HTTPThrottle: Error {
    var error: ChatError
    var retryAfterSeconds: Int

    init(_ error: ChatError, retryAfterSeconds: Int) {
        self.error = error
        self.retryAfterSeconds = max(1, retryAfterSeconds)
    }
}

/// One per-address HTTP limit (`--rate-limit-logins-per-minute` and the like): a
/// ``ConnectionRateLimit`` (token bucket per client address, bounded memory) holding a minute's
/// worth of requests, refilled evenly. In-process: each gateway counts its own requests.
final class AddressRateLimiter: Sendable {
    let perMinute: Double
    /// Whose requests are counted, for the message: "from your address", or "by you" for a
    /// limiter keyed by user id (attachment uploads).
    let scope: String
    private let state: Mutex<ConnectionRateLimit>

    init(perMinute: Double, exempt: [String], scope: String = "from your address") {
        self.perMinute = perMinute
        self.scope = scope
        state = Mutex(ConnectionRateLimit(
            connectionsPerSecond: perMinute / 60, burst: max(1, Int(perMinute)), exempt: exempt.compactMap(CIDRBlock.init)))
    }

    /// Admits one request from `address` (nil: unknown, e.g. a Unix socket: admitted), else
    /// throws ``HTTPThrottle`` with `what` in its message.
    func admit(_ address: String?, what: String, at now: ContinuousClock.Instant = .now) throws {
        guard perMinute > 0, let address else { return }
        guard state.withLock({ $0.admit(address, at: now) }) else {
            throw HTTPThrottle(
                ChatError(.rateLimited, "too many \(what) \(scope); retry later"),
                retryAfterSeconds: Int((60 / perMinute).rounded(.up)))
        }
    }
}
