import CSTestSupport
import Foundation
import Testing

/// Queues and routing (docs/protocol.md: lifecycle, `conversation.queued`, `queue.position`).
extension EndToEnd {
    /// 2 agents × capacity 2, 10 customers arriving one after another: the first 4 are assigned,
    /// the other 6 queued with positions 1…6 in arrival order. Closing conversations one at a
    /// time drains the queue oldest first, and every customer still waiting is told its new
    /// position (one less).
    @Test("lifecycle: queue positions 1…6, FIFO drain on close, positions move up by one")
    func lifecycleQueuePositions() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            for id in ["ada", "bob"] {
                try await cluster.addAgent(id: id, name: id.capitalized, password: Self.agentPassword, max: 2)
            }
            let agents = [try await Self.connectStaff(scope, gateway, id: "ada"), try await Self.connectStaff(scope, gateway, id: "bob")]

            // Arrival: one customer after another; each waits for its ack and its routing event.
            var customers: [Customer] = []
            var opened: [String] = []
            var holder: [String: [Int]] = ["ada": [], "bob": []]  // agent → customer indices, oldest first
            for index in 0..<10 {
                let customer = try await Self.connectCustomer(scope, gateway, name: "Q\(index)")
                let (conversationID, event) = try await Self.openConversation(customer, messageID: "q\(index)-1")
                customers.append(customer)
                opened.append(conversationID)
                if index < 4 {
                    try #require(event.type == "conversation.assigned", "customer \(index) should be assigned at once, got \(event)")
                    let agentID = try #require(event["agent"]?["id"]?.stringValue, "\(event)")
                    holder[agentID, default: []].append(index)
                } else {
                    try #require(event.type == "conversation.queued", "customer \(index) should be queued (agents full), got \(event)")
                    #expect(event.string("reason") == "new", "\(event)")
                    #expect(event.string("skill") == "default", "\(event)")
                    #expect(event["agentsOnline"]?.boolValue == true, "agents are online: \(event)")
                    let position = try await Self.awaitFrame(customer.client, "queue.position", "the first queue.position of customer \(index)") {
                        $0.string("conversationId") == conversationID
                    }
                    #expect(position.int("position") == index - 3, "customer \(index) is number \(index - 3) in the queue: \(position)")
                    #expect(position.string("skill") == "default", "\(position)")
                    #expect(position["agentsOnline"]?.boolValue == true, "\(position)")
                    #expect(position["estimatedWaitSeconds"] == .null, "no handling history yet, estimate must be null: \(position)")
                }
            }
            let conversations = opened
            #expect(holder["ada"]?.count == 2 && holder["bob"]?.count == 2, "each agent takes 2: \(holder)")
            for agent in agents {
                for index in holder[agent.id] ?? [] {
                    try await Self.awaitFrame(agent.client, "conversation.assigned", "\(agent.id) to get customer \(index)") {
                        $0.string("conversationId") == conversations[index]
                    }
                }
            }
            // Nothing moved in the queue meanwhile.
            try await Self.settle(.milliseconds(300), customers.map(\.client))
            for index in 4..<10 {
                let positions = customers[index].client.received(type: "queue.position").compactMap { $0.int("position") }
                #expect(Set(positions) == [index - 3], "customer \(index) positions before any close: \(positions)")
            }

            // Drain: close one conversation at a time, alternating agents.
            var waiting = Array(4..<10)
            for round in 0..<6 {
                let agent = agents[round % 2]
                let victim = try #require(holder[agent.id]?.first, "\(agent.id) holds nothing: \(holder)")
                holder[agent.id]?.removeFirst()
                try await agent.client.sendClose(id: "close-\(round)", conversationID: conversations[victim])
                let closed = try await Self.awaitFrame(customers[victim].client, "conversation.closed", "customer \(victim) to see the close") {
                    $0.string("conversationId") == conversations[victim]
                }
                #expect(closed["by"]?["id"]?.stringValue == agent.id, "closed by \(agent.id): \(closed)")
                try await Self.awaitFrame(agent.client, "conversation.closed", "\(agent.id) to see the close of \(victim)") {
                    $0.string("conversationId") == conversations[victim]
                }

                // The oldest waiting customer goes to the agent whose slot freed.
                let next = waiting.removeFirst()
                let assigned = try await Self.awaitFrame(
                    customers[next].client, "conversation.assigned", "round \(round): the oldest waiting customer \(next) to be assigned"
                ) { $0.string("conversationId") == conversations[next] }
                #expect(assigned["agent"]?["id"]?.stringValue == agent.id, "round \(round): only \(agent.id) had capacity: \(assigned)")
                holder[agent.id, default: []].append(next)
                try await Self.awaitFrame(agent.client, "conversation.assigned", "\(agent.id) to get customer \(next)") {
                    $0.string("conversationId") == conversations[next]
                }

                // Everyone still waiting moves up by one, promptly (not only at the periodic
                // refresh, about every 10 s).
                for (rank, index) in waiting.enumerated() {
                    let expected = rank + 1
                    let conversationID = conversations[index]
                    do {
                        _ = try await customers[index].client.waitFor(type: "queue.position", timeout: .seconds(4)) {
                            $0.string("conversationId") == conversationID && $0.int("position") == expected
                        }
                    } catch {
                        Issue.record("round \(round): customer \(index) should be told position \(expected); got \(customers[index].client.received(type: "queue.position").map(\.text))")
                        throw error
                    }
                }
                // Out-of-order assignments would show here.
                for index in waiting {
                    let early = customers[index].client.received(type: "conversation.assigned")
                    #expect(early.isEmpty, "round \(round): customer \(index) was assigned before older customers: \(early)")
                }
            }

