import CSCore
import CSTestSupport
import Foundation
import Testing

/// Ratings (docs/protocol.md "rate", docs/api.md "Ratings") with real processes and Redis.
extension EndToEnd {
    static let ratingAdminKey = "e2e-ratings-admin-key-0123456789abcdef"

    /// Sends `rate` and returns the frame that answers it: `rating` or `error` (after the `ack`).
    static func rate(
        _ customer: ChatClient, id: String, conversationID: String, score: Int, comment: String? = nil
    ) async throws -> ReceivedFrame {
        var frame: [String: JSONValue] = ["type": "rate", "id": .string(id), "conversationId": .string(conversationID), "score": .int(score)]
        if let comment { frame["comment"] = .string(comment) }
        try await customer.send(.object(frame))
        return try await customer.waitUntil("the answer to rate \(id)", timeout: .seconds(20)) { view in
            view.log.first { ($0.type == "rating" || $0.type == "error") && $0.string("id") == id }
        }
    }

    /// The aggregate hash of `key`, read with redis-cli as an operator would.
    static func aggregateHash(_ cluster: Cluster, _ key: String) async throws -> [String: String] {
        let lines = try await cluster.redisCommand(["HGETALL", key])
        var fields: [String: String] = [:]
        for pair in stride(from: 0, to: lines.count - 1, by: 2) { fields[lines[pair]] = lines[pair + 1] }
        return fields
    }

    @Test("ratings: close, rate, change within the window, final after it; handlers, aggregates, live stats")
    func ratingFlow() async throws {
        try await Self.withSystem(
            gatewayArguments: ["--admin-key", Self.ratingAdminKey], dispatcherArguments: ["--rating-window-seconds", "4"]
        ) { cluster, scope in
            let gateway = cluster.gateways[0]
            let http = gateway.http
            for (id, name) in [("ada", "Ada"), ("bob", "Bob")] { try await cluster.addAgent(id: id, name: name, password: Self.agentPassword, max: 2) }
            try await cluster.addAgent(id: "sue", name: "Sue", password: Self.agentPassword, skills: ["supervision"], max: 1, role: "supervisor")
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (conversationID, event) = try await Self.openConversation(ann, messageID: "ann-1")
            try #require(event.type == "conversation.assigned" && event["agent"]?["id"]?.stringValue == "ada", "\(event)")
            try await ada.client.sendMessage(id: "ada-1", body: "Hi Ann", conversationID: conversationID)
            try await Self.awaitMessage(ann.client, id: "ada-1")

            // Not closed yet.
            let early = try await Self.rate(ann.client, id: "r-0", conversationID: conversationID, score: 5)
            #expect(early.type == "error" && early.string("code") == "conversation_open", "\(early)")

            // Ada hands over to Bob, who closes: Bob is credited, both are handlers.
            let bob = try await Self.connectStaff(scope, gateway, id: "bob")
            try await ada.client.sendTransfer(id: "t-1", conversationID: conversationID, toAgent: "bob")
            try await Self.awaitFrame(bob.client, "conversation.transferred")
            try await bob.client.sendClose(id: "b-close", conversationID: conversationID)
            let closed = try await Self.awaitFrame(ann.client, "conversation.closed")
            let closedAt = try #require(closed.int("ts"))
            let rateUntil = try #require(closed.int("rateUntil"), "closed frame must say until when to rate: \(closed)")
            #expect(rateUntil == closedAt + 4_000, "\(closed)")

            // The rating, a retry of the same frame, and the stored record.
            let first = try await Self.rate(ann.client, id: "r-1", conversationID: conversationID, score: 4, comment: "Quick, \"helpful\"\nthanks")
            #expect(first.type == "rating" && first.int("score") == 4 && first.string("comment") == "Quick, \"helpful\"\nthanks", "\(first)")
            #expect(first.int("rateUntil") == rateUntil && first["agent"]?["id"]?.stringValue == "bob", "\(first)")
            #expect(first["handlers"] == ["ada", "bob"], "every agent who handled it: \(first)")
            try await ann.client.send(["type": "rate", "id": "r-1", "conversationId": .string(conversationID), "score": 4, "comment": "Quick, \"helpful\"\nthanks"])
            try await Self.settle(.milliseconds(500), [ann.client])
            let acks = ann.client.received(type: "ack").filter { $0.string("id") == "r-1" }
            #expect(acks.count == 2, "a retry gets an ack of its own: \(acks)")
            #expect(ann.client.received(type: "rating").filter { $0.string("id") == "r-1" }.count == 1, "a retry is not applied again")
            let stored = try await http.get("/v1/conversations/\(conversationID)/rating", token: ann.session.token)
            #expect(stored.status == 200 && stored.json?["rating"]?["score"]?.intValue == 4 && stored.json?["rateUntil"]?.intValue == rateUntil, "\(stored)")

            let bobKey = "cs:{ratings}:agent:bob"
            var bobTotals = try await Self.aggregateHash(cluster, bobKey)
            #expect(bobTotals["count"] == "1" && bobTotals["sum"] == "4" && bobTotals["s4"] == "1" && bobTotals["avg"] == "4.00" && bobTotals["csat"] == "100.0", "\(bobTotals)")
            #expect(try await Self.aggregateHash(cluster, "cs:{ratings}:agent:ada").isEmpty, "ada handled it but is not credited")

            // A change inside the window replaces the score everywhere.
            let changed = try await Self.rate(ann.client, id: "r-2", conversationID: conversationID, score: 2, comment: "on second thought")
            #expect(changed.type == "rating" && changed.int("score") == 2 && changed.int("ratedAt") == first.int("ratedAt"), "\(changed)")
            let day = String(describing: CalendarDay(milliseconds: closedAt))
            for key in [bobKey, "\(bobKey):\(day)", "cs:{ratings}:team:default", "cs:{ratings}:team:default:\(day)", "cs:{ratings}:all", "cs:{ratings}:all:\(day)"] {
                let totals = try await Self.aggregateHash(cluster, key)
                #expect(totals["count"] == "1" && totals["sum"] == "2" && totals["s2"] == "1" && totals["s4"] == "0" && totals["csat"] == "0.0", "\(key): \(totals)")
            }

            // Refusals: someone else's conversation, staff, a bad score; then the window ends.
            let ben = try await Self.connectCustomer(scope, gateway, name: "Ben")
            try await ben.client.send(["type": "rate", "id": "x-1", "conversationId": .string(conversationID), "score": 1])
            #expect(try await Self.awaitError(ben.client, id: "x-1").string("code") == "forbidden")
            try await ada.client.send(["type": "rate", "id": "x-2", "conversationId": .string(conversationID), "score": 1])
            #expect(try await Self.awaitError(ada.client, id: "x-2").string("code") == "forbidden")
            try await ann.client.send(["type": "rate", "id": "x-3", "conversationId": .string(conversationID), "score": 7])
            #expect(try await Self.awaitError(ann.client, id: "x-3").string("code") == "invalid_field")
            let wait = rateUntil - Int(Date().timeIntervalSince1970 * 1000) + 300
            if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) }
            let late = try await Self.rate(ann.client, id: "r-3", conversationID: conversationID, score: 5)
            #expect(late.type == "error" && late.string("code") == "rating_final", "\(late)")
            bobTotals = try await Self.aggregateHash(cluster, bobKey)
            #expect(bobTotals["count"] == "1" && bobTotals["sum"] == "2", "unchanged after the window: \(bobTotals)")

