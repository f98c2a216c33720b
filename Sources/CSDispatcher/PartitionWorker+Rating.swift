import CSCore
import CSRedis
import CSServer

extension PartitionWorker {
    /// Records a customer's rating of a closed conversation and confirms it to the customer's
    /// connections with a `rating` frame. The record script ignores an entry it already applied.
    func rate(_ state: ConversationState, entry: InboundEntry, entryID: String) async throws {
        let acceptedAt = entryID.split(separator: "-").first.flatMap { Int($0) } ?? 0
        let rating = RatingRecord(
            conversationID: state.id, score: entry.score, comment: entry.comment, ratedAt: acceptedAt, updatedAt: acceptedAt,
            closedAt: state.closedAt ?? acceptedAt, agent: state.agent, handlers: state.handlers, team: state.skill,
            customer: state.customer)
        let (outcome, stored) = try await RatingBook(redis: redis).record(rating, entryID: entryID, clientMessageID: entry.clientMessageID)
        // Before the duplicate check: a crash after the record and before this XADD is repaired
        // when the entry is processed again (the archive ignores the repeat).
        try await FinishedConversations.announce(state.id, kind: "rated", at: acceptedAt, redis: redis)
        let frame = stored.render(id: entry.clientMessageID, rateUntil: state.rateUntil)
        // Also for a duplicate: the owner that applied it may have died before recording the event.
        if configuration.webhooks.wants(.rating) {
            try await WebhookWanted.record([.rating(conversationID: state.id, entryID: entryID, frame: frame, timestamp: stored.updatedAt)], on: redis)
        }
        guard outcome != .duplicate else { return }
        _ = try await redis.send("PUBLISH", .init(RedisKeys.userChannel(state.customer.id)), .init(frame))
        logger.info("rating recorded", metadata: ["conversation": "\(state.id)", "outcome": "\(outcome.rawValue)"])
    }
}
