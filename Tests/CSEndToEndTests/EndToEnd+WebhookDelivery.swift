import CSCore
import CSRedis
import CSServer
import CSTestSupport
import CSWebhooks
import Foundation
import Logging
import Testing

/// `cs-webhooks` against a real HTTP receiver started by the test (Tests/webhooks/receiver.py):
/// at least once, in order per conversation, signed; receiver down, failing, slow; kill -9.
extension EndToEnd {
    /// Retries fast, so that tests see several attempts in seconds.
    static let fastWebhookArguments = ["--allow-private-targets", "--retry-base-ms", "100", "--retry-cap-ms", "400", "--lease-ms", "2000"]

    struct WebhookRig {
        let cluster: Cluster
        let receiver: WebhookReceiver
        let supervisorToken: String
        let redis: RedisClient

        /// Registers an endpoint on the receiver's `path`; returns its id and secret.
        func register(_ path: String, types: [String] = ["*"]) async throws -> (id: String, secret: String) {
            let added = try await EndToEnd.registerWebhook(cluster.gateways[0].http, token: supervisorToken, url: receiver.url(path), types: types)
            try #require(added.status == 201, "\(added)")
            return (try #require(added.json?["id"]?.stringValue), try #require(added.json?["secret"]?.stringValue))
        }

        /// Every event recorded so far, oldest first (the ground truth of what must arrive).
        func recordedEvents() async throws -> [WebhookEvent] { try await EndToEnd.webhookEvents(redis) }

        /// The recorded events once no more are being written: a frame reaches its clients
        /// (published inside the append) before the dispatcher records its event (after the
        /// append's reply), so the last events can trail the last message a client sees.
        func settledEvents() async throws -> [WebhookEvent] {
            var events = try await recordedEvents()
            while true {
                try await Task.sleep(for: .milliseconds(300))
                let again = try await recordedEvents()
                if again.count == events.count { return again }
                events = again
            }
        }
    }

    /// A system whose gateway accepts loopback endpoints, a receiver, a supervisor and an agent
    /// (`ada`, 5 conversations at once); no `cs-webhooks` yet (tests start theirs).
    static func withWebhookRig(testName: String = #function, _ body: (WebhookRig, ChatClientScope) async throws -> Void) async throws {
        try await withSystem(testName: testName, gatewayArguments: ["--allow-private-webhook-targets"]) { cluster, scope in
            let receiver = try WebhookReceiver(launcher: cluster.launcher)
            try await receiver.start()
            let redis = RedisClient(configuration: try RedisConfiguration(url: cluster.redisURL), logger: Logger(label: "webhook-rig"))
            do {
                try await cluster.addAgent(id: "sue", name: "Sue", password: agentPassword, max: 1, role: "supervisor")
                try await cluster.addAgent(id: "ada", name: "Ada", password: agentPassword, max: 5)
                let sue = try await cluster.gateways[0].http.agentLogin(agentID: "sue", password: agentPassword).token
                try await body(WebhookRig(cluster: cluster, receiver: receiver, supervisorToken: sue, redis: redis), scope)
            } catch {
                await receiver.stop()
                await redis.close()
                throw error
            }
            await receiver.stop()
            await redis.close()
        }
    }

    /// Checks the receiver's log against the recorded events of `path`'s endpoint:
    /// every event (of the wanted conversations) got a 2xx; per conversation, no request for an
    /// event came before the previous event's 2xx (strict order); every signature verifies.
    static func expectDeliveredInOrder(
        _ requests: [WebhookReceiver.Request], path: String, events: [WebhookEvent], secret: String, _ label: String
    ) {
        let mine = requests.filter { $0.path == path }
        var delivered = Set<String>()
        var byConversation: [String: [String]] = [:]
        for event in events { byConversation[event.conversationID, default: []].append(event.id) }
        let position = Dictionary(events.enumerated().map { ($1.id, $0) }, uniquingKeysWith: { a, _ in a })
        for request in mine {
            guard let index = position[request.eventID], let conversation = events[index].conversationID as String? else {
                Issue.record("\(label): a request for an unknown event \(request.eventID)")
                continue
            }
            // Every earlier event of the conversation was delivered before this request.
            for earlier in byConversation[conversation] ?? [] where position[earlier]! < index {
                if !delivered.contains(earlier) {
                    Issue.record("\(label): \(request.eventID) was sent (request \(request.n)) before \(earlier) was delivered")
                }
            }
            if (200..<300).contains(request.status) { delivered.insert(request.eventID) }
            let timestamp = Int64(request.timestamp) ?? 0
            #expect(
                WebhookSignature.verify(
                    secret: secret, timestamp: timestamp, body: Array(request.body.utf8), headerValue: request.signature,
                    now: Int64(Date().timeIntervalSince1970)),
                "\(label): signature of request \(request.n) does not verify")
            #expect(JSONValue.parse(request.body)?["id"]?.stringValue == request.eventID, "\(label): body and header disagree")
        }
        let missing = events.map(\.id).filter { !delivered.contains($0) }
        #expect(missing.isEmpty, "\(label): never delivered: \(missing.prefix(10))")
    }

