import CSCore
import CSRedis

extension RatingQueries {
    /// Which ratings to list: conversations closed in `days` (UTC), of one agent or team, with
    /// one of `scores`.
    public struct Filter: Sendable {
        public var days: ClosedRange<CalendarDay>?
        public var agent: String?
        public var team: String?
        public var scores: Set<Int>

        public init(days: ClosedRange<CalendarDay>? = nil, agent: String? = nil, team: String? = nil, scores: Set<Int> = []) {
            self.days = days
            self.agent = agent
            self.team = team
            self.scores = scores
        }
    }

    /// A position in the list, newest first: the close time and conversation id of the last row
    /// returned (`<closedAt>:<conversationId>` as text).
    public struct Cursor: Sendable, Equatable {
        public var closedAt: Int
        public var conversationID: String

        public init(closedAt: Int, conversationID: String) {
            self.closedAt = closedAt
            self.conversationID = conversationID
        }

        public init?(_ text: String) {
            guard let colon = text.firstIndex(of: ":"), let closedAt = Int(text[..<colon]) else { return nil }
            let id = String(text[text.index(after: colon)...])
            guard Identifier.isValid(id) else { return nil }
            self.init(closedAt: closedAt, conversationID: id)
        }

        public var text: String { "\(closedAt):\(conversationID)" }
    }

    /// Up to `limit` ratings after `cursor`, newest close first, and the cursor of the next page
    /// (nil at the end). Reads the index in chunks and filters scores here, at most `scanLimit`
    /// index entries per call.
    public func list(_ filter: Filter, limit: Int, after cursor: Cursor?, scanLimit: Int = 20_000) async throws -> ([RatingRecord], Cursor?) {
        let index: String =
            if let agent = filter.agent { RedisKeys.ratingIndex(.agent(agent)) } else if let team = filter.team {
                RedisKeys.ratingIndex(.team(team))
            } else { RedisKeys.ratingIndex(.all) }
        let lowest = filter.days.map { String($0.lowerBound.startMilliseconds) } ?? "-inf"
        var highest = filter.days.map { "(" + String($0.upperBound.adding(days: 1).startMilliseconds) } ?? "+inf"
        var position = cursor
        if let cursor { highest = String(cursor.closedAt) }
        var found: [RatingRecord] = []
        var scanned = 0
        let chunk = 200
        while found.count < limit && scanned < scanLimit {
            // Entries at the cursor's own close time that sort at or after it were returned already.
            let reply = try await redis.send(
                "ZRANGE", .init(index), .init(highest), .init(lowest), "BYSCORE", "REV", "LIMIT", "0", .init(chunk + (position == nil ? 0 : 64)),
                "WITHSCORES")
            var members: [(String, Int)] = []
            let values = reply.array ?? []
            for pair in stride(from: 0, to: values.count - 1, by: 2) {
                guard let id = values[pair].string, let score = values[pair + 1].string.flatMap({ Int($0) ?? Double($0).map { Int($0) } }) else { continue }
                if let position, score == position.closedAt && id >= position.conversationID { continue }
                members.append((id, score))
            }
            if members.isEmpty { return (found, nil) }
            scanned += members.count
            let records = try await redis.pipeline(members.map { ["HGETALL", .init(RedisKeys.rating($0.0))] }).checked()
            for ((id, closedAt), reply) in zip(members, records) {
                position = Cursor(closedAt: closedAt, conversationID: id)
                guard let record = RatingRecord(conversationID: id, fields: reply.fieldMap) else { continue }
                if !filter.scores.isEmpty && !filter.scores.contains(record.score) { continue }
                if let team = filter.team, record.team != team { continue }
                found.append(record)
                if found.count == limit { return (found, position) }
            }
            if let position { highest = String(position.closedAt) }
            if values.count / 2 < chunk { return (found, nil) }
        }
        return (found, position)
    }
}