            // Each queued customer saw its position fall one by one to 1, never jump or rise.
            for index in 4..<10 {
                let positions = customers[index].client.received(type: "queue.position").compactMap { $0.int("position") }
                var distinct: [Int] = []
                for position in positions where distinct.last != position { distinct.append(position) }
                #expect(distinct == Array((1...(index - 3)).reversed()), "customer \(index) positions: \(positions)")
            }
            for client in customers.map(\.client) + agents.map(\.client) { Self.expectNoErrors(client) }
        }
    }

    /// Skills: a `billing` customer goes to the billing agent, a customer without a skill to the
    /// `default` agent, and a skill nobody has (configured with `--skills`, so it is accepted) is
    /// queued with `agentsOnline: false`.
    @Test("lifecycle: skill routing, and agentsOnline false for a skill nobody has")
    func lifecycleSkillRouting() async throws {
        try await Self.withLifecycleSystem(dispatcherArguments: ["--skills", "spanish"]) { cluster, scope in
            let gateway = cluster.gateways[0]
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, skills: ["billing"], max: 2)
            try await cluster.addAgent(id: "bob", name: "Bob", password: Self.agentPassword, skills: ["default"], max: 2)
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let bob = try await Self.connectStaff(scope, gateway, id: "bob")

            let billing = try await Self.connectCustomer(scope, gateway, name: "Bill")
            let (billingID, billingEvent) = try await Self.openConversation(billing, messageID: "b-1", skill: "billing")
            #expect(billingEvent.type == "conversation.assigned", "\(billingEvent)")
            #expect(billingEvent["agent"]?["id"]?.stringValue == "ada", "billing goes to ada: \(billingEvent)")

            let plain = try await Self.connectCustomer(scope, gateway, name: "Dee")
            let (plainID, plainEvent) = try await Self.openConversation(plain, messageID: "d-1")
            #expect(plainEvent.type == "conversation.assigned", "\(plainEvent)")
            #expect(plainEvent["agent"]?["id"]?.stringValue == "bob", "no skill = default, goes to bob: \(plainEvent)")

            let spanish = try await Self.connectCustomer(scope, gateway, name: "Esp")
            let (spanishID, spanishEvent) = try await Self.openConversation(spanish, messageID: "e-1", skill: "spanish")
            #expect(spanishEvent.type == "conversation.queued", "nobody speaks spanish: \(spanishEvent)")
            #expect(spanishEvent.string("skill") == "spanish", "\(spanishEvent)")
            #expect(spanishEvent["agentsOnline"]?.boolValue == false, "no agent with the skill is online: \(spanishEvent)")
            let position = try await Self.awaitFrame(spanish.client, "queue.position") { $0.string("conversationId") == spanishID }
            #expect(position.int("position") == 1, "\(position)")
            #expect(position.string("skill") == "spanish", "\(position)")
            #expect(position["agentsOnline"]?.boolValue == false, "\(position)")

            try await Self.awaitFrame(ada.client, "conversation.assigned") { $0.string("conversationId") == billingID }
            try await Self.awaitFrame(bob.client, "conversation.assigned") { $0.string("conversationId") == plainID }
            try await Self.settle(.milliseconds(1200), [ada.client, bob.client, spanish.client])
            let adaGot = ada.client.received(type: "conversation.assigned").compactMap { $0.string("conversationId") }
            let bobGot = bob.client.received(type: "conversation.assigned").compactMap { $0.string("conversationId") }
            #expect(adaGot == [billingID], "ada (billing) got \(adaGot)")
            #expect(bobGot == [plainID], "bob (default) got \(bobGot)")
            #expect(spanish.client.received(type: "conversation.assigned").isEmpty, "the spanish customer must stay queued")
            for client in [ada.client, bob.client, billing.client, plain.client, spanish.client] { Self.expectNoErrors(client) }
        }
    }
}
