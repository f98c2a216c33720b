import CSCore
import CSRedis

/// An agent account as operators manage it (`cs-admin agent ...`).
public struct AgentRecord: Sendable, Equatable {
    public var id: String
    public var name: String
    public var role: ParticipantRole
    public var skills: [String]
    public var maxConversations: Int
    public var passwordHash: String
    /// The version staff tokens of this account must carry (`RedisKeys.agentTokenVersions`).
    public var tokenVersion: Int = 0

    public init(id: String, name: String, role: ParticipantRole = .agent, skills: [String], maxConversations: Int, passwordHash: String) {
        self.id = id
        self.name = name
        self.role = role
        self.skills = skills
        self.maxConversations = maxConversations
        self.passwordHash = passwordHash
    }

    public var participant: Participant { Participant(id: id, role: role, name: name) }
}

/// Agent accounts in Redis: the profile hash plus the routing hashes (capacity, skills) that the
/// assignment scripts read, always written together in one MULTI (all keys share `{agents}`).
public struct AgentDirectory: Sendable {
    public let redis: RedisClient

    public init(redis: RedisClient) { self.redis = redis }

    /// Creates or replaces an agent. The caller hashes the password (`PasswordHasher`).
    /// `revokingTokens` (a new password or role) bumps the token version in the same
    /// transaction: every token issued before stops working.
    public func save(_ agent: AgentRecord, revokingTokens: Bool = false) async throws {
        let skills = "," + agent.skills.joined(separator: ",") + ","
        var commands: [[RedisArgument]] = [
            ["MULTI"],
            [
                "HSET", .init(RedisKeys.agent(agent.id)), "name", .init(agent.name), "role", .init(agent.role.rawValue),
                "skills", .init(agent.skills.joined(separator: ",")), "max", .init(agent.maxConversations),
                "pw", .init(agent.passwordHash),
            ],
            ["SADD", .init(RedisKeys.agentIDs), .init(agent.id)],
            ["HSET", .init(RedisKeys.agentsCapacity), .init(agent.id), .init(agent.maxConversations)],
            ["HSET", .init(RedisKeys.agentsSkills), .init(agent.id), .init(skills)],
            ["HSETNX", .init(RedisKeys.agentsLoad), .init(agent.id), "0"],
        ]
        if revokingTokens { commands.append(["HINCRBY", .init(RedisKeys.agentTokenVersions), .init(agent.id), "1"]) }
        commands.append(["EXEC"])
        let replies = try await redis.pipeline(commands)
        try Self.checkTransaction(replies)
    }

    /// The agent with `id`, or nil.
    public func find(_ id: String) async throws -> AgentRecord? {
        let replies = try await redis.pipeline([
            ["HGETALL", .init(RedisKeys.agent(id))], ["HGET", .init(RedisKeys.agentTokenVersions), .init(id)],
        ])
        var record = Self.record(id: id, fields: replies[0].fieldMap)
        record?.tokenVersion = replies[1].int ?? 0
        return record
    }

    /// What a staff token of `id` is checked against on every request: the account's role and
    /// token version, or nil when there is no such account (any more).
    public func standing(of id: String) async throws -> StaffStanding? {
        let replies = try await redis.pipeline([
            ["HMGET", .init(RedisKeys.agent(id)), "role", "pw"], ["HGET", .init(RedisKeys.agentTokenVersions), .init(id)],
        ])
        let fields = replies[0].array ?? []
        guard fields.count == 2, fields[1].string != nil else { return nil }
        let role = fields[0].string.flatMap(ParticipantRole.init(rawValue:)) ?? .agent
        return StaffStanding(role: role, tokenVersion: replies[1].int ?? 0)
    }

    /// All agents, sorted by id.
    public func list() async throws -> [AgentRecord] {
        let ids = (try await redis.send("SMEMBERS", .init(RedisKeys.agentIDs)).array ?? []).compactMap(\.string).sorted()
        guard !ids.isEmpty else { return [] }
        let replies = try await redis.pipeline(ids.map { ["HGETALL", .init(RedisKeys.agent($0))] }).checked()
        return zip(ids, replies).compactMap { Self.record(id: $0, fields: $1.fieldMap) }
    }

    /// Removes an agent; returns false when there was none. Open conversations stay assigned.
    /// The token version goes up: the account's tokens stop working.
    public func remove(_ id: String) async throws -> Bool {
        let replies = try await redis.pipeline([
            ["MULTI"],
            ["DEL", .init(RedisKeys.agent(id))],
            ["SREM", .init(RedisKeys.agentIDs), .init(id)],
            ["HDEL", .init(RedisKeys.agentsCapacity), .init(id)],
            ["HDEL", .init(RedisKeys.agentsSkills), .init(id)],
            ["ZREM", .init(RedisKeys.agentsOnline), .init(id)],
            ["HINCRBY", .init(RedisKeys.agentTokenVersions), .init(id), "1"],
            ["EXEC"],
        ])
        try Self.checkTransaction(replies)
        return replies.last?.array?.first?.int == 1
    }

    /// Sets the maximum concurrent conversations; returns false when there is no such agent.
    public func setCapacity(_ id: String, maxConversations: Int) async throws -> Bool {
        guard try await find(id) != nil else { return false }
        let replies = try await redis.pipeline([
            ["MULTI"],
            ["HSET", .init(RedisKeys.agent(id)), "max", .init(maxConversations)],
            ["HSET", .init(RedisKeys.agentsCapacity), .init(id), .init(maxConversations)],
            ["EXEC"],
            // More capacity may serve waiting customers now: ring the drainer's doorbell.
            ["LPUSH", .init(RedisKeys.drainWakeup), "1"],
            ["LTRIM", .init(RedisKeys.drainWakeup), "0", "9"],
        ])
        try Self.checkTransaction(Array(replies.prefix(4)))
        return true
    }

    /// Current number of open conversations per agent.
    public func loads() async throws -> [String: Int] {
        try await redis.send("HGETALL", .init(RedisKeys.agentsLoad)).fieldMap.compactMapValues(Int.init)
    }

    static func record(id: String, fields: [String: String]) -> AgentRecord? {
        guard let name = fields["name"], let hash = fields["pw"] else { return nil }
        return AgentRecord(
            id: id, name: name, role: fields["role"].flatMap(ParticipantRole.init(rawValue:)) ?? .agent,
            skills: (fields["skills"] ?? "").split(separator: ",").map(String.init),
            maxConversations: fields["max"].flatMap(Int.init) ?? 0, passwordHash: hash
        )
    }

    private static func checkTransaction(_ replies: [RESPValue]) throws {
        for reply in replies {
            if case .error(let message) = reply { throw RedisError(code: .serverError, message: message) }
        }
        if let exec = replies.last, exec.isNull { throw RedisError(code: .serverError, message: "EXECABORT transaction aborted") }
    }
}
