import CSCore
import CSTestSupport
import Foundation
import Testing

/// The archive under faults (docs/reliability.md, "The archive"): PostgreSQL down, an archiver
/// killed in the middle of a transaction.
extension EndToEnd {
    @Test("archive faults: PostgreSQL down → chat goes on, nothing expires, archiving catches up; kill -9 mid-transaction → nothing lost, nothing doubled")
    func archiveFaults() async throws {
        try await Self.withArchiveSystem { cluster, scope, pg in
            let gateway = cluster.gateways[0]
            // A short transaction limit: the outage below outlasts it, so rounds fail and are retried.
            try cluster.startArchiver(
                id: "a-1", databaseURL: pg.url, extraArguments: ["--claim-idle-ms", "1000", "--batch", "5", "--transaction-timeout-ms", "1500"])
            var closed = [try await Self.chatAndClose(scope, gateway, name: "Ann")]
            try await Self.awaitCount(pg, "SELECT count(*) FROM cs_conversations", equals: 1)

            // PostgreSQL stops: chat keeps working (the close frames above and here arrive), and
            // nothing is set to expire while it is not archived.
            try await pg.stop()
            for name in ["Ben", "Cid", "Dot"] { closed.append(try await Self.chatAndClose(scope, gateway, name: name)) }
            try await Task.sleep(for: .seconds(5))
            for id in closed.dropFirst() {
                #expect(try await cluster.redisCommand(["TTL", RedisKeys.conversation(id)]).first == "-1", "not archived: no expiry")
            }
            #expect(cluster.archiverLogLines(containing: "archiver round failed").count >= 1, "the outage outlasted a transaction limit")
            try await pg.start()
            try await Self.awaitCount(pg, "SELECT count(*) FROM cs_conversations", equals: 4, timeout: .seconds(60))
            try await Self.awaitCount(pg, "SELECT count(*) FROM cs_entries", equals: try await Self.committedEntries(cluster, closed))
            let ttl = Int(try await cluster.redisCommand(["TTL", RedisKeys.conversation(closed[3])]).first ?? "") ?? -9
            #expect(ttl > 0, "archived after the outage: expiry set (\(ttl))")

            // kill -9 in the middle of a transaction: a lock held elsewhere makes the archiver wait
            // inside its transaction (cs_contacts is written last), then it dies there.
            await cluster.kill(cluster.archivers[0])
            let batch = try await (0..<12).asyncMapSerial { i in try await Self.chatAndClose(scope, gateway, name: "K\(i)", messages: 1) }
            closed += batch
            let locker = try cluster.launcher.launch(
                at: URL(fileURLWithPath: "/usr/bin/psql"), name: "psql-lock",
                arguments: ["-h", "127.0.0.1", "-p", String(pg.port), "-U", pg.superuser, "-d", pg.database, "-X", "-c",
                            "BEGIN; LOCK TABLE cs_contacts IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;"])
            try await Self.awaitCount(pg, "SELECT count(*) FROM pg_locks WHERE relation = 'cs_contacts'::regclass AND granted AND mode = 'AccessExclusiveLock'", equals: 1)
            let victim = try cluster.startArchiver(id: "a-2", databaseURL: pg.url, extraArguments: ["--claim-idle-ms", "1000", "--batch", "5"])
            // Wait until it is blocked inside its transaction (its conversation and entries written).
            try await Self.awaitCount(pg, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%cs_contacts%'", equals: 1)
            #expect(try await Self.archivePending(cluster) > 0, "read, not acknowledged")
            await cluster.kill(victim)
            _ = try? await locker.waitUntilExit(timeout: .seconds(20))
            #expect(try await pg.int("SELECT count(*) FROM cs_conversations") == 4, "the killed transaction left nothing")

            try cluster.startArchiver(id: "a-3", databaseURL: pg.url, extraArguments: ["--claim-idle-ms", "1000", "--batch", "5"])
            try await Self.awaitCount(pg, "SELECT count(*) FROM cs_conversations", equals: closed.count, timeout: .seconds(60))
            let expected = try await Self.committedEntries(cluster, closed)
            try await Self.awaitCount(pg, "SELECT count(*) FROM cs_entries", equals: expected)
            try await Self.awaitPendingZero(cluster)
            #expect(cluster.archiverLogLines(containing: "took over archive work").count >= 1, "a-3 claimed what a-2 left")
            #expect(try await pg.int("SELECT count(DISTINCT conversation_id) FROM cs_entries") == closed.count)
        }
    }
}

extension Sequence where Element: Sendable {
    /// Maps in order, one element at a time.
    func asyncMapSerial<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
