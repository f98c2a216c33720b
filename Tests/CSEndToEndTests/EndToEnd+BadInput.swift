import CSTestSupport
import Foundation
import Testing

extension EndToEnd {
    struct BadFrame: CustomStringConvertible {
        let label: String
        let text: String
        let code: String
        /// The client message id the error must carry (the frame carried a valid one).
        var id: String? = nil

        var description: String { label }
    }

    static let badFrames: [BadFrame] = [
        BadFrame(label: "truncated JSON", text: #"{"type":"message","id":"c-1","body":"#, code: "bad_request"),
        BadFrame(label: "not JSON", text: "hello there", code: "bad_request"),
        BadFrame(label: "JSON array", text: #"[{"type":"ping"}]"#, code: "bad_request"),
        BadFrame(label: "empty JSON array", text: "[]", code: "bad_request"),
        BadFrame(label: "JSON string", text: #""ping""#, code: "bad_request"),
        BadFrame(label: "JSON number", text: "42", code: "bad_request"),
        BadFrame(label: "JSON null", text: "null", code: "bad_request"),
        BadFrame(label: "empty frame", text: "", code: "bad_request"),
        BadFrame(label: "missing type", text: #"{"id":"c-1","body":"hi"}"#, code: "unknown_type"),
        BadFrame(label: "unknown type", text: #"{"type":"dance","id":"c-1"}"#, code: "unknown_type"),
        BadFrame(label: "server frame type", text: #"{"type":"ack","id":"c-1"}"#, code: "unknown_type"),
        BadFrame(label: "message without id", text: #"{"type":"message","body":"hi"}"#, code: "invalid_field"),
        BadFrame(label: "message with empty id", text: #"{"type":"message","id":"","body":"hi"}"#, code: "invalid_field"),
        BadFrame(label: "id with a space", text: #"{"type":"message","id":"c 1","body":"hi"}"#, code: "invalid_field"),
        BadFrame(label: "id of 65 characters", text: #"{"type":"message","id":"\#(String(repeating: "x", count: 65))","body":"hi"}"#, code: "invalid_field"),
        BadFrame(label: "numeric id", text: #"{"type":"message","id":7,"body":"hi"}"#, code: "invalid_field"),
        BadFrame(label: "message without body", text: #"{"type":"message","id":"c-nobody"}"#, code: "invalid_field", id: "c-nobody"),
        BadFrame(label: "empty body", text: #"{"type":"message","id":"c-empty","body":""}"#, code: "invalid_field", id: "c-empty"),
        BadFrame(
            label: "body of 4,001 characters",
            text: #"{"type":"message","id":"c-long","body":"\#(String(repeating: "é", count: 4001))"}"#,
            code: "invalid_field", id: "c-long"),
        BadFrame(label: "numeric body", text: #"{"type":"message","id":"c-numbody","body":123}"#, code: "invalid_field", id: "c-numbody"),
        BadFrame(
            label: "malformed conversationId", text: #"{"type":"message","id":"c-conv","body":"hi","conversationId":"a b"}"#,
            code: "invalid_field", id: "c-conv"),
        BadFrame(label: "malformed skill", text: #"{"type":"message","id":"c-skill","body":"hi","skill":"no/skill"}"#, code: "invalid_field", id: "c-skill"),
        BadFrame(label: "ping with malformed id", text: #"{"type":"ping","id":"p 1"}"#, code: "invalid_field"),
    ]

    /// Malformed frames get an `error` frame with the documented code; the connection stays open
    /// and nothing is accepted. Valid frames at the limits are accepted.
    @Test("bad frames get bad_request / unknown_type / invalid_field and the connection stays open")
    func badFramesAreAnsweredWithErrors() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1) { cluster, scope in
            let gateway = cluster.gateways[0]
            let customer = try await Self.connectCustomer(scope, gateway, name: "Mallory")

            for bad in Self.badFrames {
                try await customer.client.sendText(bad.text)
                let error = try await customer.client.waitFor(type: "error", timeout: .seconds(30))
                #expect(error.string("code") == bad.code, "\(bad.label): expected \(bad.code), got \(error)")
                #expect(!(error.string("message") ?? "").isEmpty, "\(bad.label): error without message: \(error)")
                if let id = bad.id {
                    #expect(error.string("id") == id, "\(bad.label): the error must carry the frame's id \(id) (protocol.md, error): \(error)")
                }
                // Still open, and the frame was not accepted.
                try await customer.client.roundTrip()
                #expect(customer.client.isOpen, "\(bad.label): connection closed: \(customer.client.closeInfo.map(\.description) ?? "")")
            }
            #expect(customer.client.received(type: "ack").isEmpty, "bad frames were acked: \(customer.client.received(type: "ack"))")
            let unexpected = customer.client.pending.filter { $0.type != "pong" }
            #expect(unexpected.isEmpty, "unexpected frames: \(unexpected)")

            // Limits: 4,000 characters (Unicode scalars, 2 bytes each in UTF-8) and a 64-character id are fine.
            let longID = String(repeating: "L", count: 64)
            try await customer.client.sendMessage(id: longID, body: String(repeating: "é", count: 4000))
            let ack = try await customer.client.waitFor(type: "ack")
            #expect(ack.string("id") == longID, "\(ack)")
            try await customer.client.sendText(#"{"type":"ping"}"#)
            let pong = try await customer.client.waitFor(type: "pong")
            #expect(pong["id"] == nil, "pong without id must not invent one: \(pong)")

            // An agent must name the conversation.
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 3)
            let agent = try await Self.connectAgent(scope, gateway, id: "alice")
            try await agent.client.sendMessage(id: "a-noconv", body: "hello?")
            let agentError = try await agent.client.waitFor(type: "error", timeout: .seconds(30)) { $0.string("id") == "a-noconv" }
            #expect(agentError.string("code") == "invalid_field", "agent message without conversationId: \(agentError)")
            try await agent.client.roundTrip()
            #expect(!Self.ackIDs(agent.client).contains("a-noconv"), "a message without conversationId from an agent was accepted (acked)")

            #expect(gateway.process.isRunning, "the gateway died")
        }
    }

    /// Conversation errors found by the dispatcher arrive after the `ack`, with the message id
    /// and the conversation id: `forbidden` for an unknown conversation and for someone else's,
    /// with the same message (ids cannot be probed).
    @Test("forbidden arrives after the ack, for unknown and for someone else's conversations alike")
    func conversationErrorsAfterAck() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1) { cluster, scope in
            let gateway = cluster.gateways[0]
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 3)
            try await cluster.addAgent(id: "bob", name: "Bob", password: Self.agentPassword, skills: ["billing"], max: 3)
            let alice = try await Self.connectAgent(scope, gateway, id: "alice")
            let bob = try await Self.connectAgent(scope, gateway, id: "bob")
            let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let eve = try await Self.connectCustomer(scope, gateway, name: "Eve")

            try await ann.client.sendMessage(id: "c-1", body: "hi")
            let assigned = try await alice.client.waitFor(type: "conversation.assigned", timeout: .seconds(60))
            let conversationID = try #require(assigned.string("conversationId"))

            // Unknown conversation (well-formed id of a customer that has none).
            let unknown = "v_doesnotexist.abcdefgh"
            try await alice.client.sendMessage(id: "a-unknown", body: "hello", conversationID: unknown)
            _ = try await alice.client.waitFor(type: "ack") { $0.string("id") == "a-unknown" }
            let notFound = try await alice.client.waitFor(type: "error", timeout: .seconds(60)) { $0.string("id") == "a-unknown" }
            #expect(notFound.string("code") == "forbidden", "\(notFound)")
            #expect(notFound.string("message") == "conversation is not assigned to you", "\(notFound)")
            #expect(notFound.string("conversationId") == unknown, "\(notFound)")

            // Another agent's conversation.
            try await bob.client.sendMessage(id: "b-steal", body: "mine now", conversationID: conversationID)
            _ = try await bob.client.waitFor(type: "ack") { $0.string("id") == "b-steal" }
            let forbidden = try await bob.client.waitFor(type: "error", timeout: .seconds(60)) { $0.string("id") == "b-steal" }
            #expect(forbidden.string("code") == "forbidden", "\(forbidden)")
            #expect(forbidden.string("message") == notFound.string("message"), "unknown and someone else's must read alike: \(forbidden)")
            #expect(forbidden.string("conversationId") == conversationID, "\(forbidden)")

            // Another customer's conversation. The gateway may refuse this one before the ack (the
            // conversation id names its customer), so the ack is not required here.
            try await eve.client.sendMessage(id: "e-steal", body: "peek", conversationID: conversationID)
            let eveError = try await eve.client.waitFor(type: "error", timeout: .seconds(60)) { $0.string("id") == "e-steal" }
            #expect(eveError.string("code") == "forbidden", "\(eveError)")
            #expect(eveError.string("conversationId") == conversationID, "\(eveError)")

            // None of it reached the conversation: a later message gets the next seq.
            try await ann.client.sendMessage(id: "c-2", body: "still there?")
            let echo = try await ann.client.waitFor(type: "message", timeout: .seconds(60)) { $0.string("id") == "c-2" }
            let view = ConversationView(frames: ann.client.received, conversationID: conversationID)
            #expect(view.seqProblems().isEmpty, "\(view.seqProblems())")
            #expect(view.messageIDs(fromRole: "customer") == ["c-1", "c-2"], "\(view.entries)")
            #expect(view.messageIDs(fromRole: "agent").isEmpty, "\(view.entries)")
            #expect(echo.int("seq") == view.entries.count, "\(echo)")
            #expect(!eve.client.received.contains { $0.type == "message" && $0.string("conversationId") == conversationID }, "Eve saw Ann's conversation")
            #expect(!bob.client.received.contains { $0.type == "message" && $0.string("conversationId") == conversationID }, "Bob saw Alice's conversation")
        }
    }

    /// Missing and bad tokens: an `unauthorized` error frame, then close 4001. A valid token in
    /// the `Authorization` header works and wins over the query string.
    @Test("missing, garbage, forged, expired and algorithm-switched tokens are refused with 4001")
    func unauthorizedConnectionsAreClosed() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1) { cluster, scope in
            let gateway = cluster.gateways[0]
            let secret = cluster.configuration.jwtSecret
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 3)
            let visitor = try await gateway.http.visitorSession(name: "Ann")
            let agentSession = try await gateway.http.agentLogin(agentID: "alice", password: Self.agentPassword)
            let visitorClaims = try #require(JWTForge.decode(visitor.token)?.payload, "visitor token is not a JWT: \(visitor.token)")
            let agentClaims = try #require(JWTForge.decode(agentSession.token)?.payload, "agent token is not a JWT")
            #expect(JWTForge.decode(visitor.token)?.header["alg"]?.stringValue == "HS256")
            #expect(visitorClaims["aud"] == "cs-visitor" || visitorClaims["aud"] == ["cs-visitor"], "visitor aud: \(visitorClaims)")
            #expect(agentClaims["iss"] == "cs-gateway", "agent iss: \(agentClaims)")
            #expect(agentClaims["aud"] == "cs-agent" || agentClaims["aud"] == ["cs-agent"], "agent aud: \(agentClaims)")

            let past = Int(Date().timeIntervalSince1970) - 3600
            let tampered: String = {
                // Same signature, payload changed to another visitor.
                let parts = visitor.token.split(separator: ".")
                let payload = JWTForge.modified(visitorClaims, ["sub": "v_someoneelse1"])
                return String(parts[0]) + "." + JWTForge.base64URL(Data(payload.jsonText.utf8)) + "." + String(parts[2])
            }()
            let badTokens: [(String, String?)] = [
                ("no token", nil),
                ("empty token", ""),
                ("garbage", "garbage"),
                ("three garbage parts", "abc.def.ghi"),
                ("signed with another secret", JWTForge.sign(payload: visitorClaims, secret: "another-secret-0123456789abcdef")),
                ("agent claims signed with another secret", JWTForge.sign(payload: agentClaims, secret: "another-secret-0123456789abcdef")),
                ("expired", JWTForge.sign(payload: JWTForge.modified(visitorClaims, ["exp": .int(past), "iat": .int(past - 3600)]), secret: secret)),
                ("expired agent token", JWTForge.sign(payload: JWTForge.modified(agentClaims, ["exp": .int(past), "iat": .int(past - 3600)]), secret: secret)),
                ("alg none", JWTForge.sign(payload: visitorClaims, secret: secret, algorithm: .none)),
                ("alg HS512", JWTForge.sign(payload: visitorClaims, secret: secret, algorithm: .hs512)),
                ("tampered payload", tampered),
                ("wrong issuer", JWTForge.sign(payload: JWTForge.modified(agentClaims, ["iss": "someone-else"]), secret: secret)),
                ("visitor claims turned agent", JWTForge.sign(payload: JWTForge.modified(visitorClaims, ["role": "agent"]), secret: "another-secret-0123456789abcdef")),
            ]
            for (label, token) in badTokens {
                let result = try await Self.refusal(gateway, token: token)
                #expect(result.status == 101, "\(label): the upgrade must succeed: \(result)")
                #expect(result.closeCode == 4001, "\(label): expected close 4001, got \(result)")
                let first = result.messages.first
                #expect(first?["type"] == "error" && first?["code"] == "unauthorized", "\(label): expected an unauthorized error frame first, got \(result)")
                #expect(!result.messages.contains { $0["type"] == "hello" }, "\(label): got hello with a bad token: \(result)")
            }

            // A forged token in the header wins over a valid one in the query string...
            let headerForged = try await Self.refusal(
                gateway, token: visitor.token,
                headers: [("Authorization", "Bearer " + JWTForge.sign(payload: visitorClaims, secret: "another-secret-0123456789abcdef"))])
            #expect(headerForged.closeCode == 4001, "forged Authorization header with a valid query token: \(headerForged)")
            #expect(headerForged.messages.first?["code"] == "unauthorized", "\(headerForged)")

            // ...and a valid token in the header wins over garbage in the query string.
            let headerValid = try await scope.connect(
                gateway.webSocketURL, token: "garbage", label: "valid-header", headers: [("Authorization", "Bearer " + visitor.token)])
            let hello = try await headerValid.hello()
            #expect(hello.string("userId") == visitor.visitorID, "\(hello)")

            // The gateway still serves clients.
            #expect(gateway.process.isRunning, "the gateway died")
            let customer = try await Self.connectCustomer(scope, gateway, name: "Ann")
            try await customer.client.sendMessage(id: "c-after", body: "still working?")
            _ = try await customer.client.waitFor(type: "ack") { $0.string("id") == "c-after" }
        }
    }

    /// What the gateway sends to a WebSocket handshake with `token` (and `headers`), read with
    /// the raw probe (see `WebSocketProbe` for why not `WebSocketClient`).
    static func refusal(
        _ gateway: GatewayHandle,
        token: String?,
        headers: [(String, String)] = []
    ) async throws -> WebSocketProbe.Result {
        var path = "/v1/ws"
        if let token {
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&=+?#")
            path += "?token=" + (token.addingPercentEncoding(withAllowedCharacters: allowed) ?? token)
        }
        return try await WebSocketProbe.handshake(port: gateway.port, path: path, headers: headers, timeout: .seconds(30))
    }

    /// Frames that break the transport rules close the connection with the documented code; the
    /// gateway keeps serving everyone else.
    @Test("binary frames close with 1003, invalid UTF-8 with 1007, frames over 64 KiB with 1009")
    func protocolViolationsClose() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1) { cluster, scope in
            let gateway = cluster.gateways[0]
            let bystander = try await Self.connectCustomer(scope, gateway, name: "Bystander")

            let binary = try await Self.connectCustomer(scope, gateway, name: "Binary")
            try await binary.client.sendBinary([0x7B, 0x7D])
            let binaryClose = try await binary.client.waitForClose(timeout: .seconds(30))
            #expect(binaryClose.code == 1003, "binary frame: expected close 1003, got \(binaryClose)")

            let utf8 = try await Self.connectCustomer(scope, gateway, name: "BadUTF8")
            try await utf8.client.sendInvalidUTF8Text()
            let utf8Close = try await utf8.client.waitForClose(timeout: .seconds(30))
            #expect(utf8Close.code == 1007, "invalid UTF-8 text frame: expected close 1007, got \(utf8Close)")

            let big = try await Self.connectCustomer(scope, gateway, name: "Big")
            let filler = String(repeating: "x", count: 70 * 1024)
            try await big.client.sendText(#"{"type":"message","id":"c-big","body":"\#(filler)"}"#)
            let bigClose = try await big.client.waitForClose(timeout: .seconds(30))
            #expect(bigClose.code == 1009, "frame over 64 KiB: expected close 1009, got \(bigClose)")
            #expect(!Self.ackIDs(big.client).contains("c-big"), "the oversized message was accepted")

            // Everyone else is unaffected.
            #expect(gateway.process.isRunning, "the gateway died")
            #expect(bystander.client.isOpen, "bystander lost its connection: \(bystander.client.closeInfo.map(\.description) ?? "")")
            try await bystander.client.roundTrip()
            try await bystander.client.sendMessage(id: "c-1", body: "hello")
            _ = try await bystander.client.waitFor(type: "ack") { $0.string("id") == "c-1" }
            let fresh = try await Self.connectCustomer(scope, gateway, name: "Fresh")
            try await fresh.client.roundTrip()
        }
    }

    /// The HTTP endpoints answer bad requests with the documented status and code.
    @Test("HTTP endpoints reject bad requests with documented codes")
    func httpErrors() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 0) { cluster, _ in
            let http = cluster.gateways[0].http
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 3)

            func expectError(_ response: HTTPResponse, _ status: Int, _ code: String, _ label: String) {
                #expect(response.status == status, "\(label): \(response)")
                #expect(response.json?["error"]?["code"]?.stringValue == code, "\(label): \(response)")
                let message = response.json?["error"]?["message"]?.stringValue ?? ""
                #expect(!message.isEmpty, "\(label): error without message: \(response)")
            }
            expectError(try await http.post("/v1/agent/login", json: ["agentId": "alice", "password": "wrong"]), 401, "invalid_credentials", "wrong password")
            expectError(try await http.post("/v1/agent/login", json: ["agentId": "nobody", "password": "x"]), 401, "invalid_credentials", "unknown agent")
            expectError(try await http.post("/v1/agent/login", body: "{not json"), 400, "bad_request", "login, malformed JSON")
            expectError(try await http.post("/v1/agent/login", json: ["agentId": "alice"]), 400, "invalid_field", "login without password")
            expectError(try await http.post("/v1/visitor/session", body: "[1,2]"), 400, "bad_request", "session, JSON array")
            expectError(try await http.post("/v1/visitor/session", json: ["name": .string(String(repeating: "n", count: 81))]), 400, "invalid_field", "session, name of 81 characters")

            // Defaults and resumption.
            let anonymous = try await http.visitorSession()
            #expect(anonymous.name == "Visitor", "\(anonymous.response)")
            let resumed = try await http.visitorSession(name: "Ann", token: anonymous.token)
            #expect(resumed.visitorID == anonymous.visitorID, "resuming with a valid token must keep the visitor id: \(resumed.response)")
            #expect(resumed.name == "Ann", "\(resumed.response)")
            let fresh = try await http.visitorSession(name: "Ann", token: "garbage")
            #expect(fresh.visitorID != anonymous.visitorID, "an invalid token must start a new session: \(fresh.response)")

            let health = try await http.get("/healthz")
            #expect(health.status == 200 && health.json?["gatewayId"]?.stringValue == "gw-1", "\(health)")
            let ready = try await http.get("/readyz")
            #expect(ready.status == 200 && ready.json?["status"]?.stringValue == "ready", "\(ready)")
        }
    }
}