    /// Customers open conversations with Ada and both sides write `messages` messages each.
    static func chat(_ rig: WebhookRig, _ scope: ChatClientScope, customers: [String], messages: Int, agent: ChatClient) async throws {
        let gateway = rig.cluster.gateways[0]
        for name in customers {
            let customer = try await connectCustomer(scope, gateway, name: name)
            let (conversationID, _) = try await openConversation(customer, messageID: "\(name)-0")
            for n in 1...messages {
                try await customer.client.sendMessage(id: "\(name)-\(n)", body: "\(name) says \(n)", conversationID: conversationID)
                try await agent.sendMessage(id: "ada-\(name)-\(n)", body: "Ada answers \(n)", conversationID: conversationID)
            }
            try await awaitMessage(customer.client, id: "ada-\(name)-\(messages)")
        }
    }

    @Test("webhooks: every event delivered once acknowledged, in order per conversation, signed; 500s, receiver down, 2xx twice")
    func webhookDeliveryInOrder() async throws {
        try await Self.withWebhookRig { rig, scope in
            let flaky = try await rig.register("/fail3/flaky")
            let steady = try await rig.register("/ok/steady", types: ["message"])
            // Answers 200 with 5 MB: only the first 64 KiB are read, and it counts as delivered.
            _ = try await rig.register("/big/b", types: ["conversation.opened"])
            try await Self.waitForWebhookRefresh()
            try rig.cluster.startWebhooks(id: "w1", extraArguments: Self.fastWebhookArguments)
            let ada = try await Self.connectStaff(scope, rig.cluster.gateways[0], id: "ada")
            try await Self.chat(rig, scope, customers: ["Ann", "Bea", "Cy"], messages: 5, agent: ada.client)

            // Down for a while: deliveries fail (connection refused) and wait; nothing is lost.
            try await rig.receiver.waitUntil("the first deliveries") { $0.count > 5 }
            await rig.receiver.stop()
            try await Self.chat(rig, scope, customers: ["Dee"], messages: 3, agent: ada.client)
            try await Task.sleep(for: .seconds(2))
            try await rig.receiver.start()

            let events = try await rig.settledEvents()
            let minimum = 4 * 2 + 3 * 11 + 7
            #expect(events.count >= minimum, "opened, assigned and messages of 4 conversations: \(events.count)")
            let messages = events.filter { $0.type == .message }
            let requests = try await rig.receiver.waitUntil("every event at both endpoints", timeout: .seconds(90)) { requests in
                let ok = Set(requests.filter { (200..<300).contains($0.status) }.map { $0.path + " " + $0.eventID })
                return events.allSatisfy { ok.contains("/fail3/flaky " + $0.id) } && messages.allSatisfy { ok.contains("/ok/steady " + $0.id) }
            }
            Self.expectDeliveredInOrder(requests, path: "/fail3/flaky", events: events, secret: flaky.secret, "flaky")
            Self.expectDeliveredInOrder(requests, path: "/ok/steady", events: messages, secret: steady.secret, "steady")
            // /fail3 answers 500 three times per receiver run (it ran twice): each was retried.
            #expect(requests.filter { $0.path == "/fail3/flaky" && $0.status == 500 }.count == 6, "the 500s were retried")
            #expect(!requests.contains { $0.path == "/ok/steady" && JSONValue.parse($0.body)?["type"]?.stringValue != "message" }, "only wanted types")
            let opened = Set(events.filter { $0.type == .opened }.map(\.id))
            let big = try await rig.receiver.waitUntil("the opened events at /big") { requests in
                opened.isSubset(of: Set(requests.filter { $0.path == "/big/b" }.map(\.eventID)))
            }
            #expect(big.filter { $0.path == "/big/b" }.count == opened.count, "a large answer is a delivery, not retried")
            // Acknowledged once delivered (with the next read, within a second): nothing left pending.
            var pending = -1
            let ackDeadline = ContinuousClock.now + .seconds(10)
            while pending != 0 && ContinuousClock.now < ackDeadline {
                try await Task.sleep(for: .milliseconds(200))
                pending = try await rig.redis.send("XPENDING", .init(RedisKeys.webhookEvents), .init(RedisKeys.webhookGroup)).array?.first?.int ?? -1
            }
            #expect(pending == 0, "entries left unacknowledged: \(pending)")
            // Answered 2xx twice (a replayed event): the receiver sees the same id twice and can deduplicate.
            let replayed = try #require(messages.first)
            _ = try await rig.redis.send(["XADD", .init(RedisKeys.webhookEvents), "*"] + (replayed.fields + ["to", steady.id]).map { .init($0) })
            let twice = try await rig.receiver.waitUntil("the replayed event") { $0.filter { $0.path == "/ok/steady" && $0.eventID == replayed.id }.count == 2 }
            #expect(twice.filter { $0.path == "/ok/steady" && $0.eventID == replayed.id && $0.status == 200 }.count == 2, "the same id, delivered twice")
            #expect(twice.filter { $0.path == "/fail3/flaky" && $0.eventID == replayed.id && $0.status == 200 }.count == 1, "a replay goes to its endpoint only")
        }
    }

