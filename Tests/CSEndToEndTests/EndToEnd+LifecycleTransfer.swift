import CSTestSupport
import Foundation
import Testing

/// Transfers (docs/protocol.md, `transfer`, `conversation.transferred`).
extension EndToEnd {
    /// Ada transfers to Bob with a note: customer, Ada and Bob get `conversation.transferred`
    /// (Bob's with history); Bob writes, Ada is `forbidden`. Transfers to a full or an offline
    /// agent get `agent_unavailable`. A transfer to the `billing` skill queues the conversation
    /// and Cyd (billing) gets it.
    @Test("lifecycle: transfer to an agent, to an unavailable agent, to a skill")
    func lifecycleTransfer() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            try await cluster.addAgent(id: "fred", name: "Fred", password: Self.agentPassword, max: 1)
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 2)
            try await cluster.addAgent(id: "bob", name: "Bob", password: Self.agentPassword, max: 2)
            try await cluster.addAgent(id: "cyd", name: "Cyd", password: Self.agentPassword, skills: ["billing"], max: 2)
            try await cluster.addAgent(id: "dora", name: "Dora", password: Self.agentPassword, max: 2)  // never connects

            // Fred is full (capacity 1), Ada holds the conversation under test.
            let fred = try await Self.connectStaff(scope, gateway, id: "fred")
            let other = try await Self.connectCustomer(scope, gateway, name: "Other")
            let (_, otherEvent) = try await Self.openConversation(other, messageID: "o-1")
            try #require(otherEvent["agent"]?["id"]?.stringValue == "fred", "\(otherEvent)")
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let customer = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (conversationID, event) = try await Self.openConversation(customer, messageID: "c-1", body: "my invoice is wrong")
            try #require(event["agent"]?["id"]?.stringValue == "ada", "\(event)")
            let bob = try await Self.connectStaff(scope, gateway, id: "bob")
            let cyd = try await Self.connectStaff(scope, gateway, id: "cyd")
            try await Self.awaitFrame(ada.client, "conversation.assigned") { $0.string("conversationId") == conversationID }

            // Malformed transfers.
            try await ada.client.sendTransfer(id: "t-both", conversationID: conversationID, toAgent: "bob", toSkill: "billing")
            #expect(try await Self.awaitError(ada.client, id: "t-both").string("code") == "invalid_field")
            try await ada.client.sendTransfer(id: "t-none", conversationID: conversationID)
            #expect(try await Self.awaitError(ada.client, id: "t-none").string("code") == "invalid_field")
            try await ada.client.sendTransfer(id: "t-note", conversationID: conversationID, toAgent: "bob", note: String(repeating: "n", count: 501))
            #expect(try await Self.awaitError(ada.client, id: "t-note").string("code") == "invalid_field")
            try await ada.client.sendTransfer(id: "t-empty-note", conversationID: conversationID, toAgent: "bob", note: "")
            #expect(try await Self.awaitError(ada.client, id: "t-empty-note").string("code") == "invalid_field")
            try await customer.client.sendTransfer(id: "t-customer", conversationID: conversationID, toAgent: "bob")
            #expect(try await Self.awaitError(customer.client, id: "t-customer").string("code") == "forbidden")
            try await ada.client.sendTransfer(id: "t-self", conversationID: conversationID, toAgent: "ada")
            #expect(try await Self.awaitError(ada.client, id: "t-self").string("code") == "agent_unavailable", "already the agent")

            // 1. To an agent, with a note.
            try await ada.client.sendTransfer(id: "t-1", conversationID: conversationID, toAgent: "bob", note: "billing question")
            let transferAck = try await Self.awaitFrame(ada.client, "ack", "the ack of the transfer") { $0.string("id") == "t-1" }
            #expect(!(transferAck.string("acceptedId") ?? "").isEmpty, "\(transferAck)")
            var seqs: [Int] = []
            for (client, who) in [(customer.client, "customer"), (ada.client, "ada"), (bob.client, "bob")] {
                let transferred = try await Self.awaitFrame(client, "conversation.transferred", "\(who) to get conversation.transferred") {
                    $0.string("conversationId") == conversationID
                }
                #expect(transferred["from"]?["id"]?.stringValue == "ada", "\(who): \(transferred)")
                #expect(transferred["to"]?["id"]?.stringValue == "bob", "\(who): \(transferred)")
                #expect(transferred["to"]?["name"]?.stringValue == "Bob", "\(who): \(transferred)")
                #expect(transferred.string("note") == "billing question", "\(who): \(transferred)")
                #expect(transferred["history"] == nil || who == "bob", "\(who) must not get history: \(transferred)")
                if who == "bob" {
                    let history = transferred["history"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
                    #expect(history.contains("c-1"), "bob's copy carries the history: \(transferred)")
                }
                seqs.append(transferred.int("seq") ?? -1)
            }
            #expect(Set(seqs).count == 1 && seqs[0] > 0, "one numbered event, same seq for all: \(seqs)")
            try await bob.client.sendMessage(id: "b-1", body: "Bob here", conversationID: conversationID)
            try await Self.awaitMessage(customer.client, id: "b-1")
            try await ada.client.sendMessage(id: "a-late", body: "still me?", conversationID: conversationID)
            let forbidden = try await Self.awaitError(ada.client, id: "a-late")
            #expect(forbidden.string("code") == "forbidden", "\(forbidden)")
            #expect(forbidden.string("conversationId") == conversationID, "\(forbidden)")

            // 2. To a full agent, to an offline agent.
            try await bob.client.sendTransfer(id: "t-full", conversationID: conversationID, toAgent: "fred")
            #expect(try await Self.awaitError(bob.client, id: "t-full").string("code") == "agent_unavailable")
            try await bob.client.sendTransfer(id: "t-offline", conversationID: conversationID, toAgent: "dora")
            #expect(try await Self.awaitError(bob.client, id: "t-offline").string("code") == "agent_unavailable")
            try await Self.settle(.milliseconds(300), [customer.client, bob.client])
            #expect(customer.client.received(type: "conversation.transferred").count == 1, "\(Self.summary(customer.client.received))")
            #expect(!customer.client.received.contains { $0.type == "message" && $0.string("id") == "a-late" }, "ada's refused message was delivered")

            // 3. To a skill: queued (reason transfer), then Cyd (billing) takes it.
            try await bob.client.sendTransfer(id: "t-skill", conversationID: conversationID, toSkill: "billing")
            let toSkill = try await Self.awaitFrame(customer.client, "conversation.transferred", "the transfer to billing") {
                $0.string("conversationId") == conversationID && $0.string("skill") == "billing"
            }
            #expect(toSkill["to"] == .null, "to is null for a skill: \(toSkill)")
            #expect(toSkill["from"]?["id"]?.stringValue == "bob", "\(toSkill)")
            let queued = try await Self.awaitFrame(customer.client, "conversation.queued", "queued after the transfer to billing") {
                $0.string("conversationId") == conversationID
            }
            #expect(queued.string("reason") == "transfer", "\(queued)")
            #expect(queued.string("skill") == "billing", "\(queued)")
            #expect(queued.index > toSkill.index, "queued follows transferred: \(Self.summary(customer.client.received))")
            let assigned = try await Self.awaitFrame(customer.client, "conversation.assigned", "billing agent cyd to take it") {
                $0.string("conversationId") == conversationID && $0.index > queued.index
            }
            #expect(assigned["agent"]?["id"]?.stringValue == "cyd", "\(assigned)")
            let cydAssigned = try await Self.awaitFrame(cyd.client, "conversation.assigned") { $0.string("conversationId") == conversationID }
            let history = cydAssigned["history"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(history.contains("c-1") && history.contains("b-1"), "cyd sees the history: \(cydAssigned)")
            try await Self.awaitFrame(bob.client, "conversation.transferred", "bob to see the transfer to billing") {
                $0.string("conversationId") == conversationID && $0.string("skill") == "billing"
            }
            try await cyd.client.sendMessage(id: "y-1", body: "Billing here", conversationID: conversationID)
            try await Self.awaitMessage(customer.client, id: "y-1")
            try await bob.client.sendMessage(id: "b-late", body: "hello?", conversationID: conversationID)
            #expect(try await Self.awaitError(bob.client, id: "b-late").string("code") == "forbidden")

            // Ada, no longer assigned, may not transfer it.
            try await ada.client.sendTransfer(id: "t-stolen", conversationID: conversationID, toAgent: "ada")
            #expect(try await Self.awaitError(ada.client, id: "t-stolen").string("code") == "forbidden")

            let seqsSeen = Self.seqs(customer.client.received, conversationID: conversationID)
            #expect(seqsSeen == Self.seqRange(1, seqsSeen.last ?? 0), "customer's seqs: \(seqsSeen)")
            let customerErrors = customer.client.received(type: "error").filter { $0.string("id") != "t-customer" }
            #expect(customerErrors.isEmpty, "customer errors: \(customerErrors)")
            Self.expectNoErrors(cyd.client)
            Self.expectNoErrors(fred.client)
        }
    }
}
