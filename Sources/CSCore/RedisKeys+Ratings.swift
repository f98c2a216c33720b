extension RedisKeys {
    // MARK: Ratings: tag {ratings} (one slot: the record script updates every aggregate at once)

    /// One conversation's rating (hash, `RatingRecord.fields`).
    public static func rating(_ conversationID: String) -> String { "cs:{ratings}:r:\(conversationID)" }
    /// Aggregate of an agent, a team (skill) or everyone, all time (`day` nil) or for one UTC day
    /// `YYYY-MM-DD` (the day the conversation closed). Hash: count, sum, s1…s5, avg, csat.
    public static func ratingAggregate(_ scope: RatingScope, day: String? = nil) -> String {
        "cs:{ratings}:" + scope.keyPart + (day.map { ":" + $0 } ?? "")
    }
    /// Ratings by close time (sorted set: conversation id → closedAt ms), for everyone, one agent
    /// or one team; pages and filters the ratings list.
    public static func ratingIndex(_ scope: RatingScope) -> String { "cs:{ratings}:index:" + scope.keyPart }
    /// Agents that were ever credited with a rating, and teams that ever had one (sets).
    public static let ratedAgents = "cs:{ratings}:agents"
    public static let ratedTeams = "cs:{ratings}:teams"

    // MARK: Statistics: tag {stats}

    /// Conversation counters of one UTC day (hash): opened, closed, assigned, waitMs, responded, responseMs.
    public static func dailyStats(day: String) -> String { "cs:{stats}:day:\(day)" }
}

/// Whose ratings an aggregate or an index covers.
public enum RatingScope: Sendable, Hashable {
    case all
    case agent(String)
    case team(String)

    var keyPart: String {
        switch self {
        case .all: "all"
        case .agent(let id): "agent:" + id
        case .team(let skill): "team:" + skill
        }
    }
}
