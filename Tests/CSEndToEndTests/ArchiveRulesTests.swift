@testable import CSArchive
import CSCore
import Testing

/// The archive's pure rules: retention, decoding what Redis holds, failure classes, URLs, migrations.
@Suite("Archive rules")
struct ArchiveRulesTests {
    static func closedState(closedAt: Int?, rateUntil: Int?) -> ConversationState {
        var state = ConversationState(id: "v_a.b", customer: Participant(id: "v_a", role: .customer, name: "Ann"), status: .closed, skill: "default")
        state.closedAt = closedAt
        state.rateUntil = rateUntil
        return state
    }

    @Test("retention: closedAt + hot window, never before the rating window ends, never for an open conversation")
    func retention() {
        let policy = RetentionPolicy(hotWindowMilliseconds: 10_000)
        #expect(policy.expiresAt(Self.closedState(closedAt: 1_000, rateUntil: 2_000)) == 11_000)
        #expect(policy.expiresAt(Self.closedState(closedAt: 1_000, rateUntil: 50_000)) == 50_000, "the rating window wins")
        var open = Self.closedState(closedAt: 1_000, rateUntil: 2_000)
        open.status = .assigned
        #expect(policy.expiresAt(open) == nil)
        #expect(policy.expiresAt(Self.closedState(closedAt: nil, rateUntil: nil)) == nil)
        #expect(RetentionPolicy.defaultHotWindowMilliseconds == 8 * 24 * 3600 * 1000, "rating window (24 h) + 7 days")
        #expect(RetentionPolicy.keys(of: "v_a.b") == ["cs:{c:v_a.b}:meta", "cs:{c:v_a.b}:log", "cs:{c:v_a.b}:dedup"])
    }

    @Test("log entries decode into rows; anything else is refused")
    func entries() {
        let frame = #"{"type":"message","conversationId":"v_a.b","seq":3,"id":"m1","from":{"id":"v_a","name":"Ann","role":"customer"},"body":"hi","contact":{"name":"Ann","email":"ann@example.com"},"ts":1700000000123}"#
        let entry = ConversationSnapshot.entry(id: "3-0", frame: frame)
        #expect(entry == .init(seq: 3, type: "message", senderID: "v_a", senderRole: "customer", body: "hi", at: 1_700_000_000_123, frame: frame))
        #expect(ConversationSnapshot.email(in: frame) == "ann@example.com")
        let closed = #"{"type":"conversation.closed","conversationId":"v_a.b","seq":4,"by":{"id":"ada","name":"Ada","role":"agent"},"ts":5}"#
        #expect(ConversationSnapshot.entry(id: "4-0", frame: closed)?.senderID == "ada")
        #expect(ConversationSnapshot.entry(id: "x-0", frame: frame) == nil, "seq must be a number")
        #expect(ConversationSnapshot.entry(id: "0-0", frame: frame) == nil, "seq starts at 1")
        #expect(ConversationSnapshot.entry(id: "5-0", frame: "not json") == nil)
        #expect(ConversationSnapshot.entry(id: "5-0", frame: #"{"no":"type"}"#) == nil)
    }

    @Test("rating hash: read when whole, ignored when not")
    func rating() {
        let rating = ConversationSnapshot.rating(["score": "4", "comment": "ok", "ratedAt": "10", "updatedAt": "20", "agent": "", "team": "billing"])
        #expect(rating == .init(score: 4, comment: "ok", ratedAt: 10, updatedAt: 20, agent: nil, team: "billing"))
        #expect(ConversationSnapshot.rating(["score": "9", "ratedAt": "10"]) == nil)
        #expect(ConversationSnapshot.rating([:]) == nil)
    }

    @Test("PostgreSQL errors: data and constraint classes are the entry's fault, the rest is retried")
    func failureClasses() {
        #expect(ArchiveFailure.isEntryFailure(sqlState: "22P02"))
        #expect(ArchiveFailure.isEntryFailure(sqlState: "23505"))
        #expect(!ArchiveFailure.isEntryFailure(sqlState: "08006"), "connection failure")
        #expect(!ArchiveFailure.isEntryFailure(sqlState: "40P01"), "deadlock")
        #expect(!ArchiveFailure.isEntryFailure(sqlState: "57P01"), "admin shutdown")
        #expect(!ArchiveFailure.isEntryFailure(sqlState: "42501"), "missing privilege: the operator fixes it")
        #expect(ArchiveFailure.entryReason(MalformedConversation(reason: "x")) == "malformed_conversation: x")
        #expect(ArchiveFailure.entryReason(CancellationError()) == nil)
    }

    @Test("database URLs")
    func urls() throws {
        let url = try PostgresURL("postgres://cs_archiver:p%40ss@db.internal:6432/cs?sslmode=require")
        #expect(url.user == "cs_archiver" && url.password == "p@ss" && url.host == "db.internal" && url.port == 6432 && url.database == "cs")
        #expect(url.tlsMode == "require" && url.description == "postgres://cs_archiver@db.internal:6432/cs", "no password in logs")
        #expect(try PostgresURL("postgresql://cs@localhost/cs").port == 5432)
        for bad in ["redis://cs@h/cs", "postgres://h/cs", "postgres://cs@h", "postgres://cs@h/cs?sslmode=verify-full", "nonsense"] {
            #expect(throws: PostgresURL.Invalid.self, "\(bad)") { try PostgresURL(bad) }
        }
    }

    @Test("migrations: versions unique and increasing, every statement one statement")
    func migrations() {
        let versions = Migration.all.map(\.version)
        #expect(versions == versions.sorted() && Set(versions).count == versions.count && versions.first == 1)
        for migration in Migration.all {
            for statement in migration.statements { #expect(!statement.contains(";"), "one statement per query: \(statement.prefix(60))") }
        }
    }
}
