import CSCore
import CSRedis
import CSServer
import Synchronization

/// Read-only views of conversations for the gateway: authorisation checks, typing recipients,
/// an agent's view on connect, history pages.
final class ConversationViews: Sendable {
    let redis: RedisClient
    let routing: RoutingClient
    private let cache = Mutex<[String: (state: ConversationState, at: ContinuousClock.Instant)]>([:])
    /// How many conversations an agent's view lists at most.
    static let viewLimit = 200

    init(redis: RedisClient, routing: RoutingClient) {
        self.redis = redis
        self.routing = routing
    }

    /// The conversation as stored now, or nil.
    func conversation(_ id: String) async throws -> ConversationState? {
        let state = ConversationState(id: id, fields: try await redis.send("HGETALL", .init(RedisKeys.conversation(id))).fieldMap)
        if let state { cache.withLock { $0[id] = (state, .now) } }
        return state
    }

    /// The conversation, at most five seconds old (for typing, which may be slightly stale).
    func cachedConversation(_ id: String) async throws -> ConversationState? {
        if let cached = cache.withLock({ $0[id] }), ContinuousClock.now - cached.at < .seconds(5) { return cached.state }
        cache.withLock { if $0.count > 10_000 { $0.removeAll() } }
        return try await conversation(id)
    }

    /// The `conversations` frame for a staff member: their open conversations; for supervisors
    /// every open conversation and the queues.
    func conversations(for participant: Participant) async throws -> String {
        var ids: [String]
        var queues: [(skill: String, waiting: [String])]?
        if participant.role == .supervisor {
            let replies = try await redis.pipeline([["HKEYS", .init(RedisKeys.assignments)], ["HKEYS", .init(RedisKeys.queued)]]).checked()
            ids = replies.flatMap { ($0.array ?? []).compactMap(\.string) }
            queues = []
            for skill in try await routing.queuedSkills() {
                queues?.append((skill, try await routing.queue(skill: skill).conversationIDs))
            }
        } else {
            ids = (try await redis.send("SMEMBERS", .init(RedisKeys.agentConversations(participant.id))).array ?? []).compactMap(\.string)
        }
        ids = Array(ids.sorted().prefix(Self.viewLimit))
        guard !ids.isEmpty else { return ServerFrame.conversations([], queues: queues) }
        var commands: [[RedisArgument]] = []
        for id in ids {
            commands.append(["HGETALL", .init(RedisKeys.conversation(id))])
            commands.append(["XREVRANGE", .init(RedisKeys.conversationLog(id)), "+", "-", "COUNT", "3"])
        }
        let replies = try await redis.pipeline(commands).checked()
        var items: [ServerFrame.ConversationSummary] = []
        for (index, id) in ids.enumerated() {
            let fields = replies[index * 2].fieldMap
            guard let state = ConversationState(id: id, fields: fields), state.status != .closed else { continue }
            let lastSeq = fields["seq"].flatMap(Int.init) ?? 0
            let read = fields["read:" + participant.id].flatMap(Int.init) ?? 0
            let last = (replies[index * 2 + 1].array ?? []).reversed().compactMap { $0.array?.last?.fieldMap["f"] }
            items.append(.init(state: state, lastSeq: lastSeq, unread: max(0, lastSeq - read), last: last))
        }
        return ServerFrame.conversations(items, queues: queues)
    }

    /// Committed frames with seq > `after`, at most `limit`, oldest first, with the seq of each.
    func entries(of id: String, after: Int, limit: Int) async throws -> [(seq: Int, frame: String)] {
        let reply = try await redis.send(
            "XRANGE", .init(RedisKeys.conversationLog(id)), .init("(\(after)-0"), "+", "COUNT", .init(limit))
        return (reply.array ?? []).compactMap { entry in
            guard let parts = entry.array, parts.count == 2, let id = parts[0].string,
                let seq = id.split(separator: "-").first.flatMap({ Int($0) }), let frame = parts[1].fieldMap["f"]
            else { return nil }
            return (seq, frame)
        }
    }

    /// The seq of the oldest entry still in the conversation's log (0 when empty).
    func firstAvailableSeq(of id: String) async throws -> Int {
        let reply = try await redis.send("XRANGE", .init(RedisKeys.conversationLog(id)), "-", "+", "COUNT", "1")
        return reply.array?.first?.array?.first?.string?.split(separator: "-").first.flatMap { Int($0) } ?? 0
    }
}
