import CSCore
import CSRedis
import CSServer

/// Reads one conversation out of Redis for the archive: meta hash, the whole log (page by page)
/// and the rating hash. Reads only; nothing here changes Redis.
struct ConversationReader {
    let redis: RedisClient
    static let pageSize = 1_000

    /// The snapshot, or nil when neither the meta hash nor a rating exists (an unknown conversation).
    /// - Throws: ``MalformedConversation`` for a log entry or meta hash that does not decode.
    func read(_ id: String) async throws -> ConversationSnapshot? {
        let replies = try await redis.pipeline([
            ["HGETALL", .init(RedisKeys.conversation(id))],
            ["HGETALL", .init(RedisKeys.rating(id))],
        ]).checked()
        let meta = replies[0].fieldMap
        let rating = ConversationSnapshot.rating(replies[1].fieldMap)
        if meta.isEmpty {
            guard rating != nil else { return nil }
            return ConversationSnapshot(id: id, state: nil, lastSeq: 0, entries: [], rating: rating, contactEmail: nil)
        }
        guard let state = ConversationState(id: id, fields: meta) else { throw MalformedConversation(reason: "meta hash does not decode") }
        var entries: [ConversationSnapshot.Entry] = []
        var email: String?
        var start = "-"
        while true {
            let page = try await redis.send(
                "XRANGE", .init(RedisKeys.conversationLog(id)), .init(start), "+", "COUNT", .init(Self.pageSize)).array ?? []
            for item in page {
                guard let parts = item.array, parts.count > 1, let entryID = parts[0].string, let frame = parts[1].fieldMap["f"],
                      let entry = ConversationSnapshot.entry(id: entryID, frame: frame)
                else { throw MalformedConversation(reason: "log entry does not decode") }
                if let found = ConversationSnapshot.email(in: frame) { email = found }
                entries.append(entry)
            }
            guard page.count == Self.pageSize, let last = entries.last else { break }
            start = "(\(last.seq)-0"
        }
        return ConversationSnapshot(
            id: id, state: state, lastSeq: meta["seq"].flatMap(Int.init) ?? entries.last?.seq ?? 0, entries: entries, rating: rating,
            contactEmail: email)
    }
}

/// The conversation's data in Redis does not decode: archiving it can never succeed.
struct MalformedConversation: Error, CustomStringConvertible {
    let reason: String
    var description: String { reason }
}
