import CSCore
import CSRedis

/// Tells the archivers that a conversation has something final to copy to PostgreSQL: one
/// `XADD` to `cs:{archive}:closed` with `k` = `closed` at its close or `rated` after its rating
/// was recorded or changed, never per message. Added each time such an entry is processed, so an
/// entry processed again after a crash may add a second one: archiving is idempotent, a repeat
/// changes nothing. No `MAXLEN`: an entry trimmed before an archiver read it would keep its
/// conversation in Redis for ever (it only expires once archived).
enum FinishedConversations {
    static func announce(_ conversationID: String, kind: String, at now: Int, redis: RedisClient) async throws {
        _ = try await redis.send(
            "XADD", .init(RedisKeys.finishedConversations), "*", "k", .init(kind), "c", .init(conversationID), "at", .init(now))
    }
}

extension ConversationStore {
    /// ``FinishedConversations/announce(_:kind:at:redis:)`` on this store's connection.
    func announceFinished(_ conversationID: String, kind: String, at now: Int) async throws {
        try await FinishedConversations.announce(conversationID, kind: kind, at: now, redis: redis)
    }
}
