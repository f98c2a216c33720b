import CSCore
import CSTestSupport
import Foundation
import Testing

/// Webhook endpoints over the HTTP API and `cs-admin webhook` (docs/api.md, "Webhooks").
extension EndToEnd {
    static func registerWebhook(_ http: GatewayHTTP, token: String?, url: String, types: [String]) async throws -> HTTPResponse {
        try await http.post("/v1/webhooks", json: ["url": .string(url), "types": .array(types.map { .string($0) })], token: token)
    }

    @Test("webhooks API: supervisors only; add, list (no secret), pause, resume, remove; URL policy refusals")
    func webhookRegistrationAPI() async throws {
        try await Self.withSystem { cluster, scope in
            let http = cluster.gateways[0].http
            try await cluster.addAgent(id: "sue", name: "Sue", password: Self.agentPassword, max: 1, role: "supervisor")
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 1)
            let sue = try await http.agentLogin(agentID: "sue", password: Self.agentPassword).token
            let ada = try await http.agentLogin(agentID: "ada", password: Self.agentPassword).token
            let visitor = try await http.visitorSession(name: "Ann").token

            // Agents, customers and strangers may not.
            for token in [ada, visitor] {
                let refused = try await Self.registerWebhook(http, token: token, url: "https://93.184.216.34/h", types: ["message"])
                #expect(refused.status == 403 && refused.json?["error"]?["code"]?.stringValue == "forbidden", "\(refused)")
                #expect(try await http.get("/v1/webhooks", token: token).status == 403)
            }
            #expect(try await http.get("/v1/webhooks", token: nil).status == 401)

            // Refused URLs: scheme, loopback (literal and by name: the name is resolved), private, metadata, bad types.
            let refusals: [(String, [String], String)] = [
                ("file:///etc/passwd", ["message"], "webhook_url_refused"), ("ftp://93.184.216.34/", ["message"], "webhook_url_refused"),
                ("http://127.0.0.1:9/h", ["message"], "webhook_url_refused"), ("http://localhost:9/h", ["message"], "webhook_url_refused"),
                ("http://[::1]/h", ["message"], "webhook_url_refused"), ("http://10.0.0.8/h", ["message"], "webhook_url_refused"),
                ("http://169.254.169.254/latest/meta-data/", ["message"], "webhook_url_refused"),
                ("https://user:pw@93.184.216.34/", ["message"], "webhook_url_refused"),
                ("https://93.184.216.34/h", ["conversation.reopened"], "invalid_field"), ("https://93.184.216.34/h", [], "invalid_field"),
            ]
            for (url, types, code) in refusals {
                let refused = try await Self.registerWebhook(http, token: sue, url: url, types: types)
                #expect(refused.status == 400 && refused.json?["error"]?["code"]?.stringValue == code, "\(url) \(types): \(refused)")
            }
            let badSecret = try await http.post(
                "/v1/webhooks", json: ["url": "https://93.184.216.34/h", "types": ["message"], "secret": "short"], token: sue)
            #expect(badSecret.status == 400 && badSecret.json?["error"]?["code"]?.stringValue == "invalid_field", "\(badSecret)")
            #expect(try await cluster.redisCommand(["HLEN", "cs:{webhooks}:endpoints"]) == ["0"], "nothing refused was stored")

            // A public literal needs no resolution: registered, with its secret shown once.
            let added = try await Self.registerWebhook(http, token: sue, url: "https://93.184.216.34/hooks", types: ["message", "conversation.closed"])
            #expect(added.status == 201, "\(added)")
            let id = try #require(added.json?["id"]?.stringValue)
            let secret = try #require(added.json?["secret"]?.stringValue)
            #expect(id.hasPrefix("wh_") && secret.hasPrefix("whsec_") && secret.count == 38, "\(added)")
            #expect(added.json?["types"] == ["conversation.closed", "message"] && added.json?["createdBy"]?.stringValue == "sue", "\(added)")

            let listed = try await http.get("/v1/webhooks", token: sue)
            let first = try #require(listed.json?["webhooks"]?[0], "\(listed)")
            #expect(first["id"]?.stringValue == id && first["paused"]?.boolValue == false && first["secret"] == nil, "\(listed)")
            #expect(!listed.bodyText.contains(secret), "the secret is never listed")

            let paused = try await http.post("/v1/webhooks/\(id)/pause", json: [:], token: sue)
            #expect(paused.status == 200 && paused.json?["paused"]?.boolValue == true && paused.json?["pausedReason"]?.stringValue == "manual", "\(paused)")
            let resumed = try await http.post("/v1/webhooks/\(id)/resume", json: [:], token: sue)
            #expect(resumed.status == 200 && resumed.json?["paused"]?.boolValue == false, "\(resumed)")
            #expect(try await http.post("/v1/webhooks/wh_nonexistent1/pause", json: [:], token: sue).status == 404)
            #expect(try await http.post("/v1/webhooks/..%2F..%2Fx/pause", json: [:], token: sue).status == 404)

            // cs-admin sees and manages the same endpoints.
            let list = try await cluster.admin(["webhook", "list"])
            #expect(list.contains(id) && list.contains("https://93.184.216.34/hooks") && list.contains("active"), "\(list)")
            #expect(try await http.delete("/v1/webhooks/\(id)", token: sue).status == 204)
            #expect(try await http.delete("/v1/webhooks/\(id)", token: sue).status == 404)
            #expect(try await cluster.redisCommand(["HLEN", "cs:{webhooks}:endpoints"]) == ["0"])
        }
    }

    @Test("webhooks: loopback targets only with the explicit flag (gateway and cs-admin)")
    func webhookLoopbackNeedsTheFlag() async throws {
        try await Self.withSystem(gatewayArguments: ["--allow-private-webhook-targets"]) { cluster, scope in
            let http = cluster.gateways[0].http
            try await cluster.addAgent(id: "sue", name: "Sue", password: Self.agentPassword, max: 1, role: "supervisor")
            let sue = try await http.agentLogin(agentID: "sue", password: Self.agentPassword).token
            let added = try await Self.registerWebhook(http, token: sue, url: "http://localhost:9/h", types: ["*"])
            #expect(added.status == 201 && added.json?["types"]?.arrayValue?.count == WebhookEventType.allCases.count, "\(added)")
            // A scheme is never allowed, flag or not.
            let file = try await Self.registerWebhook(http, token: sue, url: "file:///etc/passwd", types: ["message"])
            #expect(file.status == 400, "\(file)")

            // cs-admin: refused without its flag, accepted with it.
            await #expect(throws: (any Error).self) {
                _ = try await cluster.admin(["webhook", "add", "--url", "http://127.0.0.1:9/x", "--types", "message"])
            }
            let output = try await cluster.admin(["webhook", "add", "--url", "http://127.0.0.1:9/x", "--types", "message", "--allow-private-targets"])
            #expect(output.contains("secret: whsec_"), "\(output)")
            let id = try #require(output.split(separator: " ").dropFirst().first.map(String.init))
            _ = try await cluster.admin(["webhook", "pause", id])
            #expect(try await cluster.admin(["webhook", "list"]).contains("paused:manual"))
            _ = try await cluster.admin(["webhook", "remove", id])
            #expect(try await cluster.redisCommand(["HLEN", "cs:{webhooks}:endpoints"]) == ["1"])
        }
    }
}
