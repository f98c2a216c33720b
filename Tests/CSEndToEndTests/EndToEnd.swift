import CSTestSupport
// Crypto (swift-crypto) comes with CSServer; used only to sign forged tokens.
import Crypto
import Foundation
import Testing

/// End-to-end tests: real `redis-server`, `cs-gateway`, `cs-dispatcher` processes and WebSocket
/// clients. Every test starts its own Redis and processes; logs are under
/// `test-output/<test>/`. The suite runs its tests one at a time (each one loads a 2-core
/// machine on its own).
@Suite("End-to-end", .serialized, .timeLimit(.minutes(15)))
struct EndToEnd {
    static let agentPassword = "secret-Pa55"

    /// Starts Redis and the processes, runs `body` with a WebSocket scope, and stops everything
    /// afterwards on every path: clients first, then processes (checking that each one exits 0
    /// on SIGTERM), then Redis.
    static func withSystem<R: Sendable>(
        testName: String = #function,
        gateways: Int = 1,
        dispatchers: Int = 1,
        leaseMilliseconds: Int = 3000,
        notifiers: Int = 0,
        gatewayArguments: [String] = [],
        dispatcherArguments: [String] = [],
        _ body: (Cluster, ChatClientScope) async throws -> R
    ) async throws -> R {
        let redis = try await RedisServer()
        var configuration = Cluster.Configuration(
            gateways: gateways, dispatchers: dispatchers, notifiers: notifiers, leaseMilliseconds: leaseMilliseconds)
        configuration.logLevel = "info"
        configuration.extraGatewayArguments = gatewayArguments
        configuration.extraDispatcherArguments = dispatcherArguments
        let result: R
        do {
            result = try await Cluster.run(
                testName: testName,
                redisURL: redis.url,
                configuration: configuration,
                onShutdownProblems: { problems in
                    for problem in problems { Issue.record(Comment(rawValue: "shutdown: \(problem)")) }
                }
            ) { cluster in
                try await withChatClients { scope in
                    try await body(cluster, scope)
                }
            }
        } catch {
            try? await redis.stop()
            throw error
        }
        try await redis.stop()
        return result
    }

    // MARK: Participants

    struct Customer: Sendable {
        let client: ChatClient
        let session: VisitorSession
        let hello: ReceivedFrame
        var id: String { session.visitorID }
    }

    struct Agent: Sendable {
        let client: ChatClient
        let session: AgentSession
        let hello: ReceivedFrame
        var id: String { session.agentID }
    }

    /// Creates a visitor session on `gateway` and connects; waits for `hello`.
    static func connectCustomer(_ scope: ChatClientScope, _ gateway: GatewayHandle, name: String) async throws -> Customer {
        let session = try await gateway.http.visitorSession(name: name)
        let client = try await scope.connect(gateway.webSocketURL, token: session.token, label: "customer-\(name)")
        let hello = try await client.hello()
        #expect(hello.string("role") == "customer", "hello of \(name): \(hello)")
        #expect(hello.string("userId") == session.visitorID, "hello of \(name): \(hello)")
        #expect(hello.string("name") == name, "hello of \(name): \(hello)")
        #expect(hello.string("gatewayId") == gateway.id, "hello of \(name): \(hello)")
        #expect(!(hello.string("connectionId") ?? "").isEmpty, "hello of \(name): \(hello)")
        return Customer(client: client, session: session, hello: hello)
    }

    /// Signs agent `id` in on `gateway` and connects; waits for `hello` (the agent is then online).
    static func connectAgent(_ scope: ChatClientScope, _ gateway: GatewayHandle, id: String, password: String = agentPassword) async throws -> Agent {
        let session = try await gateway.http.agentLogin(agentID: id, password: password)
        let client = try await scope.connect(gateway.webSocketURL, token: session.token, label: "agent-\(id)")
        let hello = try await client.hello()
        #expect(hello.string("role") == "agent", "hello of agent \(id): \(hello)")
        #expect(hello.string("userId") == id, "hello of agent \(id): \(hello)")
        #expect(hello.string("gatewayId") == gateway.id, "hello of agent \(id): \(hello)")
        return Agent(client: client, session: session, hello: hello)
    }

    // MARK: Sending

    /// Sends chat messages with at most `window` of them not acked yet; returns once all are
    /// sent (not necessarily acked). `acksBefore` is how many acks the client had received
    /// before this call.
    static func sendMessages(
        _ client: ChatClient,
        ids: [String],
        body: (String) -> String,
        conversationID: String? = nil,
        window: Int = 32,
        acksBefore: Int
    ) async throws {
        for (offset, id) in ids.enumerated() {
            if offset >= window {
                try await client.waitForReceivedCount(acksBefore + offset - window + 1, type: "ack", timeout: .seconds(60))
            }
            try await client.sendMessage(id: id, body: body(id), conversationID: conversationID)
        }
    }

    static func messageID(_ prefix: String, _ n: Int) -> String {
        prefix + "-" + String(repeating: "0", count: max(0, 4 - String(n).count)) + String(n)
    }

    static func body(for id: String) -> String { "msg \(id): Grüße ✓ — \"quoted\" \\ slash/" }

    // MARK: Checking a conversation as one participant saw it

    /// The entries (messages and events) of `conversationID` as a participant saw them: the
    /// `history` carried by its `conversation.assigned` (agents) followed by live frames.
    struct ConversationView {
        var entries: [JSONValue] = []

