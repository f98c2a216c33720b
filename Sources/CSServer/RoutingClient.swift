import CSCore
import CSRedis
import Synchronization

/// Typed calls to the routing scripts (`RoutingScripts`), shared by gateways and dispatchers.
public final class RoutingClient: Sendable {
    public enum Outcome: Sendable, Equatable {
        case assigned(agentID: String)
        /// Waiting; `agentsOnline` is false when no agent with the skill is online at all.
        case queued(agentsOnline: Bool)
    }

    public enum TransferOutcome: Sendable, Equatable {
        case moved(from: String)
        case queued(from: String)
        case unavailable
        case notAssigned
    }

    /// Where a skill's queue stands, for `queue.position` frames.
    public struct QueueSnapshot: Sendable, Equatable {
        public var skill: String
        public var conversationIDs: [String]
        public var averageHandlingMilliseconds: Int
        public var onlineAgents: Int

        /// Estimated wait at `position` (1-based), or nil while no handling time is known.
        public func estimatedWaitSeconds(position: Int) -> Int? {
            guard averageHandlingMilliseconds > 0 else { return nil }
            let rounds = (position + max(onlineAgents, 1) - 1) / max(onlineAgents, 1)
            return rounds * averageHandlingMilliseconds / 1000
        }
    }

    public let redis: RedisClient
    private let names = Mutex<[String: (name: String, fetchedAt: ContinuousClock.Instant)]>([:])
    private static let keys = RoutingScripts.routingKeys.map { RedisArgument($0) }
    private static let prefixes = RoutingScripts.prefixArguments.map { RedisArgument($0) }

    public init(redis: RedisClient) { self.redis = redis }

    private func run(_ script: RedisScript, _ arguments: [RedisArgument]) async throws -> RESPValue {
        try await redis.callFunction(script, keys: Self.keys, arguments: Self.prefixes + arguments)
    }

    private static func pairs(_ reply: RESPValue) -> [(String, String)] {
        let flat = (reply.array ?? []).compactMap(\.string)
        return stride(from: 0, to: flat.count - 1, by: 2).map { (flat[$0], flat[$0 + 1]) }
    }

    /// Assigns the conversation or queues it (idempotent: a repeat returns the first answer).
    public func assign(conversationID: String, skill: String) async throws -> Outcome {
        let reply = try await run(RoutingScripts.assign, [.init(conversationID), .init(nowMilliseconds()), .init(skill)])
        guard let values = reply.array, values.count == 2, let kind = values[0].string else {
            throw RedisError(code: .protocolError, message: "unexpected assign reply")
        }
        if kind == "assigned", let agent = values[1].string { return .assigned(agentID: agent) }
        return .queued(agentsOnline: (values[1].int ?? 0) > 0)
    }

    /// Gives capacity back (or removes the conversation from its queue); `expectedAgent` nil = any.
    @discardableResult
    public func release(conversationID: String, expectedAgent: String? = nil) async throws -> String? {
        try await run(RoutingScripts.release, [.init(conversationID), .init(expectedAgent ?? ""), .init(nowMilliseconds())]).string
    }

    /// Moves an assigned conversation to `toAgent`, or to the head of `toSkill`'s queue (nil: its own
    /// skill's). `entryID`, the inbound entry asking, makes a retry of that entry get the first
    /// answer (see `RoutingScripts.transfer`).
    public func transfer(
        conversationID: String, expectedAgent: String?, toAgent: String?, toSkill: String?, entryID: String? = nil
    ) async throws -> TransferOutcome {
        let reply = try await run(
            RoutingScripts.transfer,
            [
                .init(conversationID), .init(expectedAgent ?? ""), .init(toAgent ?? ""), .init(toSkill ?? ""), .init(nowMilliseconds()),
                .init(entryID ?? ""),
            ])
        let values = (reply.array ?? []).compactMap(\.string)
        switch (values.first, values.count > 1 ? values[1] : "") {
        case ("moved", let from): return .moved(from: from)
        case ("queued", let from): return .queued(from: from)
        case ("unavailable", _): return .unavailable
        default: return .notAssigned
        }
    }

    /// Assigns waiting conversations while agents have capacity; returns (conversation, agent) pairs.
    public func drain(limit: Int) async throws -> [(conversationID: String, agentID: String)] {
        Self.pairs(try await run(RoutingScripts.drain, [.init(nowMilliseconds()), .init(limit)])).map { ($0.0, $0.1) }
    }

    /// Requeues the conversations of agents gone longer than `graceMilliseconds`; returns (conversation, agent) pairs.
    public func expireAgents(graceMilliseconds: Int) async throws -> [(conversationID: String, agentID: String)] {
        Self.pairs(try await run(RoutingScripts.expire, [.init(nowMilliseconds()), .init(graceMilliseconds)])).map { ($0.0, $0.1) }
    }

    /// The queue of `skill` with what wait estimates need.
    public func queue(skill: String) async throws -> QueueSnapshot {
        let values = try await run(RoutingScripts.positions, [.init(skill), .init(nowMilliseconds())]).array ?? []
        return QueueSnapshot(
            skill: skill, conversationIDs: values.dropFirst(2).compactMap(\.string),
            averageHandlingMilliseconds: values.first?.int ?? 0, onlineAgents: values.count > 1 ? values[1].int ?? 0 : 0)
    }

    /// Skills whose queue is not empty.
    public func queuedSkills() async throws -> [String] {
        (try await redis.send("SMEMBERS", .init(RedisKeys.queueSkills)).array ?? []).compactMap(\.string).sorted()
    }

    /// Applies a presence change (`connect`, `online`, `away`, `offline`, `disconnect`); returns the status now.
    @discardableResult
    public func setPresence(agentID: String, _ change: String, ttlMilliseconds: Int) async throws -> String {
        let reply = try await run(
            RoutingScripts.presence, [.init(agentID), .init(change), .init(nowMilliseconds()), .init(ttlMilliseconds)])
        return reply.string ?? "online"
    }

    /// Extends the presence of connected agents that are not signed off.
    public func heartbeat(agentIDs: [String], ttlMilliseconds: Int) async throws {
        guard !agentIDs.isEmpty else { return }
        _ = try await run(RoutingScripts.heartbeat, [.init(nowMilliseconds()), .init(ttlMilliseconds)] + agentIDs.map { RedisArgument($0) })
    }

    /// Rings the drain doorbell so that a dispatcher drains the queues now.
    public func wakeDrainer() async throws {
        _ = try await redis.pipeline([
            ["LPUSH", .init(RedisKeys.drainWakeup), "1"],
            ["LTRIM", .init(RedisKeys.drainWakeup), "0", "9"],
        ]).checked()
    }

    /// The agent as a participant, with the display name cached for a minute.
    public func agent(_ id: String) async throws -> Participant {
        let now = ContinuousClock.now
        if let cached = names.withLock({ $0[id] }), now - cached.fetchedAt < .seconds(60) {
            return Participant(id: id, role: .agent, name: cached.name)
        }
        let name = try await redis.send("HGET", .init(RedisKeys.agent(id)), "name").string ?? id
        names.withLock { $0[id] = (name, now) }
        return Participant(id: id, role: .agent, name: name)
    }
}
