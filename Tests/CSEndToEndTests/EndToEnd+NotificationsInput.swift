import CSTestSupport
import Foundation
import Testing

/// The notification API refuses bad input and unauthorised callers with the documented codes
/// (docs/api.md, "Notifications"), and `cs-admin notify` does the same work from the command line.
extension EndToEnd {
    @Test("notifications: bad input and unauthorised callers get the documented 4xx codes; nothing is queued")
    func notificationsBadInput() async throws {
        // No notifier: every accepted request stays in cs:{notify}:in, so it can be counted.
        try await Self.withNotificationSystem(gateways: 1, notifiers: 0) { cluster, _ in
            let http = cluster.gateways[0].http
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 2)
            try await cluster.addAgent(id: "sue", name: "Sue", password: Self.agentPassword, max: 2, role: "supervisor")
            let agent = try await http.agentLogin(agentID: "alice", password: Self.agentPassword).token
            let supervisor = try await http.agentLogin(agentID: "sue", password: Self.agentPassword).token
            let visitor = try await http.visitorSession(name: "Ann")
            let path = "/v1/notifications"

            func post(_ body: JSONValue, headers: [String: String] = Self.adminHeaders) async throws -> HTTPResponse {
                try await http.post(path, json: body, headers: headers)
            }
            func expectError(_ response: HTTPResponse, _ status: Int, _ code: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(response.status == status, "\(what): \(response)", sourceLocation: sourceLocation)
                #expect(response.json?["error"]?["code"]?.stringValue == code, "\(what): \(response)", sourceLocation: sourceLocation)
                let message = response.json?["error"]?["message"]?.stringValue ?? ""
                #expect(!message.isEmpty, "\(what): no message: \(response)", sourceLocation: sourceLocation)
            }
            let past = Self.isoTime(secondsFromNow: -60).text
            let soon = Self.isoTime(secondsFromNow: 3600)

            // Fields.
            expectError(try await post(["audience": "everyone", "body": "x"]), 400, "invalid_field", "unknown audience")
            expectError(try await post(["body": "x"]), 400, "invalid_field", "no audience")
            expectError(try await post(["audience": "skill:", "body": "x"]), 400, "invalid_field", "empty skill")
            expectError(try await post(["audience": "all", "body": ""]), 400, "invalid_field", "empty body")
            expectError(try await post(["audience": "all", "body": "  \n "]), 400, "invalid_field", "blank body")
            expectError(try await post(["audience": "all"]), 400, "invalid_field", "no body")
            expectError(try await post(["audience": "all", "body": .string(String(repeating: "é", count: 2001))]), 400, "invalid_field", "body of 2001 characters")
            expectError(try await post(["audience": "all", "body": "x", "title": .string(String(repeating: "t", count: 121))]), 400, "invalid_field", "title of 121 characters")
            expectError(try await post(["audience": "all", "body": "x", "priority": "critical"]), 400, "invalid_field", "unknown priority")
            expectError(try await post(["audience": "all", "body": "x", "sendAt": .string(past)]), 400, "invalid_field", "sendAt in the past")
            expectError(try await post(["audience": "all", "body": "x", "sendAt": "tomorrow"]), 400, "invalid_field", "sendAt not ISO 8601")
            expectError(try await post(["audience": "all", "body": "x", "sendAt": .string(soon.text), "expiresAt": .string(Self.isoTime(secondsFromNow: 60).text)]), 400, "invalid_field", "expiresAt before sendAt")
            expectError(try await post(["audience": "all", "body": "x", "expiresAt": .string(Self.isoTime(secondsFromNow: 91 * 24 * 3600).text)]), 400, "invalid_field", "lifetime over 90 days")
            expectError(try await post(["audience": "users", "body": "x"]), 400, "invalid_field", "users audience without users")
            expectError(try await post(["audience": "users", "users": [], "body": "x"]), 400, "invalid_field", "empty users")
            expectError(try await post(["audience": "users", "users": .array((0...1000).map { .string("u\($0)") }), "body": "x"]), 400, "invalid_field", "1001 users")
            expectError(try await post(["audience": "users", "users": ["not valid!"], "body": "x"]), 400, "invalid_field", "malformed user id")
            expectError(try await post(["audience": "all", "users": [.string(visitor.visitorID)], "body": "x"]), 400, "invalid_field", "users with audience all")
            let unknown = try await post(["audience": "users", "users": [.string(visitor.visitorID), "alice", "ghost", "v_000000000000"], "body": "x"])
            expectError(unknown, 400, "unknown_users", "unknown users")
            let message = unknown.json?["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("ghost") && message.contains("v_000000000000") && !message.contains("alice"), "unknown_users names the unknown ones: \(message)")
            expectError(try await http.post(path, body: "{not json", headers: Self.adminHeaders), 400, "bad_request", "malformed JSON")
            expectError(try await post(["audience": "all", "body": 5]), 400, "invalid_field", "body of the wrong type")

            // Callers.
            let ok: JSONValue = ["audience": "all", "body": "x"]
            expectError(try await post(ok, headers: [:]), 401, "unauthorized", "POST without credentials")
            expectError(try await post(ok, headers: ["X-Admin-Key": Self.notificationAdminKey + "x"]), 401, "unauthorized", "POST with a wrong admin key")
            expectError(try await post(ok, headers: ["X-Admin-Key": ""]), 401, "unauthorized", "POST with an empty admin key")
            expectError(try await post(ok, headers: ["Authorization": "Bearer \(agent)"]), 403, "forbidden", "POST as an agent")
            expectError(try await post(ok, headers: ["Authorization": "Bearer \(visitor.token)"]), 403, "forbidden", "POST as a customer")
            expectError(try await post(ok, headers: ["Authorization": "Bearer garbage"]), 401, "unauthorized", "POST with a forged token")
            expectError(try await http.get(path, token: nil), 401, "unauthorized", "GET list without credentials")
            expectError(try await http.get(path, token: agent), 403, "forbidden", "GET list as an agent")
            expectError(try await http.get("\(path)/n_abc", token: nil), 401, "unauthorized", "GET one without credentials")
            expectError(try await http.delete("\(path)/n_abc", token: agent), 403, "forbidden", "DELETE as an agent")
            expectError(try await http.get("\(path)?limit=0", headers: Self.adminHeaders), 400, "invalid_field", "limit 0")
            expectError(try await http.get("\(path)?limit=201", headers: Self.adminHeaders), 400, "invalid_field", "limit 201")
            expectError(try await Self.getNotification(cluster.gateways[0], "n_doesnotexist"), 404, "not_found", "GET of an unknown id")
            expectError(try await http.request("DELETE", "\(path)/n_doesnotexist", body: nil, headers: Self.adminHeaders, timeout: .seconds(30)), 404, "not_found", "DELETE of an unknown id")
            #expect(try await cluster.redisCommand(["XLEN", "cs:{notify}:in"]) == ["0"], "a refused request was queued")

            // The limits themselves are accepted: by a supervisor, and by the admin key.
            let bySupervisor = try await post(["audience": "skill:billing", "body": .string(String(repeating: "é", count: 2000)),
                "title": .string(String(repeating: "t", count: 120)), "priority": "urgent", "sendAt": .string(soon.text)],
                headers: ["Authorization": "Bearer \(supervisor)"])
            #expect(bySupervisor.status == 202, "body of 2000 and title of 120 characters, supervisor: \(bySupervisor)")
            let json = bySupervisor.json
            #expect(json?["createdBy"] == "sue" && json?["status"] == "scheduled" && json?["audience"] == "skill:billing", "\(bySupervisor)")
            #expect(json?["counts"] == nil, "POST answers without counts: \(bySupervisor)")
            let targeted = try await post(["audience": "users", "users": [.string(visitor.visitorID), "alice", "sue"], "body": "x"])
            #expect(targeted.status == 202 && targeted.json?["users"] == JSONValue.array([.string(visitor.visitorID), "alice", "sue"]).sortedUsers, "\(targeted)")
            #expect(targeted.json?["createdBy"] == "admin" && targeted.json?["status"] == "sent", "\(targeted)")
            #expect(try await cluster.redisCommand(["XLEN", "cs:{notify}:in"]) == ["2"], "two requests accepted")
        }
    }
}

extension JSONValue {
    /// An array of user ids in the order the API returns them (sorted, duplicates removed).
    fileprivate var sortedUsers: JSONValue {
        .array(Set(arrayValue ?? []).sorted { ($0.stringValue ?? "") < ($1.stringValue ?? "") })
    }
}
