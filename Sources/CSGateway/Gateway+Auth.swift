import CSCore
import CSServer
import Hummingbird

extension GatewayContext {
    /// The participant proven by the request's `Authorization: Bearer <token>` header.
    ///
    /// - Throws: `ChatError(.unauthorized)` when the header is missing or the token invalid.
    func authenticate(_ request: Request) async throws -> Participant {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else {
            throw ChatError(.unauthorized, "Authorization: Bearer <token> is required")
        }
        return try await tokens.verify(String(header.dropFirst("Bearer ".count)))
    }
}
