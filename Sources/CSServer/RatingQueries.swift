import CSCore
import CSRedis

/// Reads ratings and their aggregates for the HTTP API (the gateway's side; `RatingBook` writes).
public struct RatingQueries: Sendable {
    let redis: RedisClient

    public init(redis: RedisClient) { self.redis = redis }

    /// Longest date range a summary or a list may span.
    public static let maxRangeDays = 366

    /// The rating of one conversation, or nil.
    public func rating(of conversationID: String) async throws -> RatingRecord? {
        let fields = try await redis.send("HGETALL", .init(RedisKeys.rating(conversationID))).fieldMap
        return RatingRecord(conversationID: conversationID, fields: fields)
    }

    /// One row of a summary: an agent or a team and its aggregate.
    public struct SummaryRow: Sendable, Equatable {
        public var id: String
        public var name: String
        public var aggregate: RatingAggregate
    }

    /// Summaries per agent or per team, all time (`days` nil) or summed over the UTC days given.
    /// `only` restricts the rows to one agent or team (an agent reading their own summary).
    public func summary(byAgent: Bool, days: ClosedRange<CalendarDay>?, only: String? = nil) async throws -> [SummaryRow] {
        var ids: [String]
        if let only {
            ids = [only]
        } else {
            let set = byAgent ? RedisKeys.ratedAgents : RedisKeys.ratedTeams
            ids = (try await redis.send("SMEMBERS", .init(set)).array ?? []).compactMap(\.string).sorted()
        }
        guard !ids.isEmpty else { return [] }
        let dayList = days.map { range in (range.lowerBound.number...range.upperBound.number).map { String(describing: CalendarDay(number: $0)) } }
        var commands: [[RedisArgument]] = []
        for id in ids {
            let scope: RatingScope = byAgent ? .agent(id) : .team(id)
            if let dayList {
                for day in dayList { commands.append(["HGETALL", .init(RedisKeys.ratingAggregate(scope, day: day))]) }
            } else {
                commands.append(["HGETALL", .init(RedisKeys.ratingAggregate(scope))])
            }
        }
        if byAgent { for id in ids { commands.append(["HGET", .init(RedisKeys.agent(id)), "name"]) } }
        let replies = try await redis.pipeline(commands).checked()
        let perID = dayList?.count ?? 1
        var rows: [SummaryRow] = []
        for (index, id) in ids.enumerated() {
            var aggregate = RatingAggregate()
            for reply in replies[(index * perID)..<((index + 1) * perID)] { aggregate.add(RatingAggregate(fields: reply.fieldMap)) }
            let name = byAgent ? (replies[ids.count * perID + index].string ?? id) : id
            rows.append(SummaryRow(id: id, name: name, aggregate: aggregate))
        }
        return rows
    }

    /// Everyone's aggregate for the UTC days given (all time when nil).
    public func total(days: ClosedRange<CalendarDay>?) async throws -> RatingAggregate {
        guard let days else { return RatingAggregate(fields: try await redis.send("HGETALL", .init(RedisKeys.ratingAggregate(.all))).fieldMap) }
        let replies = try await redis.pipeline((days.lowerBound.number...days.upperBound.number).map {
            ["HGETALL", .init(RedisKeys.ratingAggregate(.all, day: String(describing: CalendarDay(number: $0))))]
        }).checked()
        var total = RatingAggregate()
        for reply in replies { total.add(RatingAggregate(fields: reply.fieldMap)) }
        return total
    }
}