            // Summaries and who may read them.
            let sue = try await http.agentLogin(agentID: "sue", password: Self.agentPassword).token
            let summary = try await http.get("/v1/ratings/summary?by=agent&from=\(day)&to=\(day)", token: sue)
            #expect(summary.status == 200, "\(summary)")
            let row = summary.json?["items"]?[0]
            #expect(summary.json?["items"]?.arrayValue?.count == 1 && row?["id"] == "bob" && row?["name"] == "Bob" && row?["count"]?.intValue == 1, "\(summary)")
            #expect(row?["average"]?.intValue == 2 && row?["csat"]?.intValue == 0 && row?["distribution"] == [0, 1, 0, 0, 0], "\(summary)")
            #expect(summary.bodyText.contains(#""average":2.00,"csat":0.0"#), "\(summary)")
            #expect(summary.json?["total"]?["count"]?.intValue == 1, "\(summary)")
            let yesterday = String(describing: CalendarDay(milliseconds: closedAt).adding(days: -1))
            let before = try await http.get("/v1/ratings/summary?by=team&from=\(yesterday)&to=\(yesterday)", token: sue)
            #expect(before.json?["items"]?[0]?["count"]?.intValue == 0 && before.json?["total"]?["count"]?.intValue == 0, "\(before)")
            let own = try await http.get("/v1/ratings/summary", token: bob.session.token)
            #expect(own.status == 200 && own.json?["items"]?.arrayValue?.count == 1 && own.json?["items"]?[0]?["id"]?.stringValue == "bob", "\(own)")
            #expect(try await http.get("/v1/ratings/summary?by=team", token: bob.session.token).status == 403)
            #expect(try await http.get("/v1/ratings/summary", token: ann.session.token).status == 403)
            #expect(try await http.get("/v1/ratings/summary", token: nil).status == 401)
            #expect(try await http.get("/v1/ratings/summary", headers: ["X-Admin-Key": Self.ratingAdminKey]).status == 200)
            #expect(try await http.get("/v1/ratings/summary?from=2026-02-30", token: sue).status == 400)
            #expect(try await http.get("/v1/conversations/\(conversationID)/rating", token: ben.session.token).status == 403)

            // Live statistics for supervisors.
            let live = try await http.get("/v1/stats/live", token: sue)
            #expect(live.status == 200, "\(live)")
            #expect(live.json?["conversations"]?["closedToday"]?.intValue == 1 && live.json?["conversations"]?["openedToday"]?.intValue == 1, "\(live)")
            #expect(live.json?["averageWaitSeconds"]?.isNull == false && live.json?["averageFirstResponseSeconds"]?.isNull == false, "\(live)")
            #expect(live.json?["csatToday"]?["count"]?.intValue == 1, "\(live)")
            let statuses = Dictionary(uniqueKeysWithValues: (live.json?["agents"]?.arrayValue ?? []).compactMap { agent in
                agent["id"]?.stringValue.map { ($0, agent["status"]?.stringValue ?? "?") }
            })
            #expect(statuses == ["ada": "online", "bob": "online", "sue": "offline"], "\(live)")
            #expect(try await http.get("/v1/stats/live", token: bob.session.token).status == 403)
        }
    }
}
