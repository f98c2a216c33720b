import CSCore
import CSTestSupport
import Foundation
import Testing

/// Many customers rate at once through two gateways and two dispatchers; the aggregates, the
/// paged list and the CSV export must agree exactly with what they did.
extension EndToEnd {
    /// What one customer did, for the expected totals.
    struct RatedConversation: Sendable {
        var conversationID: String
        var agent: String
        var team: String
        var score: Int
        var comment: String
        var customerName: String
    }

    static let trickyComments = [
        "", "Great, \"fast\" help\nthanks", "=HYPERLINK(\"http://evil\")", "très bien 👍", "-1 would not recommend", "@admin, look; ok",
        "plain",
    ]

    @Test("ratings: exact aggregates from concurrent customers on two gateways and two dispatchers; list, filters, paging, CSV")
    func ratingAggregatesUnderConcurrency() async throws {
        let customerCount = 24
        try await Self.withSystem(gateways: 2, dispatchers: 2, gatewayArguments: ["--admin-key", Self.ratingAdminKey]) { cluster, scope in
            let gateways = cluster.gateways
            try await cluster.addAgent(id: "a1", name: "Ava", password: Self.agentPassword, max: 30)
            try await cluster.addAgent(id: "a2", name: "Abe", password: Self.agentPassword, max: 30)
            try await cluster.addAgent(id: "b1", name: "Bea", password: Self.agentPassword, skills: ["billing"], max: 30)
            try await cluster.addAgent(id: "sue", name: "Sue", password: Self.agentPassword, skills: ["supervision"], max: 1, role: "supervisor")
            for (index, id) in ["a1", "a2", "b1"].enumerated() { _ = try await Self.connectStaff(scope, gateways[index % 2], id: id) }

            let rated = try await withThrowingTaskGroup(of: RatedConversation.self) { group in
                for index in 0..<customerCount {
                    group.addTask {
                        let name = index % 7 == 3 ? "=cmd|' /C calc'!A0" : "Cust \(index), \"\(index)\""
                        let customer = try await Self.connectCustomer(scope, gateways[index % 2], name: name)
                        let team = index % 3 == 0 ? "billing" : "default"
                        let (conversationID, event) = try await Self.openConversation(customer, messageID: "m-\(index)", skill: team)
                        let agent = try #require(event["agent"]?["id"]?.stringValue, "assigned at once: \(event)")
                        try await customer.client.sendClose(id: "c-\(index)")
                        try await Self.awaitFrame(customer.client, "conversation.closed")
                        var score = index * 7 % 5 + 1
                        var comment = Self.trickyComments[index % Self.trickyComments.count]
                        let first = try await Self.rate(customer.client, id: "r1-\(index)", conversationID: conversationID, score: score, comment: comment)
                        try #require(first.type == "rating", "\(first)")
                        if index % 5 == 0 {
                            // A retry of the same frame: acked again (an ack of its own), counted once.
                            let frame: JSONValue = ["type": "rate", "id": .string("r1-\(index)"), "conversationId": .string(conversationID), "score": .int(score), "comment": .string(comment)]
                            try await customer.client.send(frame)
                            _ = try await customer.client.waitUntil("two acks of r1-\(index)", timeout: .seconds(20)) { view in
                                view.log.filter { $0.type == "ack" && $0.string("id") == "r1-\(index)" }.count == 2 ? true : nil
                            }
                        }
                        if index % 4 == 0 {
                            score = index * 3 % 5 + 1
                            comment = "changed \(index)"
                            let second = try await Self.rate(customer.client, id: "r2-\(index)", conversationID: conversationID, score: score, comment: comment)
                            try #require(second.type == "rating" && second.int("score") == score, "\(second)")
                        }
                        return RatedConversation(conversationID: conversationID, agent: agent, team: team, score: score, comment: comment, customerName: name)
                    }
                }
                var all: [RatedConversation] = []
                for try await one in group { all.append(one) }
                return all
            }
            #expect(rated.count == customerCount)

            // Expected aggregates, then compare with redis-cli and the API.
            var expected: [String: RatingAggregate] = [:]
            for one in rated {
                for key in ["cs:{ratings}:all", "cs:{ratings}:agent:\(one.agent)", "cs:{ratings}:team:\(one.team)"] {
                    expected[key, default: RatingAggregate()].add(score: one.score)
                }
            }
            let today = String(describing: CalendarDay(milliseconds: Int(Date().timeIntervalSince1970 * 1000)))
            for (key, aggregate) in expected {
                for variant in [key, key + ":" + today] {
                    let hash = try await Self.aggregateHash(cluster, variant)
                    #expect(RatingAggregate(fields: hash) == aggregate, "\(variant): \(hash) expected \(aggregate)")
                    #expect(hash["avg"] == aggregate.averageHundredths.map { RatingAggregate.decimal($0, places: 2) }, "\(variant): \(hash)")
                }
            }
            let sue = try await gateways[1].http.agentLogin(agentID: "sue", password: Self.agentPassword).token
            let summary = try await gateways[1].http.get("/v1/ratings/summary?by=agent&from=\(today)", token: sue)
            for item in summary.json?["items"]?.arrayValue ?? [] {
                let id = item["id"]?.stringValue ?? "?"
                let want = expected["cs:{ratings}:agent:\(id)"] ?? RatingAggregate()
                #expect(item["count"]?.intValue == want.count && item["distribution"] == .array(want.distribution.map { .int($0) }), "\(id): \(item)")
            }
            #expect(summary.json?["total"]?["count"]?.intValue == customerCount, "\(summary)")

            // The list: every rating once over pages of 7; filters by score and agent.
            var listed: [JSONValue] = []
            var cursor: String?
            repeat {
                let page = try await gateways[0].http.get("/v1/ratings?limit=7&from=\(today)" + (cursor.map { "&cursor=" + $0 } ?? ""), token: sue)
                try #require(page.status == 200, "\(page)")
                listed += page.json?["items"]?.arrayValue ?? []
                cursor = page.json?["nextCursor"]?.stringValue
            } while cursor != nil
            #expect(listed.compactMap { $0["conversationId"]?.stringValue }.sorted() == rated.map(\.conversationID).sorted(), "paged list")
            let fives = try await gateways[0].http.get("/v1/ratings?score=5&limit=200", token: sue)
            #expect(Set(fives.json?["items"]?.arrayValue?.compactMap { $0["conversationId"]?.stringValue } ?? []) == Set(rated.filter { $0.score == 5 }.map(\.conversationID)), "\(fives)")
            let ofA1 = try await gateways[0].http.get("/v1/ratings?agent=a1&score=1,2,3,4,5&limit=200", token: sue)
            #expect(Set(ofA1.json?["items"]?.arrayValue?.compactMap { $0["conversationId"]?.stringValue } ?? []) == Set(rated.filter { $0.agent == "a1" }.map(\.conversationID)), "\(ofA1)")
            let ofBilling = try await gateways[0].http.get("/v1/ratings?team=billing&limit=200", token: sue)
            #expect(ofBilling.json?["items"]?.arrayValue?.count == rated.filter { $0.team == "billing" }.count, "\(ofBilling)")

            // The CSV parses back to the same ratings.
            let csv = try await gateways[1].http.get("/v1/ratings.csv?from=\(today)&to=\(today)", headers: ["X-Admin-Key": Self.ratingAdminKey])
            #expect(csv.status == 200 && csv.headers.first { $0.key.lowercased() == "content-type" }?.value.hasPrefix("text/csv") == true, "\(csv.headers)")
            let rows = try Self.parseCSV(csv.bodyText)
            #expect(rows.first == RatingCSV.columns, "header: \(rows.first ?? [])")
            var byConversation: [String: [String: String]] = [:]
            for row in rows.dropFirst() { byConversation[row[0]] = Dictionary(uniqueKeysWithValues: zip(RatingCSV.columns, row)) }
            #expect(byConversation.count == customerCount, "\(rows.count - 1) rows")
            for one in rated {
                let row = byConversation[one.conversationID] ?? [:]
                #expect(row["score"] == String(one.score) && Self.unguarded(row["comment"] ?? "") == one.comment, "\(one.conversationID): \(row)")
                #expect(row["agentId"] == one.agent && row["team"] == one.team && Self.unguarded(row["customerName"] ?? "") == one.customerName, "\(row)")
                #expect(!(row["comment"] ?? "").hasPrefix("="), "formula neutralised: \(row)")
            }

            // Authorisation of the list and the export.
            let agent = try await gateways[0].http.agentLogin(agentID: "a1", password: Self.agentPassword).token
            #expect(try await gateways[0].http.get("/v1/ratings", token: agent).status == 403)
            #expect(try await gateways[0].http.get("/v1/ratings.csv", token: agent).status == 403)
            #expect(try await gateways[0].http.get("/v1/ratings.csv", headers: ["X-Admin-Key": "wrong"]).status == 401)
            #expect(try await gateways[0].http.get("/v1/ratings?cursor=nope", token: sue).status == 400)
        }
    }

    /// RFC 4180: quoted cells may hold commas, doubled quotes and line breaks; rows end with CRLF.
    static func parseCSV(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var cell = ""
        var quoted = false
        var characters = Array(text).makeIterator()
        var pending: Character? = nil
        while let character = pending ?? characters.next() {
            pending = nil
            if quoted {
                if character == "\"" {
                    let next = characters.next()
                    if next == "\"" { cell.append("\"") } else { quoted = false; pending = next }
                } else {
                    cell.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                row.append(cell)
                cell = ""
            } else if character == "\r\n" || character == "\n" {
                row.append(cell)
                rows.append(row)
                row = []
                cell = ""
            } else {
                cell.append(character)
            }
        }
        if !cell.isEmpty || !row.isEmpty { row.append(cell); rows.append(row) }
        return rows
    }

    /// A cell without the `'` the export puts before a would-be formula.
    static func unguarded(_ cell: String) -> String {
        guard cell.hasPrefix("'"), let next = cell.dropFirst().first, "=+-@\t\r".contains(next) else { return cell }
        return String(cell.dropFirst())
    }
}
