import CSCore
import CSRedis
import CSTestSupport
import Foundation
import Logging
import Testing

/// Error replies inside pipelines (issue 21, item 4; docs/reliability.md "Faults"): a write Redis
/// refuses (here WRONGTYPE, from a key of the wrong type the test plants) must not pass for done.
extension EndToEnd {
    /// The drainer assigns a waiting conversation but Redis refuses the `assigned` entry for its
    /// partition: the assignment is given back to the queue (not left for nobody to announce), and
    /// once the partition accepts writes again the agent gets `conversation.assigned`.
    @Test("faults: a drain assignment whose entry Redis refuses goes back to the queue")
    func drainAssignmentRefused() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 1)
            let customer = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (conversationID, event) = try await Self.openConversation(customer, messageID: "c-1")
            try #require(event.type == "conversation.queued", "\(event)")
            let partition = try #require(Partitioner(count: cluster.configuration.partitions).partition(forConversation: conversationID))
            let stream = RedisKeys.inbound(partition: partition)
            let redis = RedisClient(configuration: try RedisConfiguration(url: cluster.redisURL), logger: Logger(label: "drain-refused"))

            // The partition's stream becomes a string: every XADD to it answers WRONGTYPE.
            _ = try await redis.send("DEL", .init(stream))
            _ = try await redis.send("SET", .init(stream), "not a stream")
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            // Drains run at least every 500 ms; each one assigns and must give the assignment back
            // (polled: between a drain and its give-back the assignment exists for a moment).
            try await Task.sleep(for: .seconds(1.5))
            var seen = ""
            let givenBack = try await Self.eventually(.seconds(5)) {
                let assigned = try await redis.send("HGET", .init(RedisKeys.assignments), .init(conversationID)).string
                let queued = try await redis.send("HGET", .init(RedisKeys.queued), .init(conversationID)).string
                let load = try await redis.send("HGET", .init(RedisKeys.agentsLoad), "ada").string
                seen = "assigned \(assigned ?? "-"), queued \(queued ?? "-"), ada's load \(load ?? "-")"
                return assigned == nil && queued == "default" && load == "0"
            }
            #expect(givenBack, "routing keeps an assignment nobody was told about: \(seen)")
            #expect(!ada.client.received.contains { $0.type == "conversation.assigned" }, "nothing could be announced yet")

            _ = try await redis.send("DEL", .init(stream))
            let announced = try await Self.awaitFrame(ada.client, "conversation.assigned", timeout: .seconds(20), "ada to be told") {
                $0.string("conversationId") == conversationID
            }
            #expect(announced["agent"]?["id"]?.stringValue == "ada", "\(announced)")
            try await Self.awaitFrame(customer.client, "conversation.assigned") { $0.string("conversationId") == conversationID }
            #expect(try await redis.send("HGET", .init(RedisKeys.conversation(conversationID)), "agent").string == "ada")
            await redis.close()
        }
    }

    /// The notifier's writes are refused: first the index (store), then the `all` inbox
    /// (delivery). The request stays unacknowledged instead of passing for done, and once the
    /// keys are repaired the notification is listed and in the inbox.
    @Test("faults: a notification whose store or inbox write Redis refuses is not acknowledged")
    func notificationWritesRefused() async throws {
        try await Self.withNotificationSystem(gateways: 1, notifiers: 1) { cluster, _ in
            let gateway = cluster.gateways[0]
            let redis = RedisClient(configuration: try RedisConfiguration(url: cluster.redisURL), logger: Logger(label: "notify-refused"))
            func pending() async throws -> Int {
                let summary = try await redis.send("XPENDING", .init(RedisKeys.notifyStream), .init(RedisKeys.notifierGroup))
                return summary.array?.first?.int ?? 0
            }
            // False while the key is the planted string (ZSCORE answers WRONGTYPE).
            func listed(_ id: String) async -> Bool {
                (try? await redis.send("ZSCORE", .init(RedisKeys.notificationIndex), .init(id)))?.string != nil
            }
            func inInbox(_ id: String) async -> Bool {
                (try? await redis.send("ZSCORE", .init(RedisKeys.notificationInbox("all")), .init(id)))?.string != nil
            }

            for (broken, what) in [(RedisKeys.notificationIndex, "index"), (RedisKeys.notificationInbox("all"), "inbox")] {
                _ = try await redis.send("DEL", .init(broken))
                _ = try await redis.send("SET", .init(broken), "not a sorted set")
                let id = try #require(try await Self.postNotification(gateway, ["audience": "all", "title": "T", "body": .string("b-\(what)")])["id"]?.stringValue)
                try await Task.sleep(for: .seconds(1.5))
                #expect(try await pending() >= 1, "\(what) refused: the request was acknowledged anyway")
                #expect(await !inInbox(id), "\(what) refused: must not count as delivered")
                _ = try await redis.send("DEL", .init(broken))
                let repaired = try await Self.eventually(.seconds(15)) {
                    let isListed = await listed(id)
                    let inbox = await inInbox(id)
                    return isListed && inbox
                }
                #expect(repaired, "\(what): stored and in the inbox after the repair")
                #expect(try await Self.eventually(.seconds(5)) { try await pending() == 0 }, "\(what): acknowledged after the repair")
            }
            await redis.close()
        }
    }
}
