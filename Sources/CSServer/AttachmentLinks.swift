import CSCore
import Crypto
import Foundation

/// Short-lived download links (`GET /v1/attachments/{id}?token=…`, docs/api.md): the token is
/// `<expiry seconds>.<HMAC-SHA256 of "attachment:<id>:<expiry>">`, base64url, keyed by the
/// gateways' token secret (run through HMAC with a label first, so a link's MAC can never be
/// replayed as a JWT signature or the other way round). Any gateway verifies any gateway's link
/// without shared state. A link is what an `<img src>` or a download can carry: browsers send no
/// `Authorization` header there, so the link is the proof, and it is handed only to people who
/// may read the conversation and dies after `lifetime`.
public struct AttachmentLinks: Sendable {
    public let lifetime: TimeInterval
    private let key: SymmetricKey

    public init(secret: String, lifetime: TimeInterval) {
        let derived = HMAC<SHA256>.authenticationCode(for: Array("cs attachment links v1".utf8), using: SymmetricKey(data: Array(secret.utf8)))
        key = SymmetricKey(data: Array(derived))
        self.lifetime = lifetime
    }

    public enum Verdict: Sendable, Equatable {
        case valid
        case expired
        case invalid
    }

    /// A token for `id` valid until `now + lifetime`, and that time.
    public func token(for id: String, now: Date = Date()) -> (token: String, expiresAt: Date) {
        let expiry = Int(now.timeIntervalSince1970 + lifetime)
        return (String(expiry) + "." + Self.base64URL(mac(id, expiry)), Date(timeIntervalSince1970: TimeInterval(expiry)))
    }

    public func verify(_ token: String, for id: String, now: Date = Date()) -> Verdict {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let expiry = Int(parts[0]), let presented = Self.decodeBase64URL(String(parts[1])) else { return .invalid }
        guard HMAC<SHA256>.isValidAuthenticationCode(presented, authenticating: Self.message(id, expiry), using: key) else { return .invalid }
        return Double(expiry) >= now.timeIntervalSince1970 ? .valid : .expired
    }

    private func mac(_ id: String, _ expiry: Int) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Self.message(id, expiry), using: key))
    }

    private static func message(_ id: String, _ expiry: Int) -> [UInt8] { Array("attachment:\(id):\(expiry)".utf8) }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: String) -> [UInt8]? {
        guard text.count <= 64, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64).map(Array.init)
    }
}