    @Test("webhooks: kill -9 of cs-webhooks mid-delivery; a standby takes over, the killed one restarts; every event arrives, in order")
    func webhookDeliveryAfterKill() async throws {
        try await Self.withWebhookRig { rig, scope in
            let slow = try await rig.register("/slow400/k")
            try await Self.waitForWebhookRefresh()
            let first = try rig.cluster.startWebhooks(id: "w1", extraArguments: Self.fastWebhookArguments)
            try await Task.sleep(for: .milliseconds(1_500))
            try rig.cluster.startWebhooks(id: "w2", extraArguments: Self.fastWebhookArguments)
            let ada = try await Self.connectStaff(scope, rig.cluster.gateways[0], id: "ada")
            try await Self.chat(rig, scope, customers: ["Ann", "Bea"], messages: 4, agent: ada.client)
            try await rig.receiver.waitUntil("a few deliveries") { $0.count >= 3 }
            // w1 holds the lease (it started first); it dies with requests in flight.
            let holder = try await rig.redis.send("GET", .init(RedisKeys.webhookLease)).string
            #expect(holder == "w1", "the first process delivers: \(holder ?? "nobody")")
            await rig.cluster.killProcess(first)
            try await Self.chat(rig, scope, customers: ["Cy"], messages: 2, agent: ada.client)
            try rig.cluster.startWebhooks(id: "w1b", extraArguments: Self.fastWebhookArguments)

            let events = try await rig.settledEvents()
            let requests = try await rig.receiver.waitUntil("every event after the kill", timeout: .seconds(120)) { requests in
                let ok = Set(requests.filter { $0.status == 200 }.map(\.eventID))
                return events.allSatisfy { ok.contains($0.id) }
            }
            Self.expectDeliveredInOrder(requests, path: "/slow400/k", events: events, secret: slow.secret, "after kill -9")
            let holderAfter = try await rig.redis.send("GET", .init(RedisKeys.webhookLease)).string
            #expect(holderAfter == "w2" || holderAfter == "w1b", "a standby took over: \(holderAfter ?? "nobody")")
        }
    }

