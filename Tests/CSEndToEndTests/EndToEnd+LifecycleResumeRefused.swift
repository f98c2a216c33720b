import CSTestSupport
import Foundation
import Testing

/// A refused resume point must not hold that conversation's live entries back (issue 21, item 3).
extension EndToEnd {
    /// Bob's console reconnects with `resume=` for a conversation that is Ada's now (it was
    /// requeued and reassigned meanwhile): the point is refused with `forbidden`. When Ada then
    /// hands the conversation to Bob, Bob gets the transfer and the customer's next message live.
    /// Before the fix the gateway held the conversation's live entries from `open` on and never
    /// let go after the refusal: Bob never saw the conversation again on that connection.
    @Test("lifecycle: a refused resume point does not swallow the conversation's later live entries")
    func lifecycleRefusedResumeReleasesLiveEntries() async throws {
        try await Self.withLifecycleSystem { cluster, scope in
            let gateway = cluster.gateways[0]
            let (ada, customer, conversationID) = try await Self.conversationHeldByAda(cluster, scope, gateway)

            let session = try await gateway.http.agentLogin(agentID: "bob", password: Self.agentPassword)
            let bob = try await scope.connect(
                gateway.webSocketURL + "?resume=\(conversationID):0", token: session.token, label: "agent-bob-resume")
            try await bob.hello()
            let refused = try await Self.awaitFrame(bob, "error", "the refusal of the resume point") {
                $0.string("conversationId") == conversationID
            }
            #expect(refused.string("code") == "forbidden", "\(refused)")

            try await ada.client.sendTransfer(id: "t-1", conversationID: conversationID, toAgent: "bob")
            try await Self.awaitFrame(bob, "conversation.transferred", "bob to get the transfer live") {
                $0.string("conversationId") == conversationID
            }
            try await customer.client.sendMessage(id: "c-2", body: "still there?", conversationID: conversationID)
            let message = try await Self.awaitFrame(bob, "message", "bob to get the customer's next message") {
                $0.string("conversationId") == conversationID && $0.string("id") == "c-2"
            }
            #expect(message["from"]?["role"]?.stringValue == "customer", "\(message)")
            // And Bob may answer: routing and the conversation agree that it is his.
            try await bob.sendMessage(id: "b-1", body: "yes, I have it now", conversationID: conversationID)
            try await Self.awaitFrame(customer.client, "message", "the customer to get bob's answer") { $0.string("id") == "b-1" }
        }
    }
}
