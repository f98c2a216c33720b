import CSTestSupport
import Foundation
import Testing

extension EndToEnd {
    /// HAProxy (deploy/haproxy/local.cfg.template) in front of two gateways: a customer and an
    /// agent chat through it; the customer's gateway is stopped with SIGTERM; its clients
    /// reconnect through the balancer, land on the other gateway and resume (`resume` URL
    /// parameter) with no gap and no duplicate.
    @Test(
        "HAProxy in front of two gateways: clients of a stopped gateway resume on the other",
        .enabled(if: HAProxyBalancer.isAvailable, "haproxy is not installed (apt-get install haproxy); CI installs it")
    )
    func haproxyGatewayFailover() async throws {
        try await Self.withSystem(gateways: 2, dispatchers: 1) { cluster, scope in
            let lb = try await HAProxyBalancer.start(cluster: cluster)
            do {
                try await Self.failoverThroughBalancer(cluster, scope, lb)
            } catch {
                print("----- haproxy log\n\(lb.process.logTail(lines: 30))")
                await lb.stop()
                throw error
            }
            await lb.stop()
        }
    }

    /// A client connected through the balancer: its token, its connection and the gateway it got.
    struct BalancedClient {
        var client: ChatClient
        let token: String
        var gatewayID: String { client.received(type: "hello").last?.string("gatewayId") ?? "?" }
    }

    static func connectThrough(_ lb: HAProxyBalancer, _ scope: ChatClientScope, token: String, label: String, resume: String? = nil) async throws -> ChatClient {
        let url = lb.webSocketURL + (resume.map { "?resume=" + $0 } ?? "")
        let client = try await scope.connect(url, token: token, label: label)
        try await client.hello()
        return client
    }

    static func failoverThroughBalancer(_ cluster: Cluster, _ scope: ChatClientScope, _ lb: HAProxyBalancer) async throws {
        try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 3)
        let agentToken = try await lb.http.agentLogin(agentID: "alice", password: Self.agentPassword).token
        let customerToken = try await lb.http.visitorSession(name: "Ann").token
        var agent = BalancedClient(client: try await connectThrough(lb, scope, token: agentToken, label: "agent"), token: agentToken)
        var customer = BalancedClient(client: try await connectThrough(lb, scope, token: customerToken, label: "customer"), token: customerToken)
        print("haproxy test: agent on \(agent.gatewayID), customer on \(customer.gatewayID)")

        try await customer.client.sendMessage(id: "c-1", body: "Hello through the balancer")
        let assigned = try await agent.client.waitFor(type: "conversation.assigned", timeout: .seconds(30))
        let conversationID = try #require(assigned.string("conversationId"))
        try await agent.client.sendMessage(id: "a-1", body: "Hi Ann", conversationID: conversationID)
        _ = try await customer.client.waitFor(type: "message", timeout: .seconds(30)) { $0.string("id") == "a-1" }

        // Stop the customer's gateway (the agent's too, if they share it).
        let victim = try #require(cluster.gateway(customer.gatewayID))
        let survivor = try #require(cluster.gateways.first { $0.id != victim.id })
        let agentMoves = agent.gatewayID == victim.id
        let status = try await cluster.terminateGateway(victim)
        #expect(status.isSuccess, "\(victim.id) exited with \(status) after SIGTERM")
        let closed = try await customer.client.waitForClose(timeout: .seconds(10))
        // docs/protocol.md: a stopping gateway closes with 1001 (clients reconnect at once).
        #expect(closed.code == 1001, "the customer's connection closed with \(closed), expected 1001")

        func lastSeq(_ client: ChatClient) -> Int {
            client.received(conversationID: conversationID).compactMap { $0.int("seq") }.max() ?? 0
        }
        var oldConnections: [ChatClient] = [customer.client]
        if agentMoves {
            oldConnections.append(agent.client)
            let resume = "\(conversationID):\(lastSeq(agent.client))"
            agent.client = try await connectThrough(lb, scope, token: agent.token, label: "agent-2", resume: resume)
            #expect(agent.gatewayID == survivor.id)
        }
        // While the customer is away the agent writes; the customer then resumes from its last seq.
        for n in 2...4 {
            try await agent.client.sendMessage(id: "a-\(n)", body: "Reply \(n)", conversationID: conversationID)
            _ = try await agent.client.waitFor(type: "ack", timeout: .seconds(30)) { $0.string("id") == "a-\(n)" }
        }
        let customerMark = lastSeq(customer.client)
        customer.client = try await connectThrough(
            lb, scope, token: customer.token, label: "customer-2", resume: "\(conversationID):\(customerMark)")
        #expect(customer.gatewayID == survivor.id, "the customer reconnected to \(customer.gatewayID), expected \(survivor.id)")
        let resumed = try await customer.client.waitFor(type: "resumed", timeout: .seconds(30))
        #expect(resumed.string("conversationId") == conversationID)

        // Live again, both ways.
        try await agent.client.sendMessage(id: "a-5", body: "Welcome back", conversationID: conversationID)
        _ = try await customer.client.waitFor(type: "message", timeout: .seconds(30)) { $0.string("id") == "a-5" }
        try await customer.client.sendMessage(id: "c-2", body: "Thanks")
        _ = try await agent.client.waitFor(type: "message", timeout: .seconds(30)) { $0.string("id") == "c-2" }

        // Every entry once, in order, across the customer's two connections (and the agent's).
        let customerView = ConversationView(frames: oldConnections.prefix(1).flatMap(\.received) + customer.client.received, conversationID: conversationID)
        #expect(customerView.seqProblems().isEmpty, "customer: \(customerView.seqProblems())")
        #expect(customerView.messageIDs(fromRole: "agent") == (1...5).map { "a-\($0)" }, "customer saw agent messages \(customerView.messageIDs(fromRole: "agent"))")
        let replayed = customer.client.received(type: "message", conversationID: conversationID).compactMap { $0.string("id") }
        #expect(Array(replayed.prefix(3)) == ["a-2", "a-3", "a-4"], "replayed after resume: \(replayed)")
        #expect(resumed.int("lastSeq") == customerMark + 3, "resumed at \(resumed), the customer had seq \(customerMark)")
        let agentView = ConversationView(frames: oldConnections.dropFirst().flatMap(\.received) + agent.client.received, conversationID: conversationID)
        #expect(agentView.seqProblems().isEmpty, "agent: \(agentView.seqProblems())")
        Self.expectNoErrors(customer.client)
        Self.expectNoErrors(agent.client)
        #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
    }
}
