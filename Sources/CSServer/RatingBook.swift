import CSCore
import CSRedis

/// Writes ratings and their aggregates (the dispatcher's side; readers use `RatingQueries`).
public struct RatingBook: Sendable {
    let redis: RedisClient

    public init(redis: RedisClient) { self.redis = redis }

    /// What `record` did.
    public enum Outcome: String, Sendable {
        /// The first rating of the conversation.
        case new
        /// A change of an earlier rating.
        case changed
        /// This entry (or a later one) was already applied: nothing changed.
        case duplicate = "dup"
    }

    /// Applies the rating carried by stream entry `entryID` (`<ms>-<seq>`); returns what it did and
    /// the record as stored afterwards.
    public func record(_ rating: RatingRecord, entryID: String, clientMessageID: String) async throws -> (Outcome, RatingRecord) {
        let parts = entryID.split(separator: "-")
        guard parts.count == 2, let entryMs = Int(parts[0]), let entrySeq = Int(parts[1]) else {
            throw RedisError(code: .protocolError, message: "malformed stream entry id \(entryID)")
        }
        let day = String(describing: CalendarDay(milliseconds: rating.closedAt))
        let agentScope = RatingScope.agent(rating.agent?.id ?? "-")
        let teamScope = RatingScope.team(rating.team)
        let keys: [String] = [
            RedisKeys.rating(rating.conversationID),
            RedisKeys.ratingAggregate(.all), RedisKeys.ratingAggregate(.all, day: day),
            RedisKeys.ratingAggregate(teamScope), RedisKeys.ratingAggregate(teamScope, day: day),
            RedisKeys.ratingAggregate(agentScope), RedisKeys.ratingAggregate(agentScope, day: day),
            RedisKeys.ratingIndex(.all), RedisKeys.ratingIndex(teamScope), RedisKeys.ratingIndex(agentScope),
            RedisKeys.ratedAgents, RedisKeys.ratedTeams,
        ]
        let arguments: [String] = [
            String(entryMs), String(entrySeq), String(rating.score), rating.comment, String(rating.closedAt),
            rating.agent == nil ? "0" : "1", rating.agent?.id ?? "", rating.agent?.name ?? "",
            rating.handlers.joined(separator: ","), rating.team, rating.customer.id, rating.customer.name, clientMessageID,
            rating.conversationID,
        ]
        let reply = try await redis.callFunction(RatingScripts.record, keys: keys.map { .init($0) }, arguments: arguments.map { .init($0) })
        guard let values = reply.array, values.count == 5, let outcome = values[0].string.flatMap(Outcome.init(rawValue:)) else {
            throw RedisError(code: .protocolError, message: "unexpected rating reply")
        }
        var stored = rating
        stored.ratedAt = values[1].string.flatMap(Int.init) ?? entryMs
        stored.score = values[2].string.flatMap(Int.init) ?? rating.score
        stored.comment = values[3].string ?? rating.comment
        stored.updatedAt = values[4].string.flatMap(Int.init) ?? entryMs
        return (outcome, stored)
    }
}
