import CSCore
import CSServer
import HTTPTypes
import Hummingbird

extension GatewayContext {
    /// The participant proven by the request's `Authorization: Bearer <token>` header.
    ///
    /// - Throws: `ChatError(.unauthorized)` when the header is missing or the token invalid, or
    ///   a staff token no longer matches its account (`StaffAccountCheck`).
    func authenticate(_ request: Request) async throws -> Participant {
        try await authenticateVerified(request).participant
    }

    /// As ``authenticate(_:)``, with the token's version (for a refresh).
    func authenticateVerified(_ request: Request) async throws -> TokenService.Verified {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw ChatError(.unauthorized, "Authorization: Bearer <token> is required")
        }
        return try await verifiedToken(String(header.dropFirst("Bearer ".count)))
    }

    /// A token's participant and version, checked against the account for staff: for HTTP
    /// requests and WebSocket opens alike.
    func verifiedToken(_ token: String) async throws -> TokenService.Verified {
        let verified = try await tokens.verifyWithVersion(token)
        try await staffCheck.check(verified)
        return verified
    }
}

extension GatewayContext {
    /// The caller of a back-office endpoint: nil for a back-office system presenting a valid
    /// `X-Admin-Key`, else the participant of the bearer token (any role; the endpoint decides).
    ///
    /// - Throws: `ChatError(.unauthorized)` for a wrong admin key or a missing or invalid token.
    func adminOrParticipant(_ request: Request) async throws -> Participant? {
        if let presented = request.headers[HTTPField.Name("X-Admin-Key")!] {
            guard let adminKey = configuration.adminKey, Self.constantTimeEquals(Array(presented.utf8), Array(adminKey.utf8)) else {
                throw ChatError(.unauthorized, "invalid admin key")
            }
            return nil
        }
        return try await authenticate(request)
    }

    /// Who may call a supervisor endpoint: "admin" for a valid `X-Admin-Key`, else a supervisor's id.
    ///
    /// - Throws: `unauthorized` as `adminOrParticipant`; `forbidden` (logged) for other roles.
    func supervisorOrAdmin(_ request: Request, purpose: String) async throws -> String {
        guard let caller = try await adminOrParticipant(request) else { return "admin" }
        guard caller.role == .supervisor else {
            logger.warning("forbidden supervisor API call", metadata: ["user": "\(caller.id)", "api": "\(purpose)"])
            throw ChatError(.forbidden, "supervisors only")
        }
        return caller.id
    }

    static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