    @Test("webhooks: loopback refused without the flag, redirects not followed, dead letters, pause when failing, replay")
    func webhookRefusalsDeadLettersAndReplay() async throws {
        try await Self.withWebhookRig { rig, scope in
            let gateway = rig.cluster.gateways[0]
            let refused = try await rig.register("/ok/refused", types: ["conversation.opened"])
            let redirect = try await rig.register("/redirect/r", types: ["conversation.opened"])
            let always = try await rig.register("/always500/d", types: ["conversation.opened"])
            let replay = try await rig.register("/ok/replay", types: ["conversation.opened"])
            try await Self.waitForWebhookRefresh()
            func deadCount(_ id: String) async throws -> Int { try await rig.redis.send("XLEN", .init(RedisKeys.webhookDeadLetters(id))).int ?? 0 }
            func listed(_ id: String) async throws -> JSONValue? {
                let list = try await gateway.http.get("/v1/webhooks", token: rig.supervisorToken)
                return list.json?["webhooks"]?.arrayValue?.first { $0["id"]?.stringValue == id }
            }

            // Without --allow-private-targets every loopback delivery is refused: nothing reaches the receiver.
            let strict = try rig.cluster.startWebhooks(id: "w1", extraArguments: ["--retry-base-ms", "100", "--retry-cap-ms", "200", "--retry-for-seconds", "1"])
            let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (annConversation, _) = try await Self.openConversation(ann, messageID: "ann-1")
            var deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                let replayDead = try await deadCount(replay.id), refusedDead = try await deadCount(refused.id)
                if replayDead > 0 && refusedDead > 0 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            let refusedDead = try await deadCount(refused.id), replayDead = try await deadCount(replay.id)
            #expect(refusedDead >= 1 && replayDead == 1, "refused deliveries end as dead letters: \(refusedDead), \(replayDead)")
            #expect(rig.receiver.requests().isEmpty, "a loopback target was posted to without the flag: \(rig.receiver.requests().map(\.path))")
            #expect(try await listed(refused.id)?["lastError"]?.stringValue?.hasPrefix("refused: url targets a loopback address") == true)
            try await rig.cluster.stopGracefully(strict)

            // With the flag: a redirect is a failure, never followed; a failing endpoint is paused.
            _ = try await gateway.http.post("/v1/webhooks/\(replay.id)/pause", json: [:], token: rig.supervisorToken)
            try await Self.waitForWebhookRefresh()
            try rig.cluster.startWebhooks(id: "w2", extraArguments: [
                "--allow-private-targets", "--retry-base-ms", "100", "--retry-cap-ms", "200", "--retry-for-seconds", "1", "--pause-after-seconds", "2",
            ])
            let bea = try await Self.connectCustomer(scope, gateway, name: "Bea")
            let (beaConversation, _) = try await Self.openConversation(bea, messageID: "bea-1")
            deadline = ContinuousClock.now + .seconds(30)
            while try await deadCount(always.id) < 2 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(200)) }
            try await Task.sleep(for: .seconds(2))
            let cy = try await Self.connectCustomer(scope, gateway, name: "Cy")
            _ = try await Self.openConversation(cy, messageID: "cy-1")
            deadline = ContinuousClock.now + .seconds(30)
            while try await listed(always.id)?["pausedReason"]?.stringValue != "failing" && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
            let alwaysListed = try await listed(always.id)
            #expect(alwaysListed?["paused"]?.boolValue == true && alwaysListed?["pausedReason"]?.stringValue == "failing", "\(alwaysListed ?? .null)")
            #expect(alwaysListed?["lastError"]?.stringValue == "HTTP 500", "\(alwaysListed ?? .null)")
            let requests = rig.receiver.requests()
            #expect(requests.contains { $0.path == "/redirect/r" && $0.status == 302 }, "\(requests.map(\.path))")
            #expect(!requests.contains { $0.path == "/ok/redirected" }, "a redirect was followed")
            #expect(try await listed(redirect.id)?["lastError"]?.stringValue == "HTTP 302")
            let dead = try await rig.cluster.admin(["webhook", "dead", "list", always.id])
            #expect(dead.contains(beaConversation + ":opened") && dead.contains("HTTP 500"), "\(dead)")

            // The paused endpoint's events went to its dead letters; resumed, they are replayed.
            #expect(!requests.contains { $0.path == "/ok/replay" }, "a paused endpoint was posted to")
            let waiting = try await deadCount(replay.id)
            #expect(waiting >= 2, "Ann's (refused) and Bea's (paused) opened events: \(waiting)")
            _ = try await rig.cluster.admin(["webhook", "resume", replay.id])
            try await Self.waitForWebhookRefresh()
            let output = try await rig.cluster.admin(["webhook", "dead", "replay", replay.id])
            #expect(output.contains("\(waiting) dead letters"), "\(output)")
            let replayed = try await rig.receiver.waitUntil("the replayed events", timeout: .seconds(30)) { requests in
                let ids = requests.filter { $0.path == "/ok/replay" && $0.status == 200 }.map(\.eventID)
                return ids.contains(annConversation + ":opened") && ids.contains(beaConversation + ":opened")
            }
            // Two conversations: two lanes, delivered concurrently (order holds within a conversation only).
            let ids = replayed.filter { $0.path == "/ok/replay" }.map(\.eventID)
            #expect(ids.filter { $0 == annConversation + ":opened" }.count == 1 && ids.filter { $0 == beaConversation + ":opened" }.count == 1, "\(ids)")
            #expect(try await deadCount(replay.id) == 0)
        }
    }
}
