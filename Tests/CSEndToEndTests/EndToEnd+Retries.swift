import CSCore
import CSTestSupport
import Foundation
import Testing

/// Retried frames since gateways no longer look client message ids up (issue 17): every retry is
/// an inbound entry of its own and gets its own `ack`; the partition owner commits it once
/// (docs/protocol.md "Retries", docs/architecture.md "One commit per client message id").
extension EndToEnd {
    /// The message that opened a conversation, and one sent into it by id, are both retried after
    /// the conversation was closed: the rules would open a new conversation for each; neither
    /// opens one, nothing is committed twice, and the retries get `ack`s and no error.
    @Test("retries: messages retried after their conversation closed open nothing new")
    func retriesAfterClose() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            let (ada, customer, conversationID) = try await Self.conversationHeldByAda(cluster, scope, gateway)
            try await customer.client.sendMessage(id: "c-2", body: "second", conversationID: conversationID)
            try await Self.awaitMessage(ada.client, id: "c-2")
            try await ada.client.sendClose(id: "x-1", conversationID: conversationID)
            try await Self.awaitFrame(customer.client, "conversation.closed") { $0.string("conversationId") == conversationID }

            // The opening message (no conversation id), then the second one (by id), resent.
            try await customer.client.sendMessage(id: "c-1", body: "hello from Ann")
            try await customer.client.sendMessage(id: "c-2", body: "second", conversationID: conversationID)
            // A later new message proves the retries were processed (one stream, in order).
            try await customer.client.sendMessage(id: "c-3", body: "a new question")
            let reopened = try await Self.awaitFrame(customer.client, "message", "c-3 committed") { $0.string("id") == "c-3" }
            let newConversation = try #require(reopened.string("conversationId"))
            #expect(newConversation != conversationID)

            let acks = customer.client.received.filter { $0.type == "ack" }.compactMap { $0.string("id") }
            #expect(acks.filter { $0 == "c-1" }.count == 2 && acks.filter { $0 == "c-2" }.count == 2, "acks: \(acks)")
            let opened = customer.client.received.filter { $0.type == "conversation.queued" || $0.type == "conversation.assigned" }
            #expect(Set(opened.compactMap { $0.string("conversationId") }) == [conversationID, newConversation], "\(opened.map(\.text))")
            for (id, count) in [("c-1", 1), ("c-2", 1), ("c-3", 1)] {
                let echoes = customer.client.received.filter { $0.type == "message" && $0.string("id") == id }
                #expect(echoes.count == count, "\(id) committed \(echoes.count) times: \(echoes.map(\.text))")
            }
            let history = try await gateway.http.fullHistory(newConversation, token: customer.session.token)
            #expect(history.compactMap { $0["id"]?.stringValue } == ["c-3"], "\(history)")
            Self.expectNoErrors(customer.client)
        }
    }

    /// Ada transfers to Bob and resends the same frame: the first copy moved the conversation,
    /// so the rules refuse the second (Ada no longer holds it); she gets an `ack` and no
    /// `forbidden`, and nobody sees a second transfer.
    @Test("retries: a retried transfer is answered by the first one's frames, not forbidden")
    func retriedTransfer() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            let (ada, customer, conversationID) = try await Self.conversationHeldByAda(cluster, scope, gateway)
            let bob = try await Self.connectStaff(scope, gateway, id: "bob")
            try await ada.client.sendTransfer(id: "t-1", conversationID: conversationID, toAgent: "bob")
            try await Self.awaitFrame(bob.client, "conversation.transferred") { $0.string("conversationId") == conversationID }
            try await ada.client.sendTransfer(id: "t-1", conversationID: conversationID, toAgent: "bob")
            // Bob writes afterwards: the retry (earlier in the same partition) was processed.
            try await bob.client.sendMessage(id: "b-1", body: "Bob here", conversationID: conversationID)
            try await Self.awaitMessage(customer.client, id: "b-1")
            try await Self.settle(.milliseconds(300), [ada.client, bob.client, customer.client])

            let acks = ada.client.received.filter { $0.type == "ack" && $0.string("id") == "t-1" }
            #expect(acks.count == 2, "\(acks.map(\.text))")
            Self.expectNoErrors(ada.client)
            for client in [ada.client, bob.client, customer.client] {
                let transfers = client.received.filter { $0.type == "conversation.transferred" }
                #expect(transfers.count == 1, "\(client.label): \(transfers.map(\.text))")
            }
        }
    }
}
