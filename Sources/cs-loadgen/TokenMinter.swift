import CSCore
import CSServer

/// Issues tokens exactly as the gateways do (`TokenService`, same secret), so the load generator
/// needs no HTTP round trip or password hash per connection. The gateways still verify every token.
struct TokenMinter: Sendable {
    private let service: TokenService

    init(secret: String) async throws {
        service = try await TokenService(secret: secret)
    }

    /// A visitor token for a new customer identity.
    func customer(name: String) async throws -> (participant: Participant, token: String) {
        let participant = Participant(id: Identifier.newVisitorID(), role: .customer, name: name)
        return (participant, try await service.issue(for: participant).token)
    }

    /// An agent token for an existing agent account.
    func agent(id: String, name: String) async throws -> String {
        try await service.issue(for: Participant(id: id, role: .agent, name: name)).token
    }

    /// `count` customer tokens.
    func customers(_ count: Int, namePrefix: String) async throws -> [String] {
        var tokens: [String] = []
        tokens.reserveCapacity(count)
        for index in 0..<count { tokens.append(try await customer(name: "\(namePrefix)\(index)").token) }
        return tokens
    }
}
