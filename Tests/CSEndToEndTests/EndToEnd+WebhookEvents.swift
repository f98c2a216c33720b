import CSCore
import CSRedis
import CSServer
import CSTestSupport
import Foundation
import Logging
import Testing

/// Webhook events as the dispatcher records them (docs/redis-keys.md "Webhooks"): only wanted
/// types, stable ids, commit order per conversation, at least once.
extension EndToEnd {
    /// Registers an endpoint straight in Redis (the registration API has tests of its own).
    static func registerWebhookEndpoint(_ redis: RedisClient, id: String, types: [WebhookEventType]) async throws {
        let endpoint = WebhookEndpoint(
            id: id, url: "http://127.0.0.1:9/hook", types: types, secret: WebhookEndpoint.newSecret(), createdAt: 0, createdBy: "test")
        _ = try await redis.send("HSET", .init(RedisKeys.webhookEndpoints), .init(id), .init(endpoint.json))
    }

    /// Every recorded event, oldest first.
    static func webhookEvents(_ redis: RedisClient) async throws -> [WebhookEvent] {
        let reply = try await redis.send("XRANGE", .init(RedisKeys.webhookEvents), "-", "+")
        return try (reply.array ?? []).map { entry in
            try #require(WebhookEvent(fields: entry.array?.last?.fieldMap ?? [:]), "undecodable event entry \(entry)")
        }
    }

    /// Dispatchers read the registrations every 2 s: wait a little longer.
    static func waitForWebhookRefresh() async throws { try await Task.sleep(for: .milliseconds(2_600)) }

    @Test("webhook events: none without a wanting endpoint, then wanted types only, stable ids, commit order")
    func webhookEventsRecordedInOrder() async throws {
        try await Self.withSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            let redis = RedisClient(configuration: try RedisConfiguration(url: cluster.redisURL), logger: Logger(label: "webhook-events"))
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 2)
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")

            // Nobody wants anything: a whole conversation records no event (the stream does not exist).
            let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (annConversation, _) = try await Self.openConversation(ann, messageID: "ann-1")
            try await ada.client.sendMessage(id: "ada-1", body: "Hi Ann", conversationID: annConversation)
            try await Self.awaitMessage(ann.client, id: "ada-1")
            #expect(try await redis.send("EXISTS", .init(RedisKeys.webhookEvents)).int == 0, "events recorded although nobody wants them")

            try await Self.registerWebhookEndpoint(redis, id: "wh_test1", types: [.opened, .assigned, .message, .closed, .rating])
            try await Self.waitForWebhookRefresh()

            // Bea's conversation, from its opening to its rating; Ada answers in a burst (batched appends).
            let bea = try await Self.connectCustomer(scope, gateway, name: "Bea")
            let (beaConversation, _) = try await Self.openConversation(bea, messageID: "bea-1", body: "Hello \"webhooks\"")
            for n in 1...20 { try await ada.client.sendMessage(id: "ada-b\(n)", body: "answer \(n)", conversationID: beaConversation) }
            try await ann.client.sendMessage(id: "ann-2", body: "still there?", conversationID: annConversation)
            try await Self.awaitMessage(bea.client, id: "ada-b20")
            try await Self.awaitMessage(ada.client, id: "ann-2")
            try await bea.client.sendClose(id: "bea-close", conversationID: beaConversation)
            try await Self.awaitFrame(bea.client, "conversation.closed")
            let rating = try await Self.rate(bea.client, id: "r-1", conversationID: beaConversation, score: 5)
            #expect(rating.type == "rating", "\(rating)")
            // Dee takes Ada's second slot; Cy waits in the queue: `opened` is wanted, `conversation.queued` is not.
            let dee = try await Self.connectCustomer(scope, gateway, name: "Dee")
            let (_, deeEvent) = try await Self.openConversation(dee, messageID: "dee-1")
            #expect(deeEvent.type == "conversation.assigned", "\(deeEvent)")
            let cy = try await Self.connectCustomer(scope, gateway, name: "Cy")
            let (cyConversation, cyEvent) = try await Self.openConversation(cy, messageID: "cy-1")
            #expect(cyEvent.type == "conversation.queued", "\(cyEvent)")

            let deadline = ContinuousClock.now + .seconds(10)
            var events: [WebhookEvent] = []
            repeat {
                events = try await Self.webhookEvents(redis)
                if events.contains(where: { $0.id == cyConversation + ":opened" }) && events.contains(where: { $0.type == .rating }) { break }
                try await Task.sleep(for: .milliseconds(100))
            } while ContinuousClock.now < deadline

