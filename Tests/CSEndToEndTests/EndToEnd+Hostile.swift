import CSTestSupport
import Foundation
import Testing

/// Hostile input, end to end (docs/reliability.md, "Hostile input": the table lists every case,
/// its outcome and the test). Each test ends by checking that no process died and that a normal
/// chat still works. Extends EndToEnd+BadInput.swift, which covers the basic malformed frames,
/// tokens and transport violations.
extension EndToEnd {
    /// The frames of the hostile tests come faster than a person types; the frame limit is
    /// tested on its own (EndToEnd+RateLimits.swift).
    static let hostileGatewayArguments = ["--rate-limit-frames-per-second", "0"]

    /// A customer with an open conversation assigned to an agent: the victim whose data the
    /// attacker must never see.
    struct Victim: Sendable {
        let customer: Customer
        let agent: Agent
        let conversationID: String
    }

    static func openVictimConversation(_ cluster: Cluster, _ scope: ChatClientScope, _ gateway: GatewayHandle) async throws -> Victim {
        try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 5)
        let alice = try await Self.connectAgent(scope, gateway, id: "alice")
        let ann = try await Self.connectCustomer(scope, gateway, name: "Ann")
        try await ann.client.sendMessage(id: "c-secret", body: "my card number is 4111 1111 1111 1111")
        let assigned = try await alice.client.waitFor(type: "conversation.assigned", timeout: .seconds(60))
        let conversationID = try #require(assigned.string("conversationId"))
        _ = try await ann.client.waitFor(type: "message", timeout: .seconds(60)) { $0.string("id") == "c-secret" }
        return Victim(customer: ann, agent: alice, conversationID: conversationID)
    }

    /// After hostile input: every process runs, nobody but the victim and the agent saw the
    /// victim's conversation, and a normal exchange still works both ways.
    static func expectSystemHealthy(_ cluster: Cluster, _ victim: Victim, attackers: [ChatClient], label: String) async throws {
        #expect(cluster.unexpectedlyExited().isEmpty, "\(label): processes died: \(cluster.unexpectedlyExited().map(\.name))")
        for attacker in attackers {
            let leaked = attacker.received.filter { frame in
                frame.string("conversationId") == victim.conversationID && frame.type != "error"
                    || frame.text.contains("4111 1111")
            }
            #expect(leaked.isEmpty, "\(label): \(attacker.label) saw the victim's conversation: \(leaked.prefix(3))")
        }
        let id = "c-healthy-\(UUID().uuidString.prefix(6))"
        try await victim.customer.client.sendMessage(id: id, body: "still there?")
        _ = try await victim.agent.client.waitFor(type: "message", timeout: .seconds(60)) { $0.string("id") == id }
        let reply = "a-healthy-\(UUID().uuidString.prefix(6))"
        try await victim.agent.client.sendMessage(id: reply, body: "yes", conversationID: victim.conversationID)
        _ = try await victim.customer.client.waitFor(type: "message", timeout: .seconds(60)) { $0.string("id") == reply }
    }

    /// One hostile WebSocket frame and what it must get: an `error` with `code` (and the frame's
    /// `id` when given), or the `reply` frame type; the connection stays open.
    struct HostileFrame: CustomStringConvertible, Sendable {
        let label: String
        let text: String
        /// Expected error code; nil when `reply` is expected instead.
        var code: String? = nil
        /// The id the error (or reply) must carry.
        var id: String? = nil
        /// The frame type answered when no error is expected (`pong`, `ack`).
        var reply: String? = nil
        var description: String { label }
    }

    static func hostileFrames(victim conversationID: String) -> [HostileFrame] {
        let deepArrays = String(repeating: "[", count: 32_000) + String(repeating: "]", count: 32_000)
        let deepField = #"{"type":"ping","id":"p-deep","x":"# + String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000) + "}"
        let manyKeys = #"{"type":"ping","id":"p-keys","# + (0..<8_000).map { #""\#(String($0, radix: 36))":0"# }.joined(separator: ",") + "}"
        let longValue = #"{"type":"ping","id":"p-long","x":""# + String(repeating: "y", count: 60_000) + #""}"#
        let resume21 = (0..<21).map { #"{"conversationId":"v_a.c\#($0)","lastSeq":0}"# }.joined(separator: ",")
        return [
            HostileFrame(label: "32,000 nested arrays (64,000 bytes)", text: deepArrays, code: "bad_request"),
            HostileFrame(label: "30,000 nested arrays inside a field of a ping", text: deepField, code: "bad_request"),
            HostileFrame(label: "8,000 unknown keys (63 KB)", text: manyKeys, id: "p-keys", reply: "pong"),
            HostileFrame(label: "a 60,000-character unknown field", text: longValue, id: "p-long", reply: "pong"),
            // A number that does not fit its field is refused as malformed JSON (`bad_request`), not as
            // `invalid_field` as protocol.md says (docs/reliability.md, "Hostile input", finding 1).
            HostileFrame(label: "seq 1e400", text: #"{"type":"read","conversationId":"v_a.b","seq":1e400}"#, code: "bad_request"),
            HostileFrame(label: "seq 2^64", text: #"{"type":"read","conversationId":"v_a.b","seq":18446744073709551616}"#, code: "bad_request"),
            HostileFrame(label: "seq -1", text: #"{"type":"read","conversationId":"v_a.b","seq":-1}"#, code: "invalid_field"),
            HostileFrame(label: "seq as a string", text: #"{"type":"read","conversationId":"v_a.b","seq":"5"}"#, code: "invalid_field"),
            HostileFrame(label: "score 1e400", text: #"{"type":"rate","id":"r-big","conversationId":"v_a.b","score":1e400}"#, code: "bad_request", id: "r-big"),
            HostileFrame(label: "score 4.5", text: #"{"type":"rate","id":"r-half","conversationId":"v_a.b","score":4.5}"#, code: "invalid_field", id: "r-half"),
            HostileFrame(label: "lastSeq 2^63", text: #"{"type":"resume","conversations":[{"conversationId":"v_a.b","lastSeq":9223372036854775808}]}"#, code: "bad_request"),
            HostileFrame(label: "type is a number", text: #"{"type":5,"id":"c-1"}"#, code: "invalid_field"),
            HostileFrame(label: "type is null", text: #"{"type":null}"#, code: "unknown_type"),
            HostileFrame(label: "body is an array", text: #"{"type":"message","id":"c-arr","body":["x"]}"#, code: "invalid_field", id: "c-arr"),
            HostileFrame(label: "body is an object", text: #"{"type":"message","id":"c-obj","body":{"x":1}}"#, code: "invalid_field", id: "c-obj"),
            HostileFrame(label: "NUL byte in the id", text: #"{"type":"message","id":"c-\u0000","body":"x"}"#, code: "invalid_field"),
            HostileFrame(label: "RTL override in the id", text: #"{"type":"message","id":"c-\u202e1","body":"x"}"#, code: "invalid_field"),
            HostileFrame(label: "id of 65 characters in a ping", text: #"{"type":"ping","id":"\#(String(repeating: "p", count: 65))"}"#, code: "invalid_field"),
            HostileFrame(label: "resume with 21 conversations", text: #"{"type":"resume","conversations":[\#(resume21)]}"#, code: "invalid_field"),
            HostileFrame(label: "resume item without lastSeq", text: #"{"type":"resume","conversations":[{"conversationId":"v_a.b"}]}"#, code: "invalid_field"),
            HostileFrame(label: "trailing garbage after the object", text: #"{"type":"ping","id":"p-trail"} x"#, code: "bad_request"),
            // JSON parsers may skip a byte-order mark (RFC 8259); the frame is a ping.
            HostileFrame(label: "byte-order mark before the object", text: "\u{FEFF}" + #"{"type":"ping","id":"p-bom"}"#, id: "p-bom", reply: "pong"),
            // Duplicate keys: the first one counts (Foundation's JSONDecoder); the gateway is the only parser.
            HostileFrame(label: "duplicate type keys", text: #"{"type":"ping","type":"dance","id":"p-dup"}"#, id: "p-dup", reply: "pong"),
            HostileFrame(label: "presence from a customer", text: #"{"type":"presence","status":"offline"}"#, code: "forbidden"),
            HostileFrame(
                label: "transfer from a customer", text: #"{"type":"transfer","id":"t-1","conversationId":"\#(conversationID)","toSkill":"default"}"#,
                code: "forbidden", id: "t-1"),
            HostileFrame(
                label: "message into another customer's conversation",
                text: #"{"type":"message","id":"c-steal","conversationId":"\#(conversationID)","body":"hi"}"#, code: "forbidden", id: "c-steal"),
            HostileFrame(
                label: "resume of another customer's conversation",
                text: #"{"type":"resume","conversations":[{"conversationId":"\#(conversationID)","lastSeq":0}]}"#, code: "forbidden"),
            HostileFrame(label: "typing in another customer's conversation", text: #"{"type":"typing","conversationId":"\#(conversationID)"}"#, code: "forbidden"),
            HostileFrame(
                label: "rate another customer's conversation",
                text: #"{"type":"rate","id":"r-steal","conversationId":"\#(conversationID)","score":1}"#, code: "forbidden", id: "r-steal"),
            HostileFrame(label: "close another customer's conversation", text: #"{"type":"close","id":"x-steal","conversationId":"\#(conversationID)"}"#, code: "forbidden", id: "x-steal"),
            HostileFrame(label: "notification.ack of an unknown notification", text: #"{"type":"notification.ack","id":"n_000000000000"}"#, code: "not_found", id: "n_000000000000"),
        ]
    }

    /// Hostile frames on one connection: each gets its documented answer, the connection stays
    /// open, nothing is accepted, and the victim's conversation stays private and unchanged.
    @Test("hostile frames: nesting, huge numbers, many keys, wrong types, other users' conversations")
    func hostileFrames() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1, gatewayArguments: Self.hostileGatewayArguments) { cluster, scope in
            let gateway = cluster.gateways[0]
            let victim = try await Self.openVictimConversation(cluster, scope, gateway)
            let mallory = try await Self.connectCustomer(scope, gateway, name: "Mallory")
            var failures: [String] = []
            for hostile in Self.hostileFrames(victim: victim.conversationID) {
                try await mallory.client.sendText(hostile.text)
                let answer = try await mallory.client.waitUntil("an answer to \(hostile.label)", timeout: .seconds(30)) { view -> ReceivedFrame? in
                    guard let index = view.pending.firstIndex(where: { $0.type == "error" || $0.type == "ack" || $0.type == "pong" }) else { return nil }
                    return view.pending.remove(at: index)
                }
                if let code = hostile.code {
                    if answer.type != "error" || answer.string("code") != code {
                        failures.append("\(hostile.label): expected error \(code), got \(answer)")
                    }
                } else if answer.type != hostile.reply {
                    failures.append("\(hostile.label): expected \(hostile.reply ?? "?"), got \(answer)")
                }
                if let id = hostile.id, answer.string("id") != id { failures.append("\(hostile.label): answer without id \(id): \(answer)") }
                if answer.type == "error", (answer.string("message") ?? "").isEmpty { failures.append("\(hostile.label): error without message") }
                try await mallory.client.roundTrip()
                #expect(mallory.client.isOpen, "\(hostile.label) closed the connection: \(mallory.client.closeInfo.map(\.description) ?? "")")
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            #expect(mallory.client.received(type: "ack").isEmpty, "hostile frames were accepted: \(mallory.client.received(type: "ack"))")
            // The victim saw nothing of Mallory: no typing, no close, no foreign message.
            try await victim.customer.client.roundTrip()
            let seen = victim.customer.client.received.filter { $0.type == "typing" || $0.type == "conversation.closed" || $0.string("id") == "c-steal" }
            #expect(seen.isEmpty, "the victim saw the attacker's frames: \(seen)")
            try await Self.expectSystemHealthy(cluster, victim, attackers: [mallory.client], label: "hostile frames")
        }
    }

    /// Text that must travel unchanged: NUL bytes, emoji, RTL overrides, quotes and escapes in
    /// bodies, emoji and right-to-left letters in names; the JSON around them stays valid for every
    /// reader. Names with control or bidirectional-override characters are refused.
    @Test("NUL bytes, emoji and RTL overrides in bodies arrive unchanged; spoofing names are refused")
    func hostileText() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1, gatewayArguments: Self.hostileGatewayArguments) { cluster, scope in
            let gateway = cluster.gateways[0]
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 5)
            let alice = try await Self.connectAgent(scope, gateway, id: "alice")
            let name = "Ann 😀👩‍👩‍👧 \"q\" \\ </script> \u{05D0}\u{05D1}"
            let customer = try await Self.connectCustomer(scope, gateway, name: name)
            let body = "a\u{0}b \u{202E}evil\u{202C} 😀 \u{FEFF}\u{200F} \"\\ \n\t </script><script>alert(1)</script> \u{10FFFF}"
            try await customer.client.sendMessage(id: "c-text", body: body)
            let assigned = try await alice.client.waitFor(type: "conversation.assigned", timeout: .seconds(60))
            #expect(assigned["customer"]?["name"]?.stringValue == name, "\(assigned)")
            let delivered = try await alice.client.waitFor(type: "message", timeout: .seconds(60)) { $0.string("id") == "c-text" }
            #expect(delivered.string("body") == body, "body changed on the way: \(delivered)")
            #expect(delivered["from"]?["name"]?.stringValue == name, "\(delivered)")
            let history = try await gateway.http.fullHistory(try #require(assigned.string("conversationId")), token: customer.session.token)
            #expect(history.contains { $0["body"]?.stringValue == body }, "history changed the body")

            // Names: 80 characters (grapheme clusters) pass, 81 do not.
            let emojiName = String(repeating: "👩‍👩‍👧", count: 80)
            let emojiSession = try await gateway.http.visitorSession(name: emojiName)
            #expect(emojiSession.name == emojiName)
            let tooLong = try await gateway.http.post("/v1/visitor/session", json: ["name": .string(String(repeating: "😀", count: 81))])
            #expect(tooLong.status == 400 && tooLong.json?["error"]?["code"]?.stringValue == "invalid_field", "\(tooLong)")

            // One character (grapheme cluster) carrying 5,000 combining marks: 10 KB of name.
            let zalgo = "Z" + String(repeating: "\u{0301}", count: 5_000)
            let zalgoResponse = try await gateway.http.post("/v1/visitor/session", json: ["name": .string(zalgo)])
            #expect(zalgoResponse.status == 400 && zalgoResponse.json?["error"]?["code"]?.stringValue == "invalid_field", "\(zalgoResponse.status)")
            // Names that would spoof how they read in the agent console are refused.
            for spoof in ["\u{202E}nimdA\u{202C}", "A\u{0}nn", "Bob\u{2066}x\u{2069}", "tab\there"] {
                let refused = try await gateway.http.post("/v1/visitor/session", json: ["name": .string(spoof)])
                #expect(refused.status == 400 && refused.json?["error"]?["code"]?.stringValue == "invalid_field", "\(spoof.unicodeScalars.map { $0.value }): \(refused)")
            }
            if zalgoResponse.status == 200, let token = zalgoResponse.json?["token"]?.stringValue {
                // The 13.6 KB token works, and the 10 KB name travels with every frame.
                let result = try await RawWebSocket.exchange(
                    port: gateway.port, path: "/v1/ws?token=\(token)", frames: [], stopAfterFirstFrame: true, timeout: .seconds(15))
                #expect(result.messages.first?["name"]?.stringValue == zalgo, "\(result.status) \(result.closeCode.map(String.init) ?? "")")
            }
            #expect(cluster.unexpectedlyExited().isEmpty)
        }
    }

    /// Tokens and handshakes an attacker crafts: algorithm confusion, oversized or reused
    /// tokens, another user's token for a session, a foreign Origin.
    @Test("algorithm confusion, oversized tokens, token reuse, foreign origins are refused")
    func hostileHandshakes() async throws {
        let allowed = "https://shop.example.com"
        try await Self.withSystem(
            gateways: 1, dispatchers: 1, gatewayArguments: Self.hostileGatewayArguments + ["--allowed-origins", allowed]
        ) { cluster, scope in
            let gateway = cluster.gateways[0]
            let secret = cluster.configuration.jwtSecret
            let victim = try await Self.openVictimConversation(cluster, scope, gateway)
            let visitorClaims = try #require(JWTForge.decode(victim.customer.session.token)?.payload)
            let agentClaims = try #require(JWTForge.decode(victim.agent.session.token)?.payload)

            func forged(alg: String, payload: JSONValue, signature: String = "c2lnbmF0dXJl") -> String {
                let header: JSONValue = ["alg": .string(alg), "typ": "JWT"]
                return JWTForge.base64URL(Data(header.jsonText.utf8)) + "." + JWTForge.base64URL(Data(payload.jsonText.utf8)) + "." + signature
            }
            /// HS256-signed, but the header claims `alg` (the signature is right for HS256).
            func relabelled(alg: String, payload: JSONValue) -> String {
                let header: JSONValue = ["alg": .string(alg), "typ": "JWT"]
                let input = JWTForge.base64URL(Data(header.jsonText.utf8)) + "." + JWTForge.base64URL(Data(payload.jsonText.utf8))
                let valid = JWTForge.sign(payload: payload, secret: secret)
                return input + "." + (valid.split(separator: ".").last.map(String.init) ?? "")
            }
            let badTokens: [(String, String)] = [
                ("alg RS256 with an HMAC signature", relabelled(alg: "RS256", payload: visitorClaims)),
                ("alg HS384 header on an HS256 signature", relabelled(alg: "HS384", payload: visitorClaims)),
                ("alg ES256, garbage signature", forged(alg: "ES256", payload: agentClaims)),
                ("alg NONE (upper case), no signature", forged(alg: "NONE", payload: agentClaims, signature: "")),
                ("alg none with a signature", forged(alg: "none", payload: agentClaims)),
                ("a visitor's signature on agent claims", {
                    let agentPayload = JWTForge.modified(visitorClaims, ["aud": "cs-agent", "iss": "cs-gateway", "role": "supervisor"])
                    let parts = victim.customer.session.token.split(separator: ".")
                    return String(parts[0]) + "." + JWTForge.base64URL(Data(agentPayload.jsonText.utf8)) + "." + String(parts[2])
                }()),
                ("8 KB of garbage", String(repeating: "A", count: 8_192)),
                ("two tokens joined", victim.customer.session.token + "." + victim.agent.session.token),
                ("token with a NUL byte", victim.customer.session.token + "%00"),
            ]
            for (label, token) in badTokens {
                let result = try await Self.refusal(gateway, token: token)
                #expect(result.status == 101 && result.closeCode == 4001, "\(label): expected 101 then close 4001, got \(result)")
                #expect(!result.messages.contains { $0["type"] == "hello" }, "\(label): got hello: \(result)")
            }

            // An agent's token offered as a visitor token gets a new visitor, not the agent.
            let fromAgentToken = try await gateway.http.visitorSession(name: "Eve", token: victim.agent.session.token)
            #expect(fromAgentToken.visitorID != "alice" && fromAgentToken.visitorID.hasPrefix("v_"), "\(fromAgentToken.response)")
            // A visitor token of Ann resumed as Eve keeps Ann's id only with Ann's token: a forged
            // `sub` is refused, so the token itself is the identity (BadInput: tampered payload).
            let eve = try await gateway.http.visitorSession(name: "Eve", token: "garbage")
            #expect(eve.visitorID != victim.customer.id)

            // Origins: a foreign page is refused before the upgrade; the allowed one and the
            // gateway's own pass (no Origin at all: every other test).
            for origin in ["https://evil.example.com", "null", "https://shop.example.com.evil.com", "http://shop.example.com"] {
                let probe = try await WebSocketProbe.handshake(
                    port: gateway.port, path: "/v1/ws?token=\(victim.customer.session.token)", headers: [("Origin", origin)])
                // A refused upgrade is HTTP 400 (the WebSocket library's answer to every refused
                // upgrade; protocol.md), with no frames.
                #expect(probe.status == 400 && probe.frames.isEmpty, "Origin \(origin): \(probe)")
            }
            for origin in [allowed, "http://127.0.0.1:\(gateway.port)", "HTTPS://SHOP.EXAMPLE.COM"] {
                let probe = try await RawWebSocket.exchange(
                    port: gateway.port, path: "/v1/ws?token=\(victim.customer.session.token)", frames: [], headers: [("Origin", origin)],
                    stopAfterFirstFrame: true, timeout: .seconds(10))
                #expect(probe.status == 101 && probe.messages.first?["type"] == "hello", "Origin \(origin) must be accepted: \(probe)")
            }
            #expect(gateway.process.log().contains("refused WebSocket from a foreign origin"))

            // A resume URL naming someone else's conversation, garbage and too many items: hello,
            // then forbidden for the foreign conversation only.
            let mallory = try await gateway.http.visitorSession(name: "Mallory")
            let items = [victim.conversationID + ":0", "::::", "x:y", "v_a.b:-5", "v_a.b:99999999999999999999999"] + (0..<25).map { "v_a.c\($0):0" }
            let resumed = try await scope.connect(
                gateway.webSocketURL + "?resume=" + items.joined(separator: ","), token: mallory.token, label: "mallory-resume")
            try await resumed.hello()
            let forbidden = try await resumed.waitFor(type: "error", timeout: .seconds(30)) { $0.string("conversationId") == victim.conversationID }
            #expect(forbidden.string("code") == "forbidden", "\(forbidden)")
            try await resumed.roundTrip()
            try await Self.expectSystemHealthy(cluster, victim, attackers: [resumed], label: "hostile handshakes")
        }
    }

    /// Transport violations sent as raw frames: each closes that connection with its code and
    /// nothing else.
    @Test("raw frames: unmasked, reserved opcode and bits, long control frames, fragments, lying lengths")
    func hostileTransport() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1, gatewayArguments: Self.hostileGatewayArguments) { cluster, scope in
            let gateway = cluster.gateways[0]
            let victim = try await Self.openVictimConversation(cluster, scope, gateway)
            let token = try await gateway.http.visitorSession(name: "Mallory").token
            let big = String(repeating: "x", count: 40_000)
            let cases: [(String, [[UInt8]], Set<UInt16>)] = [
                // RFC 6455: a server closes on an unmasked client frame (finding 3 in
                // docs/reliability.md); the ping in it is not answered.
                ("an unmasked text frame", [
                    RawWebSocket.frame(opcode: 0x1, payload: Array(#"{"type":"ping","id":"p-unmasked"}"#.utf8), masked: false),
                ], [1002]),
                // A violation closes after the answers to the frames before it (they are handled
                // in order): the message written in the same packet as the binary frame is still
                // accepted and acked (its ack waits for Redis, long after the binary frame is read).
                ("a message, then at once a binary frame", [
                    RawWebSocket.frame(opcode: 0x1, payload: Array(#"{"type":"message","id":"m-before","body":"hello"}"#.utf8))
                        + RawWebSocket.frame(opcode: 0x2, payload: [1]),
                ], [1003]),
                ("reserved opcode 0x3", [RawWebSocket.frame(opcode: 0x3, payload: [1, 2, 3])], [1002]),
                ("RSV1 set without an extension", [RawWebSocket.frame(opcode: 0x1, payload: Array(#"{"type":"ping"}"#.utf8), rsv: 0x4)], [1002]),
                ("a ping with 200 bytes (control frames are at most 125)", [RawWebSocket.frame(opcode: 0x9, payload: Array(repeating: 0x41, count: 200))], [1002]),
                ("a fragmented control frame", [RawWebSocket.frame(opcode: 0x9, payload: [1], fin: false)], [1002]),
                ("a continuation frame without a first fragment", [RawWebSocket.frame(opcode: 0x0, payload: Array("x".utf8))], [1002]),
                ("two fragments of 40,000 bytes (over 64 KiB together)", [
                    RawWebSocket.frame(opcode: 0x1, payload: Array((#"{"type":"message","id":"c-frag","body":""# + big).utf8), fin: false),
                    RawWebSocket.frame(opcode: 0x0, payload: Array((big + #""}"#).utf8)),
                ], [1009]),
                ("10,000 unknown keys in a ping (79 KB)", [RawWebSocket.text(
                    #"{"type":"ping","# + (0..<10_000).map { #""k\#($0)":0"# }.joined(separator: ",") + "}")], [1009]),
                ("100,000 nested arrays (200,000 bytes)", [RawWebSocket.text(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000))], [1009]),
                ("a length field of 2^62 bytes", [RawWebSocket.frame(opcode: 0x1, payload: Array("{".utf8), length: 1 << 62)], [1009]),
                ("invalid UTF-8 split across fragments", [
                    RawWebSocket.frame(opcode: 0x1, payload: Array(#"{"type":"ping","id":"a"#.utf8) + [0xC3], fin: false),
                    RawWebSocket.frame(opcode: 0x0, payload: [0x28] + Array(#""}"#.utf8)),
                ], [1007]),
                ("a close frame with code 999", [RawWebSocket.frame(opcode: 0x8, payload: [0x03, 0xE7])], [1002]),
                ("a new text frame in the middle of a fragmented one", [
                    RawWebSocket.frame(opcode: 0x1, payload: Array("{".utf8), fin: false),
                    RawWebSocket.frame(opcode: 0x1, payload: Array("{}".utf8)),
                ], [1002]),
            ]
            var failures: [String] = []
            for (label, frames, codes) in cases {
                do {
                    let result = try await RawWebSocket.exchange(port: gateway.port, path: "/v1/ws?token=\(token)", frames: frames, timeout: .seconds(15))
                    if !(result.closeCode.map(codes.contains) ?? false) { failures.append("\(label): expected close \(codes.sorted()), got \(result)") }
                    let acked = result.messages.filter { $0["type"] == "ack" }.map { $0["id"] ?? "" }
                    if label.hasPrefix("a message, then") {
                        if acked != ["m-before"] { failures.append("\(label): the message before the violation was not acked once: \(result)") }
                    } else if !acked.isEmpty {
                        failures.append("\(label): something was accepted: \(result)")
                    }
                    if label.hasPrefix("an unmasked"), result.messages.contains(where: { $0["id"] == "p-unmasked" }) {
                        failures.append("\(label): the unmasked ping was answered: \(result)")
                    }
                } catch {
                    failures.append("\(label): \(error)")
                }
            }
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            try await Self.expectSystemHealthy(cluster, victim, attackers: [], label: "hostile transport")
        }
    }

    /// The HTTP API under hostile input: bodies over 16 KiB, deep nesting, other users'
    /// conversations, absurd query values, path tricks.
    @Test("HTTP: oversized and nested bodies, other users' history and rating, absurd queries")
    func hostileHTTP() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1, gatewayArguments: Self.hostileGatewayArguments) { cluster, scope in
            let gateway = cluster.gateways[0]
            let http = gateway.http
            let victim = try await Self.openVictimConversation(cluster, scope, gateway)
            let mallory = try await http.visitorSession(name: "Mallory")
            var failures: [String] = []
            func expect(_ label: String, _ response: HTTPResponse, _ status: Int, _ code: String?) {
                if response.status != status || (code != nil && response.json?["error"]?["code"]?.stringValue != code) {
                    failures.append("\(label): expected \(status) \(code ?? ""), got \(response)")
                }
                if response.bodyText.contains("4111 1111") { failures.append("\(label): leaked the victim's message") }
            }
            let keys17k = "{" + (0..<10_000).map { #""\#(String($0, radix: 36))":0"# }.joined(separator: ",") + "}"
            let nested = String(repeating: "[", count: 8_000) + String(repeating: "]", count: 8_000)
            let padded = #"{"name":"Ann","pad":""# + String(repeating: "x", count: 17 * 1024) + #""}"#
            expect("visitor session, 10,000 unknown keys (over 16 KiB)", try await http.post("/v1/visitor/session", body: keys17k), 400, "bad_request")
            expect("visitor session, 17 KiB body", try await http.post("/v1/visitor/session", body: padded), 400, "bad_request")
            expect("visitor session, 8,000 nested arrays", try await http.post("/v1/visitor/session", body: nested), 400, "bad_request")
            expect("agent login, 17 KiB body", try await http.post("/v1/agent/login", body: padded), 400, "bad_request")
            expect("offline message, 17 KiB body", try await http.request(
                "POST", "/v1/offline-messages", body: Data(padded.utf8),
                headers: ["Authorization": "Bearer \(mallory.token)", "Content-Type": "application/json"], timeout: .seconds(30)), 400, "bad_request")
            expect("visitor session, NUL in the name", try await http.post("/v1/visitor/session", body: #"{"name":"A\u0000nn"}"#), 400, "invalid_field")
            expect("visitor session, name is a number", try await http.post("/v1/visitor/session", body: #"{"name":5}"#), 400, nil)
            expect("another customer's history", try await http.history(victim.conversationID, token: mallory.token), 403, "forbidden")
            expect("another customer's history without a token", try await http.history(victim.conversationID, token: nil), 401, "unauthorized")
            expect("another customer's rating", try await http.get("/v1/conversations/\(victim.conversationID)/rating", token: mallory.token), 403, "forbidden")
            expect("history, limit 10^30", try await http.get("/v1/conversations/\(victim.conversationID)/messages?limit=1000000000000000000000000000000", token: victim.customer.session.token), 400, "invalid_field")
            expect("history, limit -1", try await http.get("/v1/conversations/\(victim.conversationID)/messages?limit=-1", token: victim.customer.session.token), 400, "invalid_field")
            expect("history, after 2^64", try await http.get("/v1/conversations/\(victim.conversationID)/messages?after=18446744073709551616", token: victim.customer.session.token), 400, "invalid_field")
            let id65 = "v_" + String(repeating: "a", count: 63)
            expect("history of a 65-character conversation id", try await http.history(id65, token: mallory.token), 400, "invalid_field")
            expect("history of a conversation that does not exist", try await http.history("v_nobody000000.abcdefgh", token: mallory.token), 403, "forbidden")
            expect("rating of a conversation that does not exist", try await http.get("/v1/conversations/v_nobody000000.abcdefgh/rating", token: mallory.token), 403, "forbidden")
            expect("rating of a malformed conversation id", try await http.get("/v1/conversations/v_a%7Bb/rating", token: mallory.token), 400, "invalid_field")
            expect("history with ../ in the id", try await http.get("/v1/conversations/..%2F..%2Fagents/messages", token: mallory.token), 400, "invalid_field")
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            try await Self.expectSystemHealthy(cluster, victim, attackers: [], label: "hostile HTTP")
        }
    }
}
