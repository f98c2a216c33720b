import CSCore
import CSRedis

/// A saved reply an agent inserts by shortcut (docs/api.md, "Canned responses").
public struct CannedResponse: Sendable, Equatable {
    public var shortcut: String
    public var text: String

    public init(shortcut: String, text: String) {
        self.shortcut = shortcut
        self.text = text
    }
}

/// Whose canned responses: the team's (shared) or one agent's (personal).
public enum CannedResponseOwner: Sendable, Equatable, CustomStringConvertible {
    case team
    case agent(String)

    /// The Redis hash holding this owner's responses.
    public var key: String {
        switch self {
        case .team: RedisKeys.cannedTeam
        case .agent(let id): RedisKeys.cannedAgent(id)
        }
    }

    public var description: String {
        switch self {
        case .team: "team"
        case .agent(let id): "agent \(id)"
        }
    }
}

/// Canned responses in Redis: one hash per owner, shortcut → text (`HSET`, `HDEL`, `HGETALL`).
public struct CannedResponseStore: Sendable {
    /// Shortcuts are 1-32 characters of `[A-Za-z0-9._-]`.
    public static let maxShortcutLength = 32
    /// Texts are 1-2,000 characters (Unicode scalars, like message bodies).
    public static let maxTextCharacters = 2_000

    public let redis: RedisClient

    public init(redis: RedisClient) { self.redis = redis }

    /// Whether `shortcut` is usable: 1-32 characters of `[A-Za-z0-9._-]`.
    public static func isValidShortcut(_ shortcut: String) -> Bool {
        Identifier.isValid(shortcut, maxLength: maxShortcutLength)
    }

    /// Whether `text` is usable: 1-2,000 characters.
    public static func isValidText(_ text: String) -> Bool {
        !text.isEmpty && text.unicodeScalars.count <= maxTextCharacters
    }

    /// Checks a response before it is saved.
    ///
    /// - Throws: `ChatError(.invalidField)` naming the field that is out of range.
    public static func validate(_ response: CannedResponse) throws(ChatError) {
        guard isValidShortcut(response.shortcut) else {
            throw ChatError(.invalidField, "shortcut must be 1-\(maxShortcutLength) characters of [A-Za-z0-9._-]")
        }
        guard isValidText(response.text) else {
            throw ChatError(.invalidField, "text must be 1-\(maxTextCharacters) characters")
        }
    }

    /// The owner's responses, sorted by shortcut.
    public func list(_ owner: CannedResponseOwner) async throws -> [CannedResponse] {
        let fields = try await redis.send("HGETALL", .init(owner.key)).fieldMap
        return fields.map { CannedResponse(shortcut: $0.key, text: $0.value) }.sorted { $0.shortcut < $1.shortcut }
    }

    /// The team's and `agentID`'s responses in one round trip, each sorted by shortcut.
    public func listForAgent(_ agentID: String) async throws -> (team: [CannedResponse], personal: [CannedResponse]) {
        let replies = try await redis.pipeline([
            ["HGETALL", .init(CannedResponseOwner.team.key)],
            ["HGETALL", .init(CannedResponseOwner.agent(agentID).key)],
        ])
        for reply in replies {
            if let error = reply.redisError { throw error }
        }
        func sorted(_ reply: RESPValue) -> [CannedResponse] {
            reply.fieldMap.map { CannedResponse(shortcut: $0.key, text: $0.value) }.sorted { $0.shortcut < $1.shortcut }
        }
        return (sorted(replies[0]), sorted(replies.count > 1 ? replies[1] : .null))
    }

    /// Creates or replaces a response (validated first).
    public func save(_ response: CannedResponse, for owner: CannedResponseOwner) async throws {
        try Self.validate(response)
        _ = try await redis.send("HSET", .init(owner.key), .init(response.shortcut), .init(response.text))
    }

    /// Removes a response; returns false when the owner had none with `shortcut`.
    public func remove(shortcut: String, for owner: CannedResponseOwner) async throws -> Bool {
        let reply = try await redis.send("HDEL", .init(owner.key), .init(shortcut))
        return (reply.int ?? 0) > 0
    }
}
