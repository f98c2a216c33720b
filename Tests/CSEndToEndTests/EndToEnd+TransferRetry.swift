import CSCore
import CSRedis
import CSTestSupport
import Foundation
import Logging
import Testing

/// A transfer whose owner fails between the routing script and the announcement (issue 21,
/// item 2; docs/reliability.md "Faults").
extension EndToEnd {
    /// Ada transfers to Bob while Redis refuses `XREVRANGE` (the history read that follows the
    /// routing script): the dispatcher moves the routing, then fails. Once `XREVRANGE` is allowed
    /// again the retried entry must find its own move (not `not_assigned` from the new owner):
    /// routing, the conversation record and what Bob received agree, and Bob may write.
    @Test("faults: a transfer retried after a failure behind its routing script completes")
    func transferRetriedAfterFailure() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            let (ada, customer, conversationID) = try await Self.conversationHeldByAda(cluster, scope, gateway)
            let bob = try await Self.connectStaff(scope, gateway, id: "bob")

            let redis = RedisClient(configuration: try RedisConfiguration(url: cluster.redisURL), logger: Logger(label: "transfer-retry"))
            // The processes use the default user: take XREVRANGE away from it (ACL, not DEBUG).
            _ = try await redis.send("ACL", "SETUSER", "default", "-xrevrange")
            try await ada.client.sendTransfer(id: "t-1", conversationID: conversationID, toAgent: "bob")
            // The routing script ran (routing names Bob); the history read behind it fails.
            let deadline = ContinuousClock.now + .seconds(10)
            while try await redis.send("HGET", .init(RedisKeys.assignments), .init(conversationID)).string != "bob" {
                try #require(ContinuousClock.now < deadline, "the transfer script never ran")
                try await Task.sleep(for: .milliseconds(10))
            }
            // One failed attempt or two (well below --max-attempts), then Redis allows it again.
            try await Task.sleep(for: .milliseconds(150))
            _ = try await redis.send("ACL", "SETUSER", "default", "+xrevrange")

            let transferred = try await Self.awaitFrame(bob.client, "conversation.transferred", "bob to get the transfer after the retry") {
                $0.string("conversationId") == conversationID
            }
            #expect(transferred["to"]?["id"]?.stringValue == "bob", "\(transferred)")
            try await Self.awaitFrame(customer.client, "conversation.transferred") { $0.string("conversationId") == conversationID }
            #expect(try await redis.send("HGET", .init(RedisKeys.conversation(conversationID)), "agent").string == "bob", "the record names bob")
            #expect(try await redis.send("HGET", .init(RedisKeys.assignments), .init(conversationID)).string == "bob", "routing names bob")
            try await bob.client.sendMessage(id: "b-1", body: "Bob here", conversationID: conversationID)
            try await Self.awaitMessage(customer.client, id: "b-1")
            try await Self.settle(.milliseconds(200), [ada.client, bob.client])
            #expect(!ada.client.received.contains { $0.type == "error" && $0.string("id") == "t-1" }, "\(Self.summary(ada.client.received))")
            #expect(bob.client.received(type: "error").isEmpty, "\(Self.summary(bob.client.received))")
            let dead = try await redis.send("XLEN", .init(RedisKeys.deadLetters(partition: Partitioner(count: cluster.configuration.partitions).partition(forConversation: conversationID) ?? 0)))
            #expect(dead.int == 0, "the transfer must not end in the dead letters")
            await redis.close()
        }
    }
}
