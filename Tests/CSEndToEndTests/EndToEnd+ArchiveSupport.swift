import CSCore
import CSTestSupport
import Foundation
import Testing

/// Shared setup of the archive tests (docs/architecture.md, "Hot and cold: the archive").
extension EndToEnd {
    static let archiverPassword = "archiver-e2e-0123456789"

    /// A real PostgreSQL and the usual system (one gateway, one dispatcher) around `body`.
    static func withArchiveSystem<R: Sendable>(
        testName: String = #function, dispatcherArguments: [String] = [],
        _ body: (Cluster, ChatClientScope, PostgresServer) async throws -> R
    ) async throws -> R {
        try await PostgresServer.with { pg in
            try await Self.withSystem(testName: testName, dispatcherArguments: dispatcherArguments) { cluster, scope in
                try await body(cluster, scope, pg)
            }
        }
    }

    /// The documented archiver role (deploy/postgres/archiver-role.sql), created by the superuser.
    static func createArchiverRole(_ pg: PostgresServer) async throws {
        let file = BuildProducts.packageRoot.appendingPathComponent("deploy/postgres/archiver-role.sql")
        try await pg.psql("", variables: ["archiver_password": archiverPassword], file: file)
    }

    /// A customer opens a conversation (it waits: no agent), says `messages` more things and closes it.
    /// Returns the conversation id.
    @discardableResult
    static func chatAndClose(_ scope: ChatClientScope, _ gateway: GatewayHandle, name: String, messages: Int = 2) async throws -> String {
        let customer = try await connectCustomer(scope, gateway, name: name)
        let (conversationID, _) = try await openConversation(customer, messageID: "\(name)-0", body: "first words of \(name)")
        for i in 1...max(messages, 1) {
            try await customer.client.sendMessage(id: "\(name)-\(i)", body: "message \(i) of \(name)", conversationID: conversationID)
        }
        try await customer.client.sendClose(id: "\(name)-close", conversationID: conversationID)
        _ = try await awaitFrame(customer.client, "conversation.closed")
        return conversationID
    }

    /// Polls `sql` (an integer) until it equals `expected`.
    static func awaitCount(_ pg: PostgresServer, _ sql: String, equals expected: Int, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = -1
        while ContinuousClock.now < deadline {
            last = (try? await pg.int(sql)) ?? -1
            if last == expected { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("\(sql): expected \(expected), still \(last) after \(timeout)")
        throw TimeLimitExceeded(waitingFor: "\(sql) = \(expected)", limit: timeout, detail: "last \(last)")
    }

    /// The meta `seq` of each conversation: the number of entries it committed.
    static func committedEntries(_ cluster: Cluster, _ ids: [String]) async throws -> Int {
        var total = 0
        for id in ids { total += Int(try await cluster.redisCommand(["HGET", RedisKeys.conversation(id), "seq"]).first ?? "") ?? 0 }
        return total
    }

    /// Pending (read, not acknowledged) entries of the archivers' group.
    static func archivePending(_ cluster: Cluster) async throws -> Int {
        Int(try await cluster.redisCommand(["XPENDING", RedisKeys.finishedConversations, RedisKeys.archiverGroup]).first ?? "") ?? -1
    }
}
