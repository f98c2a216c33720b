import CSCore
import CSRedis
import CSServer
import CSTestSupport
import Logging
import Testing

/// The rating record script against a real redis-server: an entry processed again after a crash,
/// or an older entry processed after a newer one, never counts twice.
@Suite("Rating book")
struct RatingBookTests {
    static let ann = Participant(id: "v_ann", role: .customer, name: "Ann")

    static func rating(score: Int, agent: Participant?) -> RatingRecord {
        RatingRecord(
            conversationID: "v_ann.c1", score: score, comment: "c\(score)", ratedAt: 0, updatedAt: 0, closedAt: 1_795_737_600_000,
            agent: agent, handlers: agent.map { [$0.id] } ?? [], team: "billing", customer: ann)
    }

    @Test func entriesApplyOnceAndInOrder() async throws {
        try await Self.withRedis { redis in
            let book = RatingBook(redis: redis)
            let alice = Participant(id: "alice", role: .agent, name: "Alice")

            let (first, stored) = try await book.record(Self.rating(score: 3, agent: alice), entryID: "100-1", clientMessageID: "r-1")
            #expect(first == .new && stored.ratedAt == 100 && stored.score == 3)
            #expect(try await book.record(Self.rating(score: 3, agent: alice), entryID: "100-1", clientMessageID: "r-1").0 == .duplicate)
            let (changed, afterChange) = try await book.record(Self.rating(score: 5, agent: alice), entryID: "200-0", clientMessageID: "r-2")
            #expect(changed == .changed && afterChange.ratedAt == 100 && afterChange.updatedAt == 200 && afterChange.score == 5)
            // The older entry again (a crash before the batch was acknowledged): nothing changes.
            let (stale, current) = try await book.record(Self.rating(score: 3, agent: alice), entryID: "100-1", clientMessageID: "r-1")
            #expect(stale == .duplicate && current.score == 5)
            #expect(try await book.record(Self.rating(score: 1, agent: alice), entryID: "200-0", clientMessageID: "r-2").0 == .duplicate)

            let day = "2026-11-27"
            for key in ["cs:{ratings}:all", "cs:{ratings}:all:\(day)", "cs:{ratings}:team:billing:\(day)", "cs:{ratings}:agent:alice", "cs:{ratings}:agent:alice:\(day)"] {
                let fields = try await redis.send("HGETALL", .init(key)).fieldMap
                #expect(fields["count"] == "1" && fields["sum"] == "5" && fields["s3"] == "0" && fields["s5"] == "1" && fields["avg"] == "5.00" && fields["csat"] == "100.0", "\(key): \(fields)")
        }
        #expect(try await redis.send("ZSCORE", "cs:{ratings}:index:agent:alice", "v_ann.c1").string == "1795737600000")
        let record = try await RatingQueries(redis: redis).rating(of: "v_ann.c1")
        #expect(record?.comment == "c5" && record?.handlers == ["alice"] && record?.agent?.name == "Alice")
        }
    }

    @Test func aConversationWithoutAnAgentCountsForItsTeamOnly() async throws {
        try await Self.withRedis { redis in
            _ = try await RatingBook(redis: redis).record(Self.rating(score: 2, agent: nil), entryID: "5-0", clientMessageID: "r")
            #expect(try await redis.send("HGET", "cs:{ratings}:team:billing", "count").string == "1")
            #expect(try await redis.send("SMEMBERS", "cs:{ratings}:agents").array?.isEmpty == true)
            #expect(try await redis.send("EXISTS", "cs:{ratings}:agent:-").int == 0)
            let summary = try await RatingQueries(redis: redis).summary(byAgent: false, days: nil)
            #expect(summary.map(\.id) == ["billing"] && summary.first?.aggregate.distribution == [0, 1, 0, 0, 0])
        }
    }

    /// Runs `body` with a client of a fresh redis-server on a free port; stops both afterwards.
    static func withRedis(_ body: (RedisClient) async throws -> Void) async throws {
        try await RedisServer.withClient(installing: [ServerFunctionLibraries.ratings], label: "rating-book-test", body)
    }
}
