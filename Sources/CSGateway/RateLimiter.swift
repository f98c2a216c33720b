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

/// The gateway-wide ``ConnectionRateLimit``, one per gateway id (a process runs one gateway;
/// tests may run several).
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

    private static let byGateway = Mutex<[String: GatewayConnectionLimiter]>([:])

    static func of(_ configuration: GatewayConfiguration) -> GatewayConnectionLimiter {
        byGateway.withLock { table in
            if let limiter = table[configuration.gatewayID] { return limiter }
            let limiter = GatewayConnectionLimiter(configuration)
            table[configuration.gatewayID] = limiter
            return limiter
        }
    }
}

/// An IPv4 or IPv6 address as 16 bytes (IPv4 as IPv4-mapped IPv6, `::ffff:a.b.c.d`).
public struct IPAddress: Sendable, Equatable {
    public let bytes: [UInt8]

    public init?(_ text: String) {
        var value = Substring(text)
        if value.hasPrefix("[") && value.hasSuffix("]") { value = value.dropFirst().dropLast() }
        if let zone = value.firstIndex(of: "%") { value = value[..<zone] }
        if let v4 = Self.parseIPv4(value) {
            bytes = Array(repeating: 0, count: 10) + [0xFF, 0xFF] + v4
        } else if let v6 = Self.parseIPv6(value) {
            bytes = v6
        } else {
            return nil
        }
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var result: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy(\.isASCII), let byte = UInt8(part) else { return nil }
            result.append(byte)
        }
        return result
    }

    static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard text.contains(":"), text.count <= 45 else { return nil }
        var halves: [String] = []
        var rest = text
        while let range = rest.firstRange(of: "::") {
            halves.append(String(rest[..<range.lowerBound]))
            rest = rest[range.upperBound...]
        }
        halves.append(String(rest))
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt8]? {
            if part.isEmpty { return [] }
            var result: [UInt8] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    result += v4
                } else {
                    guard (1...4).contains(piece.count), let group = UInt16(piece, radix: 16) else { return nil }
                    result += [UInt8(group >> 8), UInt8(group & 0xFF)]
                }
            }
            return result
        }
        guard let head = groups(halves[0]) else { return nil }
        if halves.count == 1 { return head.count == 16 ? head : nil }
        guard let tail = groups(halves[1]), head.count + tail.count <= 14 else { return nil }
        return head + Array(repeating: 0, count: 16 - head.count - tail.count) + tail
    }
}

/// An address block such as `127.0.0.0/8` or `::1/128` (`--rate-limit-exempt`); a bare address
/// is a block of one.
public struct CIDRBlock: Sendable, Equatable {
    public let network: IPAddress
    /// Prefix length in bits over the 16-byte form (IPv4 prefixes are offset by 96).
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(String(parts[0])) else { return nil }
        let isV4 = IPAddress.parseIPv4(parts[0]) != nil
        let maxLength = isV4 ? 32 : 128
        var length = maxLength
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...maxLength).contains(given) else { return nil }
            length = given
        }
        network = address
        prefixLength = length + (isV4 ? 96 : 0)
    }

    public func contains(_ address: IPAddress) -> Bool {
        var bits = prefixLength
        for index in 0..<16 where bits > 0 {
            let mask: UInt8 = bits >= 8 ? 0xFF : ~(0xFF >> UInt8(bits))
            if address.bytes[index] & mask != network.bytes[index] & mask { return false }
            bits -= 8
        }
        return true
    }
}
