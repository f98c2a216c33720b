import CSTestSupport
import Foundation
import Testing

/// Helpers shared by the conversation-lifecycle tests (`EndToEnd+Lifecycle*.swift`).
extension EndToEnd {
    /// Like `withSystem`, with extra process flags (e.g. `--presence-ttl-ms`, `--presence-grace-ms`).
    static func withLifecycleSystem<R: Sendable>(
        testName: String = #function,
        gateways: Int = 1,
        dispatchers: Int = 1,
        gatewayArguments: [String] = [],
        dispatcherArguments: [String] = [],
        _ body: (Cluster, ChatClientScope) async throws -> R
    ) async throws -> R {
        try await withSystem(
            testName: testName, gateways: gateways, dispatchers: dispatchers, gatewayArguments: gatewayArguments,
            dispatcherArguments: dispatcherArguments, body)
    }

    /// Signs a staff member in and connects; waits for `hello` and checks its role.
    static func connectStaff(
        _ scope: ChatClientScope, _ gateway: GatewayHandle, id: String, role: String = "agent", label: String? = nil
    ) async throws -> Agent {
        let session = try await gateway.http.agentLogin(agentID: id, password: agentPassword)
        let client = try await scope.connect(gateway.webSocketURL, token: session.token, label: label ?? "\(role)-\(id)")
        let hello = try await client.hello()
        #expect(hello.string("role") == role, "hello of \(id): \(hello)")
        #expect(hello.string("userId") == id, "hello of \(id): \(hello)")
        return Agent(client: client, session: session, hello: hello)
    }

    /// Connects again with an existing visitor session (same visitor id), on any gateway.
    static func reconnectCustomer(
        _ scope: ChatClientScope, _ gateway: GatewayHandle, session: VisitorSession, label: String
    ) async throws -> Customer {
        let client = try await scope.connect(gateway.webSocketURL, token: session.token, label: label)
        let hello = try await client.hello()
        #expect(hello.string("userId") == session.visitorID, "hello after reconnect: \(hello)")
        return Customer(client: client, session: session, hello: hello)
    }

    /// Connects a staff member again with the token of an earlier sign-in.
    static func reconnectStaff(_ scope: ChatClientScope, _ gateway: GatewayHandle, session: AgentSession, label: String) async throws -> Agent {
        let client = try await scope.connect(gateway.webSocketURL, token: session.token, label: label)
        let hello = try await client.hello()
        #expect(hello.string("userId") == session.agentID, "hello after reconnect: \(hello)")
        return Agent(client: client, session: session, hello: hello)
    }

    /// Agents Ada and Bob (capacity 2 each), Ada connected, customer Ann with a conversation Ada
    /// holds: the start of the tests where a conversation changes hands. Bob is not connected.
    static func conversationHeldByAda(
        _ cluster: Cluster, _ scope: ChatClientScope, _ gateway: GatewayHandle
    ) async throws -> (ada: Agent, customer: Customer, conversationID: String) {
        try await cluster.addAgent(id: "ada", name: "Ada", password: agentPassword, max: 2)
        try await cluster.addAgent(id: "bob", name: "Bob", password: agentPassword, max: 2)
        let ada = try await connectStaff(scope, gateway, id: "ada")
        let customer = try await connectCustomer(scope, gateway, name: "Ann")
        let (conversationID, event) = try await openConversation(customer, messageID: "c-1")
        try #require(event["agent"]?["id"]?.stringValue == "ada", "\(event)")
        return (ada, customer, conversationID)
    }

    /// The customer's first message: sends it, waits for its `ack` and for the first routing
    /// event (`conversation.queued` or `conversation.assigned`); returns the conversation id and
    /// that event. Nothing is consumed.
    static func openConversation(
        _ customer: Customer, messageID: String, body: String? = nil, skill: String? = nil, timeout: Duration = .seconds(20)
    ) async throws -> (conversationID: String, event: ReceivedFrame) {
        try await customer.client.sendMessage(id: messageID, body: body ?? "hello from \(customer.session.name)", skill: skill)
        _ = try await customer.client.waitUntil("the ack of \(messageID)", timeout: timeout) { view in
            view.log.first { $0.type == "ack" && $0.string("id") == messageID }
        }
        let event = try await customer.client.waitUntil("conversation.queued or conversation.assigned", timeout: timeout) { view in
            view.log.first { $0.type == "conversation.queued" || $0.type == "conversation.assigned" }
        }
        let conversationID = try #require(event.string("conversationId"), "routing event without conversationId: \(event)")
        return (conversationID, event)
    }

    /// Waits (without consuming) for the first frame with `type` that satisfies `predicate`.
    @discardableResult
    static func awaitFrame(
        _ client: ChatClient, _ type: String, timeout: Duration = .seconds(20),
        _ what: String? = nil,
        where predicate: @escaping @Sendable (ReceivedFrame) -> Bool = { _ in true }
    ) async throws -> ReceivedFrame {
        try await client.waitUntil(what ?? "a \(type) frame", timeout: timeout) { view in
            view.log.first { $0.type == type && predicate($0) }
        }
    }

    /// Waits until `client` received the committed `message` with client id `id` (any sender).
    @discardableResult
    static func awaitMessage(_ client: ChatClient, id: String, timeout: Duration = .seconds(20)) async throws -> ReceivedFrame {
        try await awaitFrame(client, "message", timeout: timeout, "message \(id)") { $0.string("id") == id }
    }

    /// Lets `duration` pass, then sends a ping round trip on each client (so every frame the
    /// gateway had for them by then has been read). For checks that something did NOT happen.
    static func settle(_ duration: Duration, _ clients: [ChatClient]) async throws {
        try await Task.sleep(for: duration)
        for client in clients where client.isOpen { try await client.roundTrip() }
    }

    /// The error frames `client` received for frame `id`.
    static func errors(_ client: ChatClient, id: String) -> [ReceivedFrame] {
        client.received(type: "error").filter { $0.string("id") == id }
    }

    /// Waits for the `error` answering frame `id`; returns it.
    @discardableResult
    static func awaitError(_ client: ChatClient, id: String, timeout: Duration = .seconds(20)) async throws -> ReceivedFrame {
        try await awaitFrame(client, "error", timeout: timeout, "an error for \(id)") { $0.string("id") == id }
    }

    /// Sequence numbers of the entries (messages and events) about `conversationID` in `frames`
    /// (`read` frames carry a `seq` too, the read position; they are not entries).
    static func seqs(_ frames: [ReceivedFrame], conversationID: String) -> [Int] {
        frames.filter { $0.string("conversationId") == conversationID && $0.type != "read" }.compactMap { $0.int("seq") }
    }

    /// `first, first+1, …, last` (empty when `last < first`).
    static func seqRange(_ first: Int, _ last: Int) -> [Int] {
        last < first ? [] : Array(first...last)
    }

    /// A short description of frames for failure messages (types and seqs).
    static func summary(_ frames: [ReceivedFrame], limit: Int = 20) -> String {
        frames.suffix(limit).map { frame in
            var text = frame.type ?? "?"
            if let seq = frame.int("seq") { text += "#\(seq)" }
            if let position = frame.int("position") { text += "@\(position)" }
            if let code = frame.string("code") { text += "(\(code))" }
            return text
        }.joined(separator: " ")
    }
}
