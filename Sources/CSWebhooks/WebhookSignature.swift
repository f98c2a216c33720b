import Crypto
import Foundation

/// The signature a receiver checks: HMAC-SHA256 with the endpoint's secret over `"<timestamp>.<body>"`,
/// hex, in `X-CS-Signature: sha256=<hex>`; the timestamp (Unix seconds) in `X-CS-Timestamp`.
/// Signing the timestamp with the body lets a receiver refuse replays older than its tolerance
/// (docs/api.md "Webhook signature" shows the `openssl dgst -sha256 -hmac` check).
public struct WebhookSignature: Sendable, Equatable {
    public static let signatureHeader = "X-CS-Signature"
    public static let timestampHeader = "X-CS-Timestamp"
    public static let eventIdHeader = "X-CS-Event-Id"

    public let timestamp: Int64
    public let hex: String

    public init(secret: String, timestamp: Int64, body: [UInt8]) {
        var message = Array("\(timestamp).".utf8)
        message.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        self.timestamp = timestamp
        self.hex = mac.map { String(format: "%02x", $0) }.joined()
    }

    /// The header value: `sha256=<hex>`.
    public var headerValue: String { "sha256=" + hex }

    /// What a receiver does: recompute, compare in constant time, and refuse a timestamp outside
    /// `tolerance` seconds of `now` (a replayed old delivery).
    public static func verify(
        secret: String, timestamp: Int64, body: [UInt8], headerValue: String, now: Int64, tolerance: Int64 = 300
    ) -> Bool {
        guard abs(now - timestamp) <= tolerance else { return false }
        let expected = WebhookSignature(secret: secret, timestamp: timestamp, body: body).headerValue
        let a = Array(expected.utf8), b = Array(headerValue.utf8)
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
