import CSCore
import CSRedis

extension ConversationStore {
    /// Tells the archivers that a conversation has something final to copy to PostgreSQL
    /// (`k` = `closed` at its close, `rated` after its rating changed): one `XADD` to
    /// `cs:{archive}:closed`, never per message. Added each time the close or the rating entry
    /// is processed, so an entry processed again after a crash may add a second one: the
    /// archive is idempotent, a repeat changes nothing. No `MAXLEN`: an entry trimmed before an
    /// archiver read it would keep its conversation in Redis for ever (it only expires once archived).
    func announceFinished(_ conversationID: String, kind: String, at now: Int) async throws {
        _ = try await redis.send(
            "XADD", .init(RedisKeys.finishedConversations), "*", "k", .init(kind), "c", .init(conversationID), "at", .init(now))
    }
}
