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
    private let state: Mutex<ConnectionRateLimit>

    init(perMinute: Double, exempt: [String]) {
        self.perMinute = perMinute
        state = Mutex(ConnectionRateLimit(
            connectionsPerSecond: perMinute / 60, burst: max(1, Int(perMinute)), exempt: exempt.compactMap(CIDRBlock.init)))
    }

    /// Admits one request from `address` (nil: unknown, e.g. a Unix socket: admitted), else
    /// throws ``HTTPThrottle`` with `what` in its message.
    func admit(_ address: String?, what: String, at now: ContinuousClock.Instant = .now) throws {
        guard perMinute > 0, let address else { return }
        guard state.withLock({ $0.admit(address, at: now) }) else {
            throw HTTPThrottle(
                ChatError(.rateLimited, "too many \(what) from your address; retry later"),
                retryAfterSeconds: Int((60 / perMinute).rounded(.up)))
        }
    }
}
