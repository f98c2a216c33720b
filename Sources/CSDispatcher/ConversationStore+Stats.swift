import CSCore
import CSRedis

/// Daily conversation statistics (`cs:{stats}:day:<YYYY-MM-DD>`, docs/redis-keys.md).
extension ConversationStore {
    /// Moments recorded once per conversation, for the wait and first-response averages.
    enum FirstEvent {
        /// An agent was assigned for the first time: wait = now − createdAt.
        case assignment
        /// An agent wrote for the first time: first response = now − createdAt.
        case response

        var field: String { self == .assignment ? "firstAssignedAt" : "firstResponseAt" }
        var counters: (count: String, total: String) { self == .assignment ? ("assigned", "waitMs") : ("responded", "responseMs") }
    }

    /// How long daily statistics are kept.
    static let dailyStatsTTLSeconds = 400 * 24 * 3600

    /// Adds to the counters of `now`'s UTC day.
    func countDaily(_ increments: [String: Int], now: Int) async throws {
        let key = RedisKeys.dailyStats(day: String(describing: CalendarDay(milliseconds: now)))
        var commands: [[RedisArgument]] = increments.sorted { $0.key < $1.key }.map { ["HINCRBY", .init(key), .init($0.key), .init($0.value)] }
        commands.append(["EXPIRE", .init(key), .init(Self.dailyStatsTTLSeconds)])
        try await redis.pipeline(commands).checked()
    }

    /// Records `event` the first time it happens to the conversation (`HSETNX` on the meta hash, so
    /// an entry processed again after a crash does not count twice) and adds it to today's averages.
    func recordFirst(_ event: FirstEvent, of state: inout ConversationState, now: Int) async throws {
        let already = event == .assignment ? state.firstAssignedAt : state.firstResponseAt
        guard already == nil else { return }
        let reply = try await redis.send("HSETNX", .init(RedisKeys.conversation(state.id)), .init(event.field), .init(now))
        if event == .assignment { state.firstAssignedAt = now } else { state.firstResponseAt = now }
        remember(state)
        guard reply.int == 1, let createdAt = state.createdAt else { return }
        try await countDaily([event.counters.count: 1, event.counters.total: max(0, now - createdAt)], now: now)
    }
}
