import CSTestSupport
import Foundation
import Testing

/// Agent presence (docs/protocol.md, `presence`): grace after a disconnect, away, offline.
extension EndToEnd {
    static let presenceTTLMilliseconds = 1500
    static let presenceGraceMilliseconds = 2000

    /// Agent A holds a conversation. A reconnect within the grace keeps it with A. When A stays
    /// away past the grace, the customer gets `conversation.queued` (`agent_unavailable`) and
    /// then `conversation.assigned` to agent B, who sees the history.
    @Test("lifecycle: agent disconnect keeps the conversation during the grace, requeues it after")
    func lifecycleAgentGrace() async throws {
        let ttl = Self.presenceTTLMilliseconds
        let grace = Self.presenceGraceMilliseconds
        try await Self.withLifecycleSystem(
            gatewayArguments: ["--presence-ttl-ms", String(ttl)],
            dispatcherArguments: ["--presence-grace-ms", String(grace)]
        ) { cluster, scope in
            let gateway = cluster.gateways[0]
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 2)
            try await cluster.addAgent(id: "bob", name: "Bob", password: Self.agentPassword, max: 2)
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let customer = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (conversationID, first) = try await Self.openConversation(customer, messageID: "c-1")
            try #require(first.type == "conversation.assigned" && first["agent"]?["id"]?.stringValue == "ada", "\(first)")
            let bob = try await Self.connectStaff(scope, gateway, id: "bob")

            // 1. Disconnect and come back within the grace: nothing moves.
            await ada.client.close()
            try await Task.sleep(for: .milliseconds(grace / 4))
            let adaAgain = try await Self.reconnectStaff(scope, gateway, session: ada.session, label: "agent-ada-again")
            let view = try await Self.awaitFrame(adaAgain.client, "conversations", "ada's conversations after the reconnect")
            let items = view["items"]?.arrayValue?.compactMap { $0["conversationId"]?.stringValue } ?? []
            #expect(items.contains(conversationID), "ada still holds \(conversationID): \(view)")
            try await Self.settle(.milliseconds(ttl + grace + 1500), [customer.client, bob.client, adaAgain.client])
            #expect(customer.client.received(type: "conversation.queued").isEmpty,
                    "reconnected within the grace, yet requeued: \(customer.client.received(type: "conversation.queued"))")
            #expect(bob.client.received(type: "conversation.assigned").isEmpty, "bob got ada's conversation: \(bob.client.received(type: "conversation.assigned"))")
            try await adaAgain.client.sendMessage(id: "a-1", body: "still here", conversationID: conversationID)
            try await Self.awaitMessage(customer.client, id: "a-1")
            Self.expectNoErrors(adaAgain.client)

            // 2. Disconnect for good: requeued after the grace, then bob takes it.
            let disconnectedAt = ContinuousClock.now
            await adaAgain.client.close()
            let queued = try await Self.awaitFrame(customer.client, "conversation.queued", timeout: .seconds(20), "conversation.queued after the grace") {
                $0.string("conversationId") == conversationID
            }
            let elapsed = ContinuousClock.now - disconnectedAt
            #expect(queued.string("reason") == "agent_unavailable", "\(queued)")
            #expect(elapsed >= .milliseconds(grace - 250), "requeued \(elapsed) after the disconnect, before the grace (\(grace) ms) ended")
            let assigned = try await Self.awaitFrame(customer.client, "conversation.assigned", "conversation.assigned to bob") {
                $0.string("conversationId") == conversationID && $0["agent"]?["id"]?.stringValue == "bob"
            }
            #expect(assigned.index > queued.index, "assigned must follow queued: \(Self.summary(customer.client.received))")
            #expect((assigned.int("seq") ?? 0) > (queued.int("seq") ?? .max), "queued \(queued), assigned \(assigned)")

