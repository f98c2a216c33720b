import CSCore
import Synchronization

/// A token bucket: `burst` tokens at most, refilled at `ratePerSecond`; each admitted event takes
/// one. A pure value: the caller passes the time (`at:`), so tests drive it with a fake clock.
public struct TokenBucket: Sendable, Equatable {
    public let ratePerSecond: Double
    public let burst: Double
    public private(set) var tokens: Double
    public private(set) var updatedAt: ContinuousClock.Instant

    /// A full bucket at `now`.
    public init(ratePerSecond: Double, burst: Int, now: ContinuousClock.Instant) {
        self.ratePerSecond = max(0, ratePerSecond)
        self.burst = Double(max(1, burst))
        self.tokens = self.burst
        self.updatedAt = now
    }

    /// Takes one token if there is one; returns whether the event is admitted.
    public mutating func take(at now: ContinuousClock.Instant) -> Bool {
        refill(at: now)
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }

    /// Whether the bucket is full at `now` (it then holds no information worth keeping).
    public func isFull(at now: ContinuousClock.Instant) -> Bool {
        var copy = self
        copy.refill(at: now)
        return copy.tokens >= burst
    }

    private mutating func refill(at now: ContinuousClock.Instant) {
        // A clock that goes backwards (it should not) refills nothing.
        guard now > updatedAt else { return }
        let elapsed = (now - updatedAt) / .seconds(1)
        tokens = min(burst, tokens + elapsed * ratePerSecond)
        updatedAt = now
    }
}

/// The frame limit of one WebSocket connection (docs/protocol.md, `rate_limited` and close 4008):
/// a token bucket per connection; a frame over it is not processed and gets `rate_limited`; a
/// connection that has `closeAfterDropped` frames dropped within `window` of the first drop of
/// the window is closed with 4008. A pure value, like ``TokenBucket``.
public struct FrameRateLimit: Sendable, Equatable {
    public enum Verdict: Sendable, Equatable {
        /// Process the frame.
        case accept
        /// Do not process the frame; answer `rate_limited`.
        case reject
        /// Do not process the frame; answer `rate_limited`, then close with 4008.
        case close
    }

    public private(set) var bucket: TokenBucket
    /// Dropped frames that end the connection (3 × burst).
    public let closeAfterDropped: Int
    public let window: Duration
    public private(set) var dropped = 0
    public private(set) var windowStart: ContinuousClock.Instant?

    public init(framesPerSecond: Double, burst: Int, window: Duration = .seconds(10), now: ContinuousClock.Instant) {
        bucket = TokenBucket(ratePerSecond: framesPerSecond, burst: burst, now: now)
        closeAfterDropped = 3 * max(1, burst)
        self.window = window
    }

    public mutating func admit(at now: ContinuousClock.Instant) -> Verdict {
        if bucket.take(at: now) { return .accept }
        if let start = windowStart, now - start <= window {
            dropped += 1
        } else {
            windowStart = now
            dropped = 1
        }
        return dropped >= closeAfterDropped ? .close : .reject
    }
}

/// The per-connection limiter a ``WebSocketSession`` holds; created disabled and set up from the
/// gateway configuration on the first frame. Only the connection's reader calls it.
final class ConnectionFrameLimiter: Sendable {
    private let state = Mutex<FrameRateLimit?>(nil)

    /// The verdict for one frame; `.accept` when the limit is off (`framesPerSecond` 0).
    func admit(_ configuration: GatewayConfiguration, at now: ContinuousClock.Instant = .now) -> FrameRateLimit.Verdict {
        guard configuration.rateLimitFramesPerSecond > 0 else { return .accept }
        return state.withLock { limit in
            if limit == nil {
                limit = FrameRateLimit(framesPerSecond: configuration.rateLimitFramesPerSecond, burst: configuration.rateLimitBurst, now: now)
            }
            return limit!.admit(at: now)
        }
    }
}

/// New WebSocket connections per client address (`--rate-limit-connections-per-second`): one
/// token bucket per address, addresses in `exempt` (CIDR blocks) never limited. Memory is bounded:
/// buckets that refilled completely are forgotten when the table grows past `maxAddresses`, and
/// when every bucket is still busy the table is cleared (a flood from that many addresses is
/// beyond what a per-address limit can stop).
public struct ConnectionRateLimit: Sendable {
    public let connectionsPerSecond: Double
    public let burst: Int
    public let exempt: [CIDRBlock]
    public let maxAddresses: Int
    public private(set) var buckets: [String: TokenBucket] = [:]

    public init(connectionsPerSecond: Double, burst: Int, exempt: [CIDRBlock] = [], maxAddresses: Int = 100_000) {
        self.connectionsPerSecond = connectionsPerSecond
        self.burst = burst
        self.exempt = exempt
        self.maxAddresses = maxAddresses
    }

    /// Whether a new connection from `address` (an IPv4 or IPv6 address without port) may stay.
    public mutating func admit(_ address: String, at now: ContinuousClock.Instant) -> Bool {
        guard connectionsPerSecond > 0 else { return true }
        if let parsed = IPAddress(address), exempt.contains(where: { $0.contains(parsed) }) { return true }
        if buckets[address] == nil && buckets.count >= maxAddresses {
            buckets = buckets.filter { !$0.value.isFull(at: now) }
            if buckets.count >= maxAddresses { buckets.removeAll(keepingCapacity: true) }
        }
        var bucket = buckets[address] ?? TokenBucket(ratePerSecond: connectionsPerSecond, burst: burst, now: now)
        let admitted = bucket.take(at: now)
        buckets[address] = bucket
        return admitted
    }
}

/// The gateway-wide ``ConnectionRateLimit`` (one in each gateway's `GatewayContext`).
final class GatewayConnectionLimiter: Sendable {
    private let state: Mutex<ConnectionRateLimit>

    init(_ configuration: GatewayConfiguration) {
        state = Mutex(ConnectionRateLimit(
            connectionsPerSecond: configuration.rateLimitConnectionsPerSecond, burst: configuration.rateLimitConnectionBurst,
            exempt: configuration.rateLimitExempt.compactMap(CIDRBlock.init)))
    }

    func admit(_ address: String, at now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { $0.admit(address, at: now) }
    }
}
