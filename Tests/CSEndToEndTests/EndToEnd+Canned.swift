import CSCore
import CSServer
import CSTestSupport
import Foundation
import Testing

/// Canned responses (docs/api.md, "Canned responses") through a real gateway and cs-admin.
extension EndToEnd {
    @Test("canned responses: roles, personal isolation, validation, cs-admin")
    func cannedResponses() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1) { cluster, _ in
            let http = cluster.gateways[0].http
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 2)
            try await cluster.addAgent(id: "bob", name: "Bob", password: Self.agentPassword, max: 2)
            try await cluster.addAgent(id: "sue", name: "Sue", password: Self.agentPassword, max: 2, role: "supervisor")
            let alice = try await http.agentLogin(agentID: "alice", password: Self.agentPassword).token
            let bob = try await http.agentLogin(agentID: "bob", password: Self.agentPassword).token
            let sue = try await http.agentLogin(agentID: "sue", password: Self.agentPassword).token
            let customer = try await http.visitorSession(name: "Ann").token
            let list = "/v1/canned-responses"

            func expectError(_ response: HTTPResponse, _ status: Int, _ code: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(response.status == status, "\(what): \(response)", sourceLocation: sourceLocation)
                #expect(response.json?["error"]?["code"]?.stringValue == code, "\(what): \(response)", sourceLocation: sourceLocation)
                let message = response.json?["error"]?["message"]?.stringValue ?? ""
                #expect(!message.isEmpty, "\(what): \(response)", sourceLocation: sourceLocation)
            }
            func shortcuts(_ response: HTTPResponse, _ key: String) -> [String] {
                response.json?[key]?.arrayValue?.compactMap { $0["shortcut"]?.stringValue } ?? []
            }

            // Empty at first; tokens required; customers have none.
            let empty = try await http.get(list, token: alice)
            #expect(empty.status == 200 && empty.json == ["team": [], "personal": []], "\(empty)")
            expectError(try await http.get(list, token: nil), 401, "unauthorized", "no token")
            expectError(try await http.get(list, token: "not-a-token"), 401, "unauthorized", "bad token")
            expectError(try await http.get(list, token: customer), 403, "forbidden", "customer GET")
            expectError(try await http.put("\(list)/me/hi", json: ["text": "hi"], token: customer), 403, "forbidden", "customer PUT me")
            expectError(try await http.put("\(list)/team/hi", json: ["text": "hi"], token: customer), 403, "forbidden", "customer PUT team")
            expectError(try await http.delete("\(list)/me/hi", token: customer), 403, "forbidden", "customer DELETE me")

            // Team responses: supervisors write, agents read.
            let saved = try await http.put("\(list)/team/hello", json: ["text": "Hello! How can I help you today?"], token: sue)
            #expect(saved.status == 200 && saved.json == ["shortcut": "hello", "text": "Hello! How can I help you today?"], "\(saved)")
            expectError(try await http.put("\(list)/team/rude", json: ["text": "no"], token: alice), 403, "forbidden", "agent PUT team")
            expectError(try await http.delete("\(list)/team/hello", token: alice), 403, "forbidden", "agent DELETE team")
            let replaced = try await http.put("\(list)/team/hello", json: ["text": "Hi there!"], token: sue)
            #expect(replaced.status == 200 && replaced.json?["text"] == "Hi there!", "PUT replaces: \(replaced)")

            // Personal responses: each agent their own, sorted by shortcut.
            for shortcut in ["sig", "addr", "m.x1-y_z"] {
                let response = try await http.put("\(list)/me/\(shortcut)", json: .object(["text": .string("Alice \(shortcut)")]), token: alice)
                #expect(response.status == 200 && response.json?["shortcut"]?.stringValue == shortcut, "\(response)")
            }
            let bobSig = try await http.put("\(list)/me/sig", json: ["text": "Cheers, Bob"], token: bob)
            #expect(bobSig.status == 200, "\(bobSig)")
            let aliceList = try await http.get(list, token: alice)
            #expect(aliceList.status == 200, "\(aliceList)")
            #expect(aliceList.json?["team"] == [["shortcut": "hello", "text": "Hi there!"]], "\(aliceList)")
            #expect(shortcuts(aliceList, "personal") == ["addr", "m.x1-y_z", "sig"], "sorted personal list: \(aliceList)")
            #expect(aliceList.json?["personal"]?[2]?["text"] == "Alice sig", "\(aliceList)")
            let bobList = try await http.get(list, token: bob)
            #expect(shortcuts(bobList, "team") == ["hello"] && bobList.json?["personal"] == [["shortcut": "sig", "text": "Cheers, Bob"]], "\(bobList)")
            let sueList = try await http.get(list, token: sue)
            #expect(shortcuts(sueList, "team") == ["hello"] && shortcuts(sueList, "personal").isEmpty, "\(sueList)")

            // Validation.
            let at2000 = String(repeating: "é", count: 2000)
            let long = try await http.put("\(list)/me/long", json: .object(["text": .string(at2000)]), token: alice)
            #expect(long.status == 200 && long.json?["text"]?.stringValue == at2000, "2,000 characters are fine: \(long.status)")
            let cases: [(String, String, Int, String)] = [
                ("\(list)/me/bad!x", #"{"text":"x"}"#, 400, "invalid_field"),
                ("\(list)/me/bad:x", #"{"text":"x"}"#, 400, "invalid_field"),
                ("\(list)/me/\(String(repeating: "s", count: 33))", #"{"text":"x"}"#, 400, "invalid_field"),
                ("\(list)/me/ok", #"{"text":""}"#, 400, "invalid_field"),
                ("\(list)/me/ok", #"{"text":"\#(String(repeating: "é", count: 2001))"}"#, 400, "invalid_field"),
                ("\(list)/me/ok", #"{}"#, 400, "invalid_field"),
                ("\(list)/me/ok", #"{"text":42}"#, 400, "invalid_field"),
                ("\(list)/me/ok", "not json", 400, "bad_request"),
                ("\(list)/team/bad%20x", #"{"text":"x"}"#, 400, "invalid_field"),
            ]
            for (path, body, status, code) in cases {
                expectError(try await http.put(path, body: body, token: path.contains("/team/") ? sue : alice), status, code, "PUT \(path.prefix(60)) \(body.prefix(30))")
            }
            #expect(shortcuts(try await http.get(list, token: alice), "personal") == ["addr", "long", "m.x1-y_z", "sig"], "nothing invalid was saved")

            // Deleting.
            let deleted = try await http.delete("\(list)/me/sig", token: alice)
            #expect(deleted.status == 204 && deleted.body.isEmpty, "\(deleted)")
            expectError(try await http.delete("\(list)/me/sig", token: alice), 404, "not_found", "second DELETE")
            expectError(try await http.delete("\(list)/me/never", token: alice), 404, "not_found", "DELETE of a missing one")
            #expect(shortcuts(try await http.get(list, token: bob), "personal") == ["sig"], "bob's sig is untouched")
            #expect(try await http.delete("\(list)/team/hello", token: sue).status == 204)
            expectError(try await http.delete("\(list)/team/hello", token: sue), 404, "not_found", "team DELETE twice")

            // cs-admin.
            try await cluster.admin(["canned", "add", "--team", "--shortcut", "bye", "--text", "Goodbye!"])
            try await cluster.admin(["canned", "add", "--agent", "bob", "--shortcut", "hours", "--text", "We are open 9-17."])
            let afterAdmin = try await http.get(list, token: bob)
            #expect(afterAdmin.json?["team"] == [["shortcut": "bye", "text": "Goodbye!"]], "\(afterAdmin)")
            #expect(shortcuts(afterAdmin, "personal") == ["hours", "sig"], "\(afterAdmin)")
            let printed = try await cluster.admin(["canned", "list", "--agent", "bob"])
            let rows = printed.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).prefix(2).joined(separator: " ") }
            #expect(rows == ["OWNER SHORTCUT", "team bye", "bob hours", "bob sig"], "cs-admin canned list output:\n\(printed)")
            let teamOnly = try await cluster.admin(["canned", "list"])
            #expect(teamOnly.contains("Goodbye!") && !teamOnly.contains("hours"), "\(teamOnly)")
            try await cluster.admin(["canned", "remove", "--team", "--shortcut", "bye"])
            #expect(shortcuts(try await http.get(list, token: bob), "team").isEmpty, "removed by cs-admin")
            let redisTeam = try await cluster.redisCommand(["HLEN", RedisKeys.cannedTeam])
            #expect(redisTeam == ["0"], "\(RedisKeys.cannedTeam): \(redisTeam)")
            let redisBob = try await cluster.redisCommand(["HGET", RedisKeys.cannedAgent("bob"), "hours"])
            #expect(redisBob == ["We are open 9-17."], "\(RedisKeys.cannedAgent("bob")): \(redisBob)")

            for (arguments, what) in [
                (["canned", "remove", "--team", "--shortcut", "bye"], "removing a missing response"),
                (["canned", "add", "--team", "--agent", "bob", "--shortcut", "x", "--text", "y"], "--team with --agent"),
                (["canned", "add", "--shortcut", "x", "--text", "y"], "neither --team nor --agent"),
                (["canned", "add", "--agent", "nobody", "--shortcut", "x", "--text", "y"], "an unknown agent"),
                (["canned", "add", "--team", "--shortcut", "bad!", "--text", "y"], "a bad shortcut"),
                (["canned", "add", "--team", "--shortcut", "x", "--text", ""], "an empty text"),
            ] {
                await #expect(throws: LaunchError.self, "cs-admin must fail on \(what)") { try await cluster.admin(arguments) }
            }
        }
    }
}
