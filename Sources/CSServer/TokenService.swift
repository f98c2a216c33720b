import CSCore
import Foundation
import JWTKit

/// Issues and verifies the two kinds of tokens: visitor session tokens (customers) and agent JWTs.
///
/// Both are HS256 JWTs signed with the deployment's secret. Verification pins the algorithm
/// (the header must say HS256 before any signature check), and checks `iss`, `aud` and `exp`.
public struct TokenService: Sendable {
    public static let issuer = "cs-gateway"
    public static let visitorAudience = "cs-visitor"
    public static let agentAudience = "cs-agent"

    public var visitorLifetime: TimeInterval = 30 * 24 * 3600
    /// Short, so that a stolen staff token is of little use: the consoles renew it before it
    /// ends (`POST /v1/agent/refresh`), and revocation (`StaffStanding`) does not wait for it.
    public var agentLifetime: TimeInterval = 3600
    private let keys: JWTKeyCollection

    /// - Parameter secret: the HMAC secret shared by all gateways (at least 32 bytes: the HS256 key size).
    /// A secret shorter than the HS256 key size.
    public struct WeakSecret: Error, CustomStringConvertible {
        public var description: String { "the token secret must be at least 32 bytes" }
    }

    public init(secret: String) async throws {
        guard secret.utf8.count >= 32 else { throw WeakSecret() }
        keys = JWTKeyCollection()
        await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    }

    /// A signed token for `participant`, valid for the lifetime of its kind. Staff tokens carry
    /// the account's `tokenVersion` (`StaffStanding`).
    public func issue(for participant: Participant, tokenVersion: Int = 0, now: Date = Date()) async throws -> (token: String, expiresAt: Date) {
        let isCustomer = participant.role == .customer
        let expiresAt = now.addingTimeInterval(isCustomer ? visitorLifetime : agentLifetime)
        let claims = SessionClaims(
            sub: SubjectClaim(value: participant.id), iss: IssuerClaim(value: Self.issuer),
            aud: AudienceClaim(value: [isCustomer ? Self.visitorAudience : Self.agentAudience]),
            exp: ExpirationClaim(value: expiresAt), iat: IssuedAtClaim(value: now),
            role: participant.role.rawValue, name: participant.name, tv: isCustomer ? nil : tokenVersion
        )
        return (try await keys.sign(claims), expiresAt)
    }

    /// A token's participant and, for staff, the token version it was issued with.
    public struct Verified: Sendable, Equatable {
        public var participant: Participant
        /// 0 for tokens without a version (customers; staff tokens from before versions).
        public var tokenVersion: Int
    }

    /// The participant a token proves, or `unauthorized`. Staff tokens also need a check of the
    /// account (`StaffStanding`): use ``verifyWithVersion(_:)`` for them.
    public func verify(_ token: String) async throws(ChatError) -> Participant {
        try await verifyWithVersion(token).participant
    }

    /// The participant and token version a token proves, or `unauthorized`.
    public func verifyWithVersion(_ token: String) async throws(ChatError) -> Verified {
        guard Self.headerPinsHS256(token) else { throw ChatError(.unauthorized, "invalid token") }
        let claims: SessionClaims
        do {
            claims = try await keys.verify(token, as: SessionClaims.self)
        } catch let error as JWTError where error.errorType == .claimVerificationFailure {
            throw ChatError(.unauthorized, "token expired or not for this service")
        } catch {
            throw ChatError(.unauthorized, "invalid token")
        }
        guard let role = ParticipantRole(rawValue: claims.role), Identifier.isValid(claims.sub.value) else {
            throw ChatError(.unauthorized, "invalid token")
        }
        let audience = role == .customer ? Self.visitorAudience : Self.agentAudience
        guard claims.aud.value.contains(audience) else { throw ChatError(.unauthorized, "token not for this role") }
        return Verified(participant: Participant(id: claims.sub.value, role: role, name: claims.name), tokenVersion: claims.tv ?? 0)
    }

    /// True when the token's header names exactly HS256 (rejects `none` and algorithm switching).
    static func headerPinsHS256(_ token: String) -> Bool {
        guard let headerPart = token.split(separator: ".", omittingEmptySubsequences: false).first,
            let data = Data(base64URLEncoded: String(headerPart)),
            let header = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return false }
        return header["alg"] as? String == "HS256"
    }
}

struct SessionClaims: JWTPayload {
    var sub: SubjectClaim
    var iss: IssuerClaim
    var aud: AudienceClaim
    var exp: ExpirationClaim
    var iat: IssuedAtClaim
    var role: String
    var name: String
    /// Token version of a staff token (absent in customer tokens).
    var tv: Int?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        guard iss.value == TokenService.issuer else {
            throw JWTError.claimVerificationFailure(failedClaim: iss, reason: "unexpected issuer")
        }
        guard aud.value.contains(TokenService.visitorAudience) || aud.value.contains(TokenService.agentAudience) else {
            throw JWTError.claimVerificationFailure(failedClaim: aud, reason: "unexpected audience")
        }
    }
}

extension Data {
    init?(base64URLEncoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        self.init(base64Encoded: base64)
    }
}