        init(frames: [ReceivedFrame], conversationID: String) {
            for frame in frames {
                guard let json = frame.json, json["conversationId"]?.stringValue == conversationID,
                    json["seq"] != nil
                else { continue }
                if frame.type == "conversation.assigned", let history = json["history"]?.arrayValue {
                    let seq = json["seq"]?.intValue ?? .max
                    let known = Set(entries.compactMap { $0["seq"]?.intValue })
                    for entry in history where (entry["seq"]?.intValue ?? .max) < seq && !known.contains(entry["seq"]?.intValue ?? -1) {
                        entries.append(entry)
                    }
                }
                entries.append(json)
            }
        }

        var seqs: [Int] { entries.map { $0["seq"]?.intValue ?? -1 } }
        var messages: [JSONValue] { entries.filter { $0["type"]?.stringValue == "message" } }

        /// Client message ids of messages from participants with `role`, in seq order.
        func messageIDs(fromRole role: String) -> [String] {
            messages.filter { $0["from"]?["role"]?.stringValue == role }.compactMap { $0["id"]?.stringValue }
        }

        /// Problems with the numbering: seq must run 1, 2, 3, … without gaps or repeats.
        func seqProblems() -> [String] {
            var problems: [String] = []
            for (index, seq) in seqs.enumerated() where seq != index + 1 {
                problems.append("entry #\(index) has seq \(seq), expected \(index + 1): \(entries[index])")
                if problems.count >= 5 { break }
            }
            return problems
        }
    }

    /// Compares an observed id sequence with the expected one and describes the first
    /// differences (missing, duplicated, out of order).
    static func describeDifferences(observed: [String], expected: [String]) -> String? {
        if observed == expected { return nil }
        var counts: [String: Int] = [:]
        for id in observed { counts[id, default: 0] += 1 }
        let missing = expected.filter { counts[$0] == nil }
        let duplicated = counts.filter { $0.value > 1 }.map(\.key).sorted()
        let unexpected = Set(observed).subtracting(expected).sorted()
        var text = "observed \(observed.count) ids, expected \(expected.count)"
        if !missing.isEmpty { text += "; missing \(missing.count): \(missing.prefix(10))" }
        if !duplicated.isEmpty { text += "; duplicated \(duplicated.count): \(duplicated.prefix(10))" }
        if !unexpected.isEmpty { text += "; unexpected: \(unexpected.prefix(10))" }
        if missing.isEmpty && duplicated.isEmpty && unexpected.isEmpty {
            let firstDifference = zip(observed, expected).enumerated().first { $0.element.0 != $0.element.1 }
            if let firstDifference {
                text += "; out of order at #\(firstDifference.offset): got \(firstDifference.element.0), expected \(firstDifference.element.1)"
            }
        }
        return text
    }

    /// Ids of acks received by `client`, in order.
    static func ackIDs(_ client: ChatClient) -> [String] {
        client.received(type: "ack").compactMap { $0.string("id") }
    }

    /// Expects no `error` frame on `client`.
    static func expectNoErrors(_ client: ChatClient, sourceLocation: SourceLocation = #_sourceLocation) {
        let errors = client.received(type: "error")
        #expect(errors.isEmpty, "\(client.label) received error frames: \(errors.prefix(5))", sourceLocation: sourceLocation)
    }
}

// MARK: - Tokens for negative tests

/// Builds HS256/HS512 JWTs, to forge tokens that the gateway must refuse.
enum JWTForge {
    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func base64URLDecode(_ text: Substring) -> Data? {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        return Data(base64Encoded: base64)
    }

    /// The decoded header and payload of a compact JWS.
    static func decode(_ token: String) -> (header: JSONValue, payload: JSONValue)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = base64URLDecode(parts[0]), let payload = base64URLDecode(parts[1]),
            let headerJSON = try? JSONDecoder().decode(JSONValue.self, from: header),
            let payloadJSON = try? JSONDecoder().decode(JSONValue.self, from: payload)
        else { return nil }
        return (headerJSON, payloadJSON)
    }

    enum Algorithm: String {
        case hs256 = "HS256"
        case hs512 = "HS512"
        case none
    }

    /// A token with `payload`, signed with `secret` using `algorithm` (empty signature for `none`).
    static func sign(payload: JSONValue, secret: String, algorithm: Algorithm = .hs256) -> String {
        let header: JSONValue = ["alg": .string(algorithm.rawValue), "typ": "JWT"]
        let signingInput = base64URL(Data(header.jsonText.utf8)) + "." + base64URL(Data(payload.jsonText.utf8))
        let key = SymmetricKey(data: Data(secret.utf8))
        let message = Data(signingInput.utf8)
        let signature: Data
        switch algorithm {
        case .hs256: signature = Data(HMAC<SHA256>.authenticationCode(for: message, using: key))
        case .hs512: signature = Data(HMAC<SHA512>.authenticationCode(for: message, using: key))
        case .none: signature = Data()
        }
        return signingInput + "." + base64URL(signature)
    }

    /// `payload` with `changes` applied (nil removes a claim).
    static func modified(_ payload: JSONValue, _ changes: [String: JSONValue?]) -> JSONValue {
        var object = payload.objectValue ?? [:]
        for (key, value) in changes { object[key] = value }
        return .object(object)
    }
}
