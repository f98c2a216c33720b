import CSArchive
import CSCore
import CSTestSupport
import Foundation
import Testing

/// The PostgreSQL archive (docs/architecture.md "Hot and cold: the archive", docs/operations.md
/// "The archive") with real processes, a real Redis and a real PostgreSQL.
extension EndToEnd {
    @Test("archive: closed conversations land in PostgreSQL once each, replays change nothing, Redis keys expire only once archived, bad entries are dead letters")
    func archiveFlow() async throws {
        try await Self.withArchiveSystem(dispatcherArguments: ["--rating-window-seconds", "60"]) { cluster, scope, pg in
            let gateway = cluster.gateways[0]
            // Schema by the owner, then the documented least-privilege role runs the archiver.
            let first = try await cluster.adminDatabase(["db", "migrate"], databaseURL: pg.url)
            #expect(first.contains("applied 1"), "\(first)")
            let again = try await cluster.adminDatabase(["db", "migrate"], databaseURL: pg.url)
            #expect(again.contains("up to date"), "\(again)")
            #expect(try await pg.int("SELECT count(*) FROM cs_schema_migrations") == Migration.all.count, "one row per migration")
            try await Self.createArchiverRole(pg)
            let archiverURL = pg.url(user: "cs_archiver", password: Self.archiverPassword)
            // Two archivers share the stream (one consumer group): still once each.
            for id in ["a-1", "a-2"] {
                try cluster.startArchiver(id: id, databaseURL: archiverURL, extraArguments: ["--migrate", "false", "--hot-window-seconds", "3600"])
            }

            // Three conversations closed; one left open.
            var closed: [String] = []
            for name in ["Ann", "Ben", "Cid"] { closed.append(try await Self.chatAndClose(scope, gateway, name: name, messages: 2)) }
            let dan = try await Self.connectCustomer(scope, gateway, name: "Dan")
            let (open, _) = try await Self.openConversation(dan, messageID: "dan-0")
            let entries = try await Self.committedEntries(cluster, closed)
            try await Self.awaitCount(pg, "SELECT count(*) FROM cs_conversations", equals: 3)
            try await Self.awaitCount(pg, "SELECT count(*) FROM cs_entries", equals: entries)
            #expect(try await pg.int("SELECT count(*) FROM cs_conversations WHERE id = '\(open)'") == 0, "an open conversation is not archived")
            let row = try await pg.psql("SELECT customer_name, status, last_seq FROM cs_conversations WHERE id = '\(closed[0])'")
            #expect(row == "Ann|closed|\(entries / 3)", "\(row)")
            let body = try await pg.psql("SELECT body FROM cs_entries WHERE conversation_id = '\(closed[1])' AND sender_role = 'customer' ORDER BY seq LIMIT 1")
            #expect(body == "first words of Ben", "\(body)")
            #expect(try await pg.int("SELECT count(*) FROM cs_contacts") == 3)

            // Retention: archived keys expire in about the hot window (never before rateUntil); the open one never.
            for id in closed {
                for key in [RedisKeys.conversation(id), RedisKeys.conversationLog(id)] {
                    let ttl = Int(try await cluster.redisCommand(["TTL", key]).first ?? "") ?? -9
                    #expect((3_500...3_600).contains(ttl), "\(key) TTL \(ttl)")
                }
            }
            #expect(try await cluster.redisCommand(["TTL", RedisKeys.conversation(open)]).first == "-1", "an open conversation never expires")

            // A replay of the same stream entry (and of a `rated` one) changes nothing.
            let archived = cluster.archiverLogLines(containing: "conversation archived").count
            for id in closed { _ = try await cluster.redisCommand(["XADD", RedisKeys.finishedConversations, "*", "k", "closed", "c", id, "at", "1"]) }
            try await Self.awaitArchiveLog(cluster, count: archived + 3)
            #expect(try await pg.int("SELECT count(*) FROM cs_conversations") == 3)
            #expect(try await pg.int("SELECT count(*) FROM cs_entries") == entries)
            #expect(try await pg.int("SELECT count(*) FROM cs_handlers") == 0, "no agent handled these")

            // Malformed entries and an unknown conversation go to the dead letters; the stream flows on.
            _ = try await cluster.redisCommand(["XADD", RedisKeys.finishedConversations, "*", "k", "closed", "c", "bad:id"])
            _ = try await cluster.redisCommand(["XADD", RedisKeys.finishedConversations, "*", "x", "y"])
            _ = try await cluster.redisCommand(["XADD", RedisKeys.finishedConversations, "*", "k", "closed", "c", "v_nobody000000.zzzzzzzz"])
            closed.append(try await Self.chatAndClose(scope, gateway, name: "Eve", messages: 1))
            try await Self.awaitCount(pg, "SELECT count(*) FROM cs_conversations", equals: 4)
            let dead = try await cluster.redisCommand(["XRANGE", RedisKeys.archiveDeadLetters, "-", "+"]).joined(separator: "\n")
            #expect(try await cluster.redisCommand(["XLEN", RedisKeys.archiveDeadLetters]).first == "3", "\(dead)")
            #expect(dead.components(separatedBy: "malformed").count - 1 == 2 && dead.contains("unknown_conversation"), "\(dead)")
            try await Self.awaitPendingZero(cluster)

            // An agent's conversation, rated and re-rated: handlers, agent, and the latest rating.
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 2)
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let fay = try await Self.connectCustomer(scope, gateway, name: "Fay")
            let (rated, event) = try await Self.openConversation(fay, messageID: "fay-0")
            try #require(event.type == "conversation.assigned", "\(event)")
            try await ada.client.sendMessage(id: "ada-1", body: "Hello Fay", conversationID: rated)
            try await ada.client.sendClose(id: "ada-close", conversationID: rated)
            _ = try await Self.awaitFrame(fay.client, "conversation.closed")
            closed.append(rated)
            try await Self.awaitCount(pg, "SELECT count(*) FROM cs_handlers WHERE conversation_id = '\(rated)' AND agent_id = 'ada'", equals: 1)
            #expect(try await pg.psql("SELECT agent_id FROM cs_conversations WHERE id = '\(rated)'") == "ada")
            _ = try await Self.rate(fay.client, id: "fay-r1", conversationID: rated, score: 4, comment: "good")
            try await Self.awaitCount(pg, "SELECT count(*) FROM cs_ratings WHERE conversation_id = '\(rated)' AND score = 4", equals: 1)
            _ = try await Self.rate(fay.client, id: "fay-r2", conversationID: rated, score: 2, comment: "changed my mind")
            try await Self.awaitCount(pg, "SELECT count(*) FROM cs_ratings WHERE conversation_id = '\(rated)' AND score = 2 AND comment = 'changed my mind'", equals: 1)
            #expect(try await pg.int("SELECT count(*) FROM cs_ratings") == 1)

            // The role has only what it needs.
            await #expect(throws: (any Error).self) {
                try await pg.psql("DELETE FROM cs_entries", user: "cs_archiver", password: Self.archiverPassword)
            }
            await #expect(throws: (any Error).self) {
                try await pg.psql("CREATE TABLE sneaky (x int)", user: "cs_archiver", password: Self.archiverPassword)
            }
            #expect(try await pg.int("SELECT count(*) FROM cs_entries") == entries + Self.committedEntries(cluster, [closed[3], closed[4]]))
        }
    }

    /// Waits until the archivers logged `count` archived conversations in all.
    static func awaitArchiveLog(_ cluster: Cluster, count: Int, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while cluster.archiverLogLines(containing: "conversation archived").count < count {
            guard ContinuousClock.now < deadline else {
                throw TimeLimitExceeded(waitingFor: "\(count) archived log lines", limit: timeout)
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    static func awaitPendingZero(_ cluster: Cluster, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await Self.archivePending(cluster) != 0 {
            guard ContinuousClock.now < deadline else { throw TimeLimitExceeded(waitingFor: "no pending archive entries", limit: timeout) }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