            let bobAssigned = try await Self.awaitFrame(bob.client, "conversation.assigned") { $0.string("conversationId") == conversationID }
            let historyIDs = bobAssigned["history"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            #expect(historyIDs.contains("c-1") && historyIDs.contains("a-1"), "bob's history: \(bobAssigned)")
            try await bob.client.sendMessage(id: "b-1", body: "Bob here", conversationID: conversationID)
            try await Self.awaitMessage(customer.client, id: "b-1")
            for client in [customer.client, bob.client] { Self.expectNoErrors(client) }
        }
    }

    /// An away agent keeps its conversation and can write in it, but new customers go to others
    /// (or wait). Back online, it takes the waiting customer; `offline` requeues at once.
    @Test("lifecycle: away agents get nothing new, keep their conversations; online drains; offline requeues")
    func lifecycleAwayAgent() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 3)
            try await cluster.addAgent(id: "bob", name: "Bob", password: Self.agentPassword, max: 1)
            let ada = try await Self.connectStaff(scope, gateway, id: "ada")
            let first = try await Self.connectCustomer(scope, gateway, name: "First")
            let (firstID, firstEvent) = try await Self.openConversation(first, messageID: "f-1")
            try #require(firstEvent["agent"]?["id"]?.stringValue == "ada", "\(firstEvent)")
            let bob = try await Self.connectStaff(scope, gateway, id: "bob")

            try await ada.client.sendPresence("away")
            let confirmation = try await Self.awaitFrame(ada.client, "presence", "the presence confirmation")
            #expect(confirmation.string("status") == "away", "\(confirmation)")

            try await first.client.sendPresence("away")
            let customerPresence = try await Self.awaitFrame(first.client, "error", "forbidden for a customer's presence")
            #expect(customerPresence.string("code") == "forbidden", "\(customerPresence)")

            let second = try await Self.connectCustomer(scope, gateway, name: "Second")
            let (secondID, secondEvent) = try await Self.openConversation(second, messageID: "s-1")
            #expect(secondEvent.type == "conversation.assigned" && secondEvent["agent"]?["id"]?.stringValue == "bob",
                    "ada is away, bob is free: \(secondEvent)")
            let third = try await Self.connectCustomer(scope, gateway, name: "Third")
            let (thirdID, thirdEvent) = try await Self.openConversation(third, messageID: "t-1")
            #expect(thirdEvent.type == "conversation.queued", "ada is away and bob is full: \(thirdEvent)")

            // Ada still serves her conversation.
            try await ada.client.sendMessage(id: "a-1", body: "back in a minute", conversationID: firstID)
            try await Self.awaitMessage(first.client, id: "a-1")
            try await Self.settle(.milliseconds(1200), [ada.client, third.client])
            let adaGot = ada.client.received(type: "conversation.assigned").compactMap { $0.string("conversationId") }
            #expect(adaGot == [firstID], "away ada got new conversations: \(adaGot)")
            #expect(third.client.received(type: "conversation.assigned").isEmpty, "\(Self.summary(third.client.received))")
            #expect(first.client.received(type: "conversation.queued").isEmpty, "away must keep the conversation")

            // Online again: she takes the waiting customer.
            try await ada.client.sendPresence("online")
            try await Self.awaitFrame(ada.client, "presence", "the online confirmation") { $0.string("status") == "online" }
            let thirdAssigned = try await Self.awaitFrame(third.client, "conversation.assigned", "the waiting customer to go to ada")
            #expect(thirdAssigned["agent"]?["id"]?.stringValue == "ada", "\(thirdAssigned)")
            try await Self.awaitFrame(ada.client, "conversation.assigned") { $0.string("conversationId") == thirdID }

            // Offline: her conversations go back to the queue at once (no grace).
            try await ada.client.sendPresence("offline")
            try await Self.awaitFrame(ada.client, "presence", "the offline confirmation") { $0.string("status") == "offline" }
            for (customer, conversationID) in [(first, firstID), (third, thirdID)] {
                let queued = try await Self.awaitFrame(customer.client, "conversation.queued", timeout: .seconds(10), "requeue after offline") {
                    $0.string("conversationId") == conversationID && $0.string("reason") == "agent_unavailable"
                }
                let position = try await Self.awaitFrame(customer.client, "queue.position") {
                    $0.string("conversationId") == conversationID && $0.index > queued.index
                }
                #expect((1...2).contains(position.int("position") ?? 0), "back at the head of the queue: \(position)")
            }
            #expect(second.client.received(type: "conversation.queued").isEmpty, "bob's conversation must not move")
            _ = secondID
            for client in [ada.client, bob.client, second.client, third.client] { Self.expectNoErrors(client) }
            #expect(first.client.received(type: "error").count == 1, "\(first.client.received(type: "error"))")
        }
    }
}