            // Bea: opened, assigned (seq 1), her message (2), Ada's 20 (3...22), closed (23), rating.
            let bev = events.filter { $0.conversationID == beaConversation }
            let expectedIDs = [beaConversation + ":opened"] + (1...23).map { "\(beaConversation):\($0)" }
            #expect(bev.map(\.id).prefix(24) == expectedIDs[...], "ids and order: \(bev.map(\.id))")
            #expect(bev.map(\.type).prefix(3) == [.opened, .assigned, .message], "\(bev.map(\.type))")
            #expect(bev.count == 25 && bev[23].type == .closed && bev[24].type == .rating, "\(bev.map(\.type))")
            #expect(bev.last?.id.hasPrefix(beaConversation + ":rating:") == true, "\(bev.last?.id ?? "")")
            for event in bev {
                let body = try #require(JSONValue.parse(event.body), "body is JSON: \(event.body)")
                #expect(body["id"]?.stringValue == event.id && body["type"]?.stringValue == event.type.rawValue, "\(event.body)")
                #expect(body["conversationId"]?.stringValue == beaConversation, "\(event.body)")
                if event.type == .message || event.type == .assigned || event.type == .closed {
                    #expect(body["seq"]?.intValue == Int(event.id.split(separator: ":").last!), "\(event.body)")
                    #expect(body["data"]?["seq"]?.intValue == body["seq"]?.intValue, "data is the committed frame: \(event.body)")
                    #expect(body["data"]?["type"]?.stringValue == event.type.rawValue, "\(event.body)")
                }
            }
            #expect(JSONValue.parse(bev[2].body)?["data"]?["body"]?.stringValue == "Hello \"webhooks\"", "\(bev[2].body)")
            #expect(JSONValue.parse(bev[24].body)?["data"]?["score"]?.intValue == 5, "\(bev[24].body)")
            #expect(JSONValue.parse(bev[0].body)?["data"]?["customer"]?["name"]?.stringValue == "Bea", "\(bev[0].body)")

            // Ann's conversation: only what was committed after the registration.
            let aev = events.filter { $0.conversationID == annConversation }
            #expect(aev.map(\.type) == [.message], "\(aev.map(\.id))")
            // Cy: opened only (queued is not wanted).
            #expect(events.filter { $0.conversationID == cyConversation }.map(\.type) == [.opened], "\(events.map(\.id))")
            #expect(Set(events.map(\.id)).count == events.count, "an event recorded twice without a crash: \(events.map(\.id))")
            await redis.close()
        }
    }

    @Test("webhook events: a failed recording leaves the entry unacknowledged; it is recorded when Redis takes it again")
    func webhookEventRecordedAfterFailure() async throws {
        try await Self.withSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            let redis = RedisClient(configuration: try RedisConfiguration(url: cluster.redisURL), logger: Logger(label: "webhook-retry"))
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 2)
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (conversationID, _) = try await Self.openConversation(ann, messageID: "ann-1")
            try await Self.registerWebhookEndpoint(redis, id: "wh_test2", types: [.message])
            try await Self.waitForWebhookRefresh()

            // The event stream's key holds a string: XADD fails (WRONGTYPE) after the message committed.
            _ = try await redis.send("SET", .init(RedisKeys.webhookEvents), "in the way")
            try await ada.client.sendMessage(id: "ada-1", body: "Hi", conversationID: conversationID)
            try await Self.awaitMessage(ann.client, id: "ada-1")
            try await Task.sleep(for: .milliseconds(150))
            _ = try await redis.send("DEL", .init(RedisKeys.webhookEvents))

            let deadline = ContinuousClock.now + .seconds(10)
            var events: [WebhookEvent] = []
            while events.isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
                events = try await Self.webhookEvents(redis)
            }
            #expect(events.map(\.id) == ["\(conversationID):3"], "Ada's message (seq 3: assigned, Ann's, Ada's), once: \(events.map(\.id))")
            // The retried append was deduplicated: participants saw the message once.
            try await Self.settle(.milliseconds(300), [ann.client])
            #expect(ann.client.received(type: "message").filter { $0.string("id") == "ada-1" }.count == 1)
            #expect(try await redis.send("XLEN", .init(RedisKeys.deadLetters(partition: Partitioner(count: 8).partition(forConversation: conversationID)!))).int == 0)
            await redis.close()
        }
    }
}
