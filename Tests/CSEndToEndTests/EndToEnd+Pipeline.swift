import CSTestSupport
import Foundation
import Testing

extension EndToEnd {
    /// Two gateways, one dispatcher: a customer on gateway 1 and an agent on gateway 2 exchange
    /// 1,000 messages each way, sent concurrently. Every message reaches both participants exactly
    /// once, in send order per sender, with its client id and body, numbered gap-free; every
    /// message is acked exactly once.
    @Test("1,000 messages each way across two gateways arrive exactly once, in order")
    func pipelineThousandMessagesEachWay() async throws {
        let count = 1000
        try await Self.withSystem(gateways: 2, dispatchers: 1) { cluster, scope in
            let gateway1 = cluster.gateways[0]
            let gateway2 = cluster.gateways[1]
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 3)

            let agent = try await Self.connectAgent(scope, gateway2, id: "alice")
            #expect(agent.session.name == "Alice")
            let customer = try await Self.connectCustomer(scope, gateway1, name: "Ann")

            // The first message opens the conversation; the online agent takes it at once.
            let customerIDs = (1...count).map { Self.messageID("c", $0) }
            let agentIDs = (1...count).map { Self.messageID("a", $0) }
            try await customer.client.sendMessage(id: customerIDs[0], body: Self.body(for: customerIDs[0]))
            let firstAck = try await customer.client.waitFor(type: "ack") { $0.string("id") == customerIDs[0] }
            #expect(!(firstAck.string("acceptedId") ?? "").isEmpty, "ack without acceptedId: \(firstAck)")

            let assignedToCustomer = try await customer.client.waitFor(type: "conversation.assigned", timeout: .seconds(60))
            let conversationID = try #require(assignedToCustomer.string("conversationId"), "\(assignedToCustomer)")
            #expect(assignedToCustomer["agent"]?["id"]?.stringValue == "alice", "\(assignedToCustomer)")
            #expect(assignedToCustomer["agent"]?["name"]?.stringValue == "Alice", "\(assignedToCustomer)")
            #expect(assignedToCustomer["customer"]?["id"]?.stringValue == customer.id, "\(assignedToCustomer)")
            #expect(assignedToCustomer["history"] == nil, "the customer's copy must not carry history: \(assignedToCustomer)")

            let assignedToAgent = try await agent.client.waitFor(type: "conversation.assigned", timeout: .seconds(60))
            #expect(assignedToAgent.string("conversationId") == conversationID, "\(assignedToAgent)")
            #expect(assignedToAgent.int("seq") == assignedToCustomer.int("seq"), "agent \(assignedToAgent) vs customer \(assignedToCustomer)")
            #expect(assignedToAgent["customer"]?["id"]?.stringValue == customer.id, "\(assignedToAgent)")
            #expect(assignedToAgent["customer"]?["name"]?.stringValue == "Ann", "\(assignedToAgent)")

            // 999 more from the customer and 1,000 from the agent, concurrently.
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await Self.sendMessages(
                        customer.client, ids: Array(customerIDs.dropFirst()), body: Self.body(for:), acksBefore: 1)
                }
                group.addTask {
                    try await Self.sendMessages(
                        agent.client, ids: agentIDs, body: Self.body(for:), conversationID: conversationID, acksBefore: 0)
                }
                try await group.waitForAll()
            }

            // Wait until both sides saw the last message of both senders. Both senders' entries
            // are in one partition stream, committed and published in order, so once the last
            // ones arrived every earlier one (and any duplicate of it) has arrived too.
            let lastCustomerID = customerIDs.last!
            let lastAgentID = agentIDs.last!
            for (client, label) in [(customer.client, "customer"), (agent.client, "agent")] {
                for last in [lastCustomerID, lastAgentID] {
                    _ = try await client.waitUntil("\(label) to receive message \(last)", timeout: .seconds(300)) { view in
                        view.log.contains { $0.type == "message" && $0.string("id") == last } ? true : nil
                    }
                }
            }
            try await customer.client.waitForReceivedCount(count, type: "ack", timeout: .seconds(60))
            try await agent.client.waitForReceivedCount(count, type: "ack", timeout: .seconds(60))

            // Acks: exactly one per message, in send order (the gateway handles a connection's
            // frames one at a time).
            #expect(Self.describeDifferences(observed: Self.ackIDs(customer.client), expected: customerIDs) == nil)
            #expect(Self.describeDifferences(observed: Self.ackIDs(agent.client), expected: agentIDs) == nil)
            for ack in customer.client.received(type: "ack") + agent.client.received(type: "ack") {
                #expect(!(ack.string("acceptedId") ?? "").isEmpty, "ack without acceptedId: \(ack)")
            }

            // Both views of the conversation.
            let customerView = ConversationView(frames: customer.client.received, conversationID: conversationID)
            let agentView = ConversationView(frames: agent.client.received, conversationID: conversationID)
            for (view, label) in [(customerView, "customer"), (agentView, "agent")] {
                let seqProblems = view.seqProblems()
                #expect(seqProblems.isEmpty, "\(label): seq not gap-free: \(seqProblems)")
                #expect(view.messages.count == 2 * count, "\(label) saw \(view.messages.count) messages, expected \(2 * count)")
                let fromCustomer = view.messageIDs(fromRole: "customer")
                let fromAgent = view.messageIDs(fromRole: "agent")
                let customerDiff = Self.describeDifferences(observed: fromCustomer, expected: customerIDs)
                let agentDiff = Self.describeDifferences(observed: fromAgent, expected: agentIDs)
                #expect(customerDiff == nil, "\(label), customer messages: \(customerDiff ?? "")")
                #expect(agentDiff == nil, "\(label), agent messages: \(agentDiff ?? "")")

                for message in view.messages {
                    let id = message["id"]?.stringValue ?? "?"
                    let role = message["from"]?["role"]?.stringValue
                    #expect(message["body"]?.stringValue == Self.body(for: id), "\(label): body of \(id) changed: \(message)")
                    #expect(message["ts"]?.intValue != nil, "\(label): message without ts: \(message)")
                    if role == "customer" {
                        #expect(message["from"]?["id"]?.stringValue == customer.id, "\(label): \(message)")
                        #expect(message["from"]?["name"]?.stringValue == "Ann", "\(label): \(message)")
                    } else {
                        #expect(message["from"]?["id"]?.stringValue == "alice", "\(label): \(message)")
                        #expect(message["from"]?["name"]?.stringValue == "Alice", "\(label): \(message)")
                    }
                }
            }
            // The two participants see the same numbering.
            func seqByMessage(_ view: ConversationView) -> [String: Int] {
                var map: [String: Int] = [:]
                for message in view.messages {
                    map[message["id"]?.stringValue ?? "?"] = message["seq"]?.intValue
                }
                return map
            }
            let customerSeqs = seqByMessage(customerView)
            let agentSeqs = seqByMessage(agentView)
            let disagreeing = customerSeqs.filter { agentSeqs[$0.key] != $0.value }.map(\.key).sorted()
            #expect(disagreeing.isEmpty, "messages numbered differently for customer and agent: \(disagreeing.prefix(10))")

            Self.expectNoErrors(customer.client)
            Self.expectNoErrors(agent.client)
            #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
        }
    }
}
