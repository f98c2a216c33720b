import CSCore
import CSTestSupport
import Foundation
import Testing

/// Issue 21, items 7 and 8: staff tokens follow their accounts (revocation, refresh) and sign-ins
/// are throttled per account and per address (docs/api.md "Staff tokens" and "Limits";
/// docs/reliability.md, hostile input).
extension EndToEnd {
    static let adminKey = "e2e-admin-key-0123456789abcdef-0123456789"

    static func bearer(_ token: String) -> [String: String] { ["Authorization": "Bearer \(token)"] }

    /// A removed supervisor's token no longer creates agents, reads live statistics or opens
    /// the WebSocket; a password change revokes the old tokens; a refresh gives a working token
    /// but not to a revoked one.
    @Test("staff tokens are checked against their account: removal, password change, refresh")
    func staffTokensAreRevoked() async throws {
        try await Self.withSystem(gatewayArguments: ["--admin-key", Self.adminKey]) { cluster, _ in
            let gateway = cluster.gateways[0]
            let http = gateway.http
            try await cluster.addAgent(id: "sam", name: "Sam", password: Self.agentPassword, skills: ["supervision"], max: 1, role: "supervisor")
            let sam = try await http.agentLogin(agentID: "sam", password: Self.agentPassword).token
            let created = try await http.post(
                "/v1/agents", json: ["id": "bob", "name": "Bob", "password": "bob-password-1"], headers: Self.bearer(sam))
            #expect(created.status == 201, "\(created)")
            #expect(try await http.get("/v1/stats/live", headers: Self.bearer(sam)).status == 200)

            // Refresh: a new token that works, for a still valid one.
            let refreshed = try await http.post("/v1/agent/refresh", json: [:], headers: Self.bearer(sam))
            #expect(refreshed.status == 200 && refreshed.json?["agent"]?["id"]?.stringValue == "sam", "\(refreshed)")
            let samRefreshed = try #require(refreshed.json?["token"]?.stringValue)
            #expect(try await http.get("/v1/stats/live", headers: Self.bearer(samRefreshed)).status == 200)

            // Removed: every token of the account fails, also on the WebSocket (after the 1 s cache).
            _ = try await cluster.admin(["agent", "remove", "sam"])
            try await Task.sleep(for: .milliseconds(1_300))
            for token in [sam, samRefreshed] {
                let create = try await http.post("/v1/agents", json: ["id": "eve", "name": "Eve", "password": "eve-password-1"], headers: Self.bearer(token))
                #expect(create.status == 401 && create.json?["error"]?["code"]?.stringValue == "unauthorized", "\(create)")
                #expect(try await http.get("/v1/stats/live", headers: Self.bearer(token)).status == 401)
                #expect(try await http.post("/v1/agent/refresh", json: [:], headers: Self.bearer(token)).status == 401)
                let socket = try await WebSocketProbe.handshake(port: gateway.port, path: "/v1/ws?token=\(token)", timeout: .seconds(10))
                #expect(socket.closeCode == 4001, "a removed account's token must not open the WebSocket: \(socket)")
            }
            // Created again under the same id: the old tokens stay dead.
            try await cluster.addAgent(id: "sam", name: "Sam", password: Self.agentPassword, skills: ["supervision"], max: 1, role: "supervisor")
            try await Task.sleep(for: .milliseconds(1_300))
            #expect(try await http.get("/v1/stats/live", headers: Self.bearer(sam)).status == 401)

            // A password change (PATCH) revokes; the new password signs in.
            let bob = try await http.agentLogin(agentID: "bob", password: "bob-password-1").token
            let changed = try await http.request(
                "PATCH", "/v1/agents/bob", body: Data(#"{"password":"bob-password-2"}"#.utf8),
                headers: ["X-Admin-Key": Self.adminKey, "Content-Type": "application/json"], timeout: .seconds(30))
            #expect(changed.status == 200, "\(changed)")
            try await Task.sleep(for: .milliseconds(1_300))
            #expect(try await http.post("/v1/agent/refresh", json: [:], headers: Self.bearer(bob)).status == 401)
            let socket = try await WebSocketProbe.handshake(port: gateway.port, path: "/v1/ws?token=\(bob)", timeout: .seconds(10))
            #expect(socket.closeCode == 4001, "\(socket)")
            let bobAgain = try await http.agentLogin(agentID: "bob", password: "bob-password-2").token
            #expect(try await http.post("/v1/agent/refresh", json: [:], headers: Self.bearer(bobAgain)).status == 200)
            // A name change revokes nothing.
            let renamed = try await http.request(
                "PATCH", "/v1/agents/bob", body: Data(#"{"name":"Bobby"}"#.utf8),
                headers: ["X-Admin-Key": Self.adminKey, "Content-Type": "application/json"], timeout: .seconds(30))
            #expect(renamed.status == 200, "\(renamed)")
            try await Task.sleep(for: .milliseconds(1_300))
            #expect(try await http.post("/v1/agent/refresh", json: [:], headers: Self.bearer(bobAgain)).status == 200)
            // Passwords shorter than 10 characters are refused.
            let short = try await http.post(
                "/v1/agents", json: ["id": "tim", "name": "Tim", "password": "123456789"], headers: ["X-Admin-Key": Self.adminKey])
            #expect(short.status == 400 && short.json?["error"]?["code"]?.stringValue == "invalid_field", "\(short)")
        }
    }

    /// Ten failed sign-ins lock the account (429 with Retry-After, even with the right password,
    /// and on every gateway); another account is unaffected; an unknown id answers no faster
    /// than a known one.
    @Test("sign-ins are throttled per account; unknown ids cost a hash check")
    func signInThrottlePerAccount() async throws {
        try await Self.withSystem(gateways: 2) { cluster, _ in
            let (first, second) = (cluster.gateways[0].http, cluster.gateways[1].http)
            for id in ["alice", "bob", "carol"] { try await cluster.addAgent(id: id, name: id, password: Self.agentPassword, max: 1) }
            // Timing: known ids (wrong password) and unknown ids, alternately, 4 each.
            var known: [Duration] = []
            var unknown: [Duration] = []
            let clock = ContinuousClock()
            for n in 0..<4 {
                known.append(try await clock.measure {
                    let response = try await first.post("/v1/agent/login", json: ["agentId": "carol", "password": .string("wrong-\(n)")])
                    #expect(response.status == 401)
                })
                unknown.append(try await clock.measure {
                    let response = try await first.post("/v1/agent/login", json: ["agentId": .string("nobody-\(n)"), "password": "wrong"])
                    #expect(response.status == 401)
                })
            }
            let knownMedian = known.sorted()[2]
            let unknownMedian = unknown.sorted()[2]
            #expect(unknownMedian * 2 > knownMedian, "unknown ids answer much faster (\(unknownMedian)) than known ones (\(knownMedian))")

            for n in 0..<10 {
                let gateway = n.isMultiple(of: 2) ? first : second
                let response = try await gateway.post("/v1/agent/login", json: ["agentId": "alice", "password": .string("wrong-\(n)")])
                #expect(response.status == 401, "attempt \(n): \(response)")
            }
            for gateway in [first, second] {
                let locked = try await gateway.post("/v1/agent/login", json: ["agentId": "alice", "password": .string(Self.agentPassword)])
                #expect(locked.status == 429 && locked.json?["error"]?["code"]?.stringValue == "rate_limited", "\(locked)")
                let retryAfter = Int(locked.headers["retry-after"] ?? "") ?? 0
                #expect((800...900).contains(retryAfter), "Retry-After until the 15-minute window ends: \(locked.headers)")
            }
            _ = try await first.agentLogin(agentID: "bob", password: Self.agentPassword)
            let ttl = Int(try await cluster.redisCommand(["PTTL", "cs:{agents}:loginfail:alice"]).first ?? "") ?? -1
            #expect((1...900_000).contains(ttl), "the failure count expires with its window: \(ttl)")
            #expect(try await cluster.redisCommand(["EXISTS", "cs:{agents}:loginfail:bob"]).first == "0", "a successful sign-in clears the count")
        }
    }

    /// Per client address (loopback not exempt here): sign-in attempts, visitor sessions and
    /// offline messages beyond the per-minute limit get 429 with Retry-After.
    @Test("per-address limits on sign-ins, visitor sessions and offline messages")
    func perAddressHTTPLimits() async throws {
        let arguments = [
            "--rate-limit-http-exempt", "none", "--rate-limit-logins-per-minute", "3", "--rate-limit-sessions-per-minute", "4",
            "--rate-limit-offline-messages-per-minute", "2",
        ]
        try await Self.withSystem(gatewayArguments: arguments) { cluster, _ in
            let http = cluster.gateways[0].http
            func expectLimited(_ response: HTTPResponse, retryAfter: Int, _ label: String) {
                #expect(response.status == 429 && response.json?["error"]?["code"]?.stringValue == "rate_limited", "\(label): \(response)")
                #expect(response.headers["retry-after"] == String(retryAfter), "\(label): \(response.headers)")
            }
            var visitor: VisitorSession?
            for _ in 0..<4 { visitor = try await http.visitorSession(name: "Ann") }
            expectLimited(try await http.post("/v1/visitor/session", json: [:]), retryAfter: 15, "fifth session")
            for n in 0..<3 {
                let response = try await http.post("/v1/agent/login", json: ["agentId": .string("id-\(n)"), "password": "wrong"])
                #expect(response.status == 401, "\(response)")
            }
            expectLimited(try await http.post("/v1/agent/login", json: ["agentId": "other", "password": "wrong"]), retryAfter: 20, "fourth sign-in")
            let token = try #require(visitor?.token)
            for _ in 0..<2 {
                let response = try await http.offlineMessage(name: "Ann", email: "ann@example.com", text: "hello", token: token)
                #expect(response.status == 202, "\(response)")
            }
            expectLimited(
                try await http.offlineMessage(name: "Ann", email: "ann@example.com", text: "hello", token: token), retryAfter: 30, "third offline message")
        }
    }

    /// The shipped example secrets (and anything containing change-me) stop every process before
    /// it starts; the peers rig's throw-away values do not.
    @Test("processes refuse the example secrets of deploy/.env.example")
    func exampleSecretsAreRefused() async throws {
        let launcher = ProcessLauncher(testName: #function)
        func refused(_ executable: String, _ arguments: [String], environment: [String: String] = [:], sourceLocation: SourceLocation = #_sourceLocation) async throws {
            do {
                _ = try await launcher.run(
                    BuildProducts.executable(executable), name: executable, arguments: arguments, environment: environment, timeout: .seconds(30))
                Issue.record("\(executable) \(arguments) \(environment) started", sourceLocation: sourceLocation)
            } catch LaunchError.commandFailed(_, _, let output) {
                #expect(output.contains("example value"), "\(executable): \(output)", sourceLocation: sourceLocation)
            }
        }
        let redis = "redis://127.0.0.1:1"
        let secret = "e2e-secret-0123456789abcdef-0123456789"
        try await refused("cs-gateway", ["--redis-url", redis, "--jwt-secret", "example-jwt-secret-change-me-0123456789abcdef"])
        try await refused("cs-gateway", ["--redis-url", redis], environment: ["CS_JWT_SECRET": "my-own-Change-Me-secret-0123456789abcdef"])
        try await refused("cs-gateway", ["--redis-url", redis, "--jwt-secret", secret, "--admin-key", "example-admin-key-change-me-0123456789abcdef"])
        try await refused("cs-gateway", ["--redis-url", "redis://gateway:example-gateway-password-change-me@127.0.0.1:1", "--jwt-secret", secret])
        try await refused("cs-dispatcher", ["--redis-url", "redis://dispatcher:example-dispatcher-password-change-me@127.0.0.1:1"])
        try await refused("cs-notifier", ["--redis-url", "redis://notifier:example-notifier-password-change-me@127.0.0.1:1"])
        try await refused("cs-admin", ["agent", "list", "--redis-url", "redis://admin:example-admin-password-change-me@127.0.0.1:1"])
    }
}

extension EndToEnd {
    /// The gateway's HTTP server closes connections that trickle a request head (slowloris) or
    /// sit idle after a response, after `--http-header-timeout-seconds`.
    @Test("slow request heads and idle keep-alive connections are closed")
    func slowHeadersAreCut() async throws {
        try await Self.withSystem(gatewayArguments: ["--http-header-timeout-seconds", "2"]) { cluster, _ in
            let port = cluster.gateways[0].port
            // One header line every 500 ms, for up to 8 s: never a complete head.
            let lines = ["GET /healthz HTTP/1.1\r\n", "Host: 127.0.0.1\r\n"] + (0..<14).map { "X-Slow-\($0): a\r\n" }
            let slow = try await SlowHTTPClient.trickle(port: port, chunks: lines, pause: .milliseconds(500), limit: .seconds(10))
            let closedAfter = try #require(slow.closedAfter, "a trickled request head must be cut: \(slow)")
            #expect(closedAfter >= .milliseconds(1_500) && closedAfter < .seconds(5), "\(slow)")
            #expect(!slow.received.contains("200"), "no request was served: \(slow)")

            // A complete request is answered; then the idle connection is closed.
            let idle = try await SlowHTTPClient.trickle(
                port: port, chunks: ["GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"], pause: .zero, limit: .seconds(10))
            #expect(idle.received.hasPrefix("HTTP/1.1 200"), "\(idle)")
            let idleClosed = try #require(idle.closedAfter, "an idle keep-alive connection must be closed: \(idle)")
            #expect(idleClosed >= .milliseconds(1_500) && idleClosed < .seconds(5), "\(idle)")

            // WebSockets are not cut by it (their keepalive is the ping).
            let visitor = try await cluster.gateways[0].http.visitorSession(name: "Ann")
            let socket = try await SlowHTTPClient.trickle(
                port: port,
                chunks: ["GET /v1/ws?token=\(visitor.token) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"],
                pause: .zero, limit: .seconds(5))
            #expect(socket.received.hasPrefix("HTTP/1.1 101") && socket.closedAfter == nil, "\(socket)")
        }
    }
}

extension EndToEnd {
    /// A WebSocket upgrade sent on a keep-alive connection that already served a request (as
    /// Node's built-in WebSocket client does) is accepted: 101, then `hello`; before it got 426.
    /// Refused origins still get the router's 403, on a reused connection as before.
    @Test("a WebSocket upgrade on an already used keep-alive connection is accepted")
    func upgradeOnReusedConnection() async throws {
        try await Self.withSystem(gatewayArguments: ["--allowed-origins", "https://shop.example.com"]) { cluster, _ in
            let gateway = cluster.gateways[0]
            let visitor = try await gateway.http.visitorSession(name: "Ann")
            func upgrade(origin: String?) -> String {
                "GET /v1/ws?token=\(visitor.token) HTTP/1.1\r\nHost: 127.0.0.1:\(gateway.port)\r\nConnection: keep-alive, Upgrade\r\n"
                    + "Upgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                    + (origin.map { "Origin: \($0)\r\n" } ?? "") + "\r\n"
            }
            let first = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:\(gateway.port)\r\n\r\n"
            let reused = try await SlowHTTPClient.trickle(
                port: gateway.port, chunks: [first, upgrade(origin: "https://shop.example.com")], pause: .milliseconds(500), limit: .seconds(4))
            #expect(reused.received.hasPrefix("HTTP/1.1 200"), "\(reused)")
            #expect(reused.received.contains("HTTP/1.1 101"), "the second request must be upgraded: \(reused)")
            #expect(reused.received.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "Sec-WebSocket-Accept of the RFC 6455 example key: \(reused)")
            #expect(reused.received.contains(#""type":"hello""#), "the session opens: \(reused)")
            #expect(reused.closedAfter == nil, "\(reused)")

            let foreign = try await SlowHTTPClient.trickle(
                port: gateway.port, chunks: [first, upgrade(origin: "https://evil.example.com")], pause: .milliseconds(500), limit: .seconds(3))
            #expect(foreign.received.contains("HTTP/1.1 403") && !foreign.received.contains("101"), "\(foreign)")
        }
    }
}
