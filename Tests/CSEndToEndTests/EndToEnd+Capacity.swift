import CSCore
import CSTestSupport
import Foundation
import Testing

extension EndToEnd {
    /// Two dispatchers at once, 3 agents × capacity 2, 10 customers writing concurrently through
    /// two gateways: exactly 6 conversations are assigned (2 per agent, never more), each once;
    /// the other 4 are queued; every conversation keeps its order.
    @Test("two dispatchers never exceed an agent's capacity nor assign a conversation twice")
    func twoDispatchersRespectCapacity() async throws {
        let agentIDs = ["ada", "bob", "cyd"]
        let capacity = 2
        let customerCount = 10
        let messagesPerCustomer = 8

        try await Self.withSystem(gateways: 2, dispatchers: 2) { cluster, scope in
            let gateways = cluster.gateways
            for id in agentIDs {
                try await cluster.addAgent(id: id, name: id.capitalized, password: Self.agentPassword, max: capacity)
            }

            // Both dispatchers should own partitions, so that they really run side by side.
            let owners = try await Self.waitForPartitionOwners(cluster, expected: ["d-1", "d-2"], timeout: .seconds(60))
            #expect(Set(owners.values).isSuperset(of: ["d-1", "d-2"]), "partition leases: \(owners)")

            var agents: [Agent] = []
            for (index, id) in agentIDs.enumerated() {
                agents.append(try await Self.connectAgent(scope, gateways[index % gateways.count], id: id))
            }
            var customers: [Customer] = []
            for index in 0..<customerCount {
                customers.append(try await Self.connectCustomer(scope, gateways[index % gateways.count], name: "Cust\(index)"))
            }
            let partitioner = Partitioner(count: cluster.configuration.partitions)
            let partitionsUsed = Set(customers.map { partitioner.partition(forCustomer: $0.id) })
            let dispatchersUsed = Set(partitionsUsed.compactMap { owners[$0] })
            print("capacity test: customers on partitions \(partitionsUsed.sorted()), owned by \(dispatchersUsed.sorted())")

            // All customers write at once.
            let customerMessageIDs = (0..<customerCount).map { c in (1...messagesPerCustomer).map { Self.messageID("k\(c)", $0) } }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, customer) in customers.enumerated() {
                    let ids = customerMessageIDs[index]
                    group.addTask {
                        try await Self.sendMessages(customer.client, ids: ids, body: Self.body(for:), window: 4, acksBefore: 0)
                    }
                }
                try await group.waitForAll()
            }

            // Each customer: all echoes arrive; the conversation is either assigned or queued.
            var conversationOf: [String: String] = [:]  // customer id → conversation id
            var assignedAgentOf: [String: String] = [:]  // conversation id → agent id (customer's view)
            var queuedConversations: Set<String> = []
            for (index, customer) in customers.enumerated() {
                let ids = customerMessageIDs[index]
                let last = ids.last!
                _ = try await customer.client.waitFor(type: "message", timeout: .seconds(120)) { $0.string("id") == last }
                try await customer.client.waitForReceivedCount(ids.count, type: "ack", timeout: .seconds(60))
                #expect(Self.describeDifferences(observed: Self.ackIDs(customer.client), expected: ids) == nil, "acks of \(customer.client.label)")

                let events = customer.client.received.filter { $0.type?.hasPrefix("conversation.") == true }
                let conversationIDs = Set(customer.client.received.compactMap { $0.string("conversationId") })
                #expect(conversationIDs.count == 1, "\(customer.client.label) saw conversations \(conversationIDs)")
                let conversationID = try #require(conversationIDs.first)
                conversationOf[customer.id] = conversationID
                #expect(Identifier.customerID(ofConversation: conversationID) == customer.id, "conversation \(conversationID) of \(customer.id)")

                let assigned = events.filter { $0.type == "conversation.assigned" }
                let queued = events.filter { $0.type == "conversation.queued" }
                #expect(assigned.count <= 1, "\(customer.client.label) was assigned more than once: \(assigned)")
                if let first = assigned.first {
                    assignedAgentOf[conversationID] = first["agent"]?["id"]?.stringValue
                } else {
                    #expect(queued.count == 1, "\(customer.client.label) got neither one assignment nor one queued event: \(events)")
                    #expect(queued.first?.string("skill") == "default", "\(queued)")
                    queuedConversations.insert(conversationID)
                }

                let view = ConversationView(frames: customer.client.received, conversationID: conversationID)
                #expect(view.seqProblems().isEmpty, "\(customer.client.label): \(view.seqProblems())")
                #expect(view.entries.count == ids.count + 1, "\(customer.client.label): entries \(view.entries.count)")
                let diff = Self.describeDifferences(observed: view.messageIDs(fromRole: "customer"), expected: ids)
                #expect(diff == nil, "\(customer.client.label): \(diff ?? "")")
            }
            #expect(assignedAgentOf.count == agentIDs.count * capacity, "assigned conversations: \(assignedAgentOf)")
            #expect(queuedConversations.count == customerCount - agentIDs.count * capacity, "queued: \(queuedConversations)")

