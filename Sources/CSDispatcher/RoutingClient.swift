import CSCore
import CSRedis
import CSServer
import Synchronization

/// Calls the routing scripts and resolves agent names.
final class RoutingClient: Sendable {
    enum Outcome: Equatable {
        case assigned(agentID: String)
        case queued
    }

    let redis: RedisClient
    private let names = Mutex<[String: (name: String, fetchedAt: ContinuousClock.Instant)]>([:])

    init(redis: RedisClient) { self.redis = redis }

    private static let keys = RoutingScripts.routingKeys.map { RedisArgument($0) }

    /// Assigns the conversation or queues it (idempotent: a repeat returns the first answer).
    func assign(conversationID: String, skill: String) async throws -> Outcome {
        let reply = try await redis.evalScript(
            RoutingScripts.assign, keys: Self.keys + [.init(RedisKeys.queue(skill: skill))],
            arguments: [.init(conversationID), .init(nowMilliseconds()), .init(skill)])
        guard let values = reply.array, values.count == 2, let kind = values[0].string else {
            throw RedisError(code: .protocolError, message: "unexpected assign reply")
        }
        if kind == "assigned", let agent = values[1].string { return .assigned(agentID: agent) }
        return .queued
    }

    /// Gives capacity back (or removes the conversation from its queue); `expectedAgent` nil = any.
    func release(conversationID: String, skill: String, expectedAgent: String? = nil) async throws {
        _ = try await redis.evalScript(
            RoutingScripts.release,
            keys: [.init(RedisKeys.agentsLoad), .init(RedisKeys.assignments), .init(RedisKeys.queued), .init(RedisKeys.queue(skill: skill))],
            arguments: [.init(conversationID), .init(expectedAgent ?? "")])
    }

    /// Assigns waiting conversations while agents have capacity; returns (conversation, agent) pairs.
    func drain(limit: Int) async throws -> [(conversationID: String, agentID: String)] {
        let reply = try await redis.evalScript(
            RoutingScripts.drain, keys: Self.keys,
            arguments: [.init(nowMilliseconds()), .init(limit), .init(RedisKeys.queuePrefix)])
        let flat = (reply.array ?? []).compactMap(\.string)
        return stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0], flat[$0 + 1]) }
    }

    /// The agent as a participant, with the display name cached for a minute.
    func agent(_ id: String) async throws -> Participant {
        let now = ContinuousClock.now
        if let cached = names.withLock({ $0[id] }), now - cached.fetchedAt < .seconds(60) {
            return Participant(id: id, role: .agent, name: cached.name)
        }
        let name = try await redis.send("HGET", .init(RedisKeys.agent(id)), "name").string ?? id
        names.withLock { $0[id] = (name, now) }
        return Participant(id: id, role: .agent, name: name)
    }
}