            // Each agent: receives exactly its assignments, with all messages of each conversation.
            var assignedTo: [String: [String]] = [:]  // agent id → conversation ids (agent's view)
            for agent in agents {
                let mine = assignedAgentOf.filter { $0.value == agent.id }.map(\.key)
                for conversationID in mine {
                    let frame = try await agent.client.waitFor(type: "conversation.assigned", timeout: .seconds(60)) {
                        $0.string("conversationId") == conversationID
                    }
                    #expect(frame["agent"]?["id"]?.stringValue == agent.id, "\(frame)")
                    let customerIDs = conversationOf.filter { $0.value == conversationID }.map(\.key)
                    let customerID = try #require(customerIDs.first)
                    let ids = customerMessageIDs[customers.firstIndex { $0.id == customerID }!]
                    _ = try await agent.client.waitUntil("\(agent.id) to see \(ids.last!)", timeout: .seconds(60)) { view in
                        ConversationView(frames: view.log, conversationID: conversationID).messageIDs(fromRole: "customer").last == ids.last
                            ? true : nil
                    }
                    let view = ConversationView(frames: agent.client.received, conversationID: conversationID)
                    #expect(view.seqProblems().isEmpty, "\(agent.id) / \(conversationID): \(view.seqProblems())")
                    let diff = Self.describeDifferences(observed: view.messageIDs(fromRole: "customer"), expected: ids)
                    #expect(diff == nil, "\(agent.id) / \(conversationID): \(diff ?? "")")
                }
                // Queued conversations must not show up anywhere yet.
                assignedTo[agent.id] = agent.client.received(type: "conversation.assigned").compactMap { $0.string("conversationId") }
            }
            for (agentID, conversations) in assignedTo {
                #expect(conversations.count <= capacity, "\(agentID) holds \(conversations.count) conversations, capacity \(capacity): \(conversations)")
                #expect(conversations.count == capacity, "\(agentID) holds \(conversations.count) conversations; with 10 customers every agent should be full")
                #expect(Set(conversations).count == conversations.count, "\(agentID) got a conversation twice: \(conversations)")
            }
            let allAssigned = assignedTo.values.flatMap { $0 }
            #expect(Set(allAssigned).count == allAssigned.count, "a conversation was assigned to two agents: \(assignedTo)")
            #expect(Set(allAssigned).isDisjoint(with: queuedConversations), "queued conversations reached an agent: \(assignedTo)")

            // Redis agrees: load per agent within capacity, one assignment per conversation.
            let load = try await Self.redisHash(cluster, RedisKeys.agentsLoad)
            for id in agentIDs {
                #expect(Int(load[id] ?? "0") == capacity, "load of \(id) in \(RedisKeys.agentsLoad): \(load)")
            }
            let assignments = try await Self.redisHash(cluster, RedisKeys.assignments)
            #expect(assignments == assignedAgentOf, "\(RedisKeys.assignments) disagrees with the events")
            let queueLength = try await cluster.redisCommand(["LLEN", RedisKeys.queue(skill: "default")])
            #expect(queueLength == [String(queuedConversations.count)], "queue length \(queueLength)")

            for client in customers.map(\.client) + agents.map(\.client) { Self.expectNoErrors(client) }
            #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
        }
    }

    /// `HGETALL key` as a dictionary.
    static func redisHash(_ cluster: Cluster, _ key: String) async throws -> [String: String] {
        let lines = try await cluster.redisCommand(["HGETALL", key])
        var result: [String: String] = [:]
        var index = 0
        while index + 1 < lines.count {
            result[lines[index]] = lines[index + 1]
            index += 2
        }
        return result
    }

    /// Waits until the partition leases name every dispatcher in `expected`; returns partition →
    /// owner (the lease value, which starts with or contains the dispatcher id).
    static func waitForPartitionOwners(_ cluster: Cluster, expected: Set<String>, timeout: Duration) async throws -> [Int: String] {
        let deadline = ContinuousClock.now + timeout
        var owners: [Int: String] = [:]
        let partitions = Array(0..<cluster.configuration.partitions)
        repeat {
            owners = [:]
            // --raw prints one line per key, an empty line for a missing lease.
            var values = try await cluster.redisCommand(["MGET"] + partitions.map { RedisKeys.lease(partition: $0) })
            while values.count < partitions.count { values.append("") }
            for (partition, value) in zip(partitions, values) {
                if let owner = expected.first(where: { value == $0 || value.contains($0) }) {
                    owners[partition] = owner
                }
            }
            if Set(owners.values) == expected { return owners }
            try await Task.sleep(for: .milliseconds(250))
        } while ContinuousClock.now < deadline
        return owners
    }
}
