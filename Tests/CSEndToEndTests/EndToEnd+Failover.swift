import CSCore
import CSTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension EndToEnd {
    /// The dispatcher is SIGKILLed while a customer sends a steady stream; another dispatcher is
    /// started and takes the partitions over when the lease expires. Every acked message reaches
    /// the agent exactly once and in order; none is lost.
    @Test("SIGKILL of the dispatcher mid-stream loses and duplicates no acked message")
    func dispatcherKilledMidStream() async throws {
        let total = 1000
        let burst = 40
        let window = 64
        let leaseMilliseconds = 2000
        try await Self.withSystem(gateways: 1, dispatchers: 1, leaseMilliseconds: leaseMilliseconds) { cluster, scope in
            let gateway = cluster.gateways[0]
            let firstDispatcher = try #require(cluster.dispatcher("d-1"))
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 3)
            let agent = try await Self.connectAgent(scope, gateway, id: "alice")
            let customer = try await Self.connectCustomer(scope, gateway, name: "Ann")

            let ids = (1...total).map { Self.messageID("c", $0) }
            try await customer.client.sendMessage(id: ids[0], body: Self.body(for: ids[0]))
            let assigned = try await agent.client.waitFor(type: "conversation.assigned", timeout: .seconds(60))
            let conversationID = try #require(assigned.string("conversationId"))
            let partition = try #require(Partitioner(count: cluster.configuration.partitions).partition(forConversation: conversationID))

            let killedAt = OneShotBox<(acked: Int, delivered: Int, pending: String)>()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The customer: bursts of 40 messages (at most 64 unacked), 100 ms apart, so that
                // the dispatcher reads batches and has some in hand when it dies.
                group.addTask {
                    var next = 1
                    while next < total {
                        let end = min(next + burst, total)
                        for index in next..<end {
                            if index >= window {
                                try await customer.client.waitForReceivedCount(index - window + 1, type: "ack", timeout: .seconds(60))
                            }
                            try await customer.client.sendMessage(id: ids[index], body: Self.body(for: ids[index]))
                        }
                        next = end
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                // The operator: kill d-1 once deliveries flow and a backlog exists (best effort:
                // at most 30 s of waiting for one), start d-2 after 100 more acks.
                group.addTask {
                    try await agent.client.waitForReceivedCount(50, type: "message", timeout: .seconds(120))
                    let agentClient = agent.client
                    // Re-evaluated on every frame the customer gets (acks grow the backlog).
                    _ = try? await customer.client.waitUntil("a backlog of 10 acked, undelivered messages", timeout: .seconds(30)) { view in
                        (view.countsByType["ack"] ?? 0) - agentClient.receivedCount(type: "message") >= 10 ? true : nil
                    }
                    let acked = customer.client.receivedCount(type: "ack")
                    let delivered = agent.client.receivedCount(type: "message")
                    let status = await cluster.kill(firstDispatcher)
                    #expect(status == .signaled(SIGKILL), "d-1 should have died of SIGKILL, got \(status)")
                    let pending = (try? await cluster.redisCommand(["XPENDING", RedisKeys.inbound(partition: partition), RedisKeys.dispatcherGroup]))?
                        .first ?? "?"
                    killedAt.set((acked, delivered, pending))
                    print("failover test: killed d-1 with \(acked) acked, \(delivered) delivered to the agent, \(pending) read but unacknowledged")

                    // When deliveries kept up the whole time, every message may be acked already.
                    try await customer.client.waitForReceivedCount(min(acked + 100, total), type: "ack", timeout: .seconds(120))
                    try cluster.startDispatcher(id: "d-2")
                }
                try await group.waitForAll()
            }
            #expect(killedAt.value != nil)

            // Everything acked must reach the agent (the new owner waits for the lease to expire).
            let last = ids.last!
            _ = try await agent.client.waitUntil("the agent to receive \(last) after the takeover", timeout: .seconds(180)) { view in
                view.log.contains { $0.type == "message" && $0.string("id") == last } ? true : nil
            }
            _ = try await customer.client.waitUntil("the customer's echo of \(last)", timeout: .seconds(60)) { view in
                view.log.contains { $0.type == "message" && $0.string("id") == last } ? true : nil
            }
            try await customer.client.waitForReceivedCount(total, type: "ack", timeout: .seconds(60))

            let acked = Self.ackIDs(customer.client)
            #expect(Self.describeDifferences(observed: acked, expected: ids) == nil, "acks: \(Self.describeDifferences(observed: acked, expected: ids) ?? "")")

            let agentView = ConversationView(frames: agent.client.received, conversationID: conversationID)
            let agentDiff = Self.describeDifferences(observed: agentView.messageIDs(fromRole: "customer"), expected: acked)
            #expect(agentDiff == nil, "agent: \(agentDiff ?? "")")
            #expect(agentView.seqProblems().isEmpty, "agent: \(agentView.seqProblems())")

            let customerView = ConversationView(frames: customer.client.received, conversationID: conversationID)
            let customerDiff = Self.describeDifferences(observed: customerView.messageIDs(fromRole: "customer"), expected: acked)
            #expect(customerDiff == nil, "customer echoes: \(customerDiff ?? "")")
            #expect(customerView.seqProblems().isEmpty, "customer: \(customerView.seqProblems())")

            // Redis: the conversation log holds each message once (entry per seq).
            let logLength = try await cluster.redisCommand(["XLEN", RedisKeys.conversationLog(conversationID)])
            #expect(logLength == [String(total + 1)], "conversation log length \(logLength), expected \(total) messages + 1 event")

            #expect(cluster.dispatcher("d-2")?.isRunning == true, "d-2 is not running")
            // d-2 took the partitions over (when every message was delivered before the kill,
            // nothing above waited for it; stopping it mid-start would end it by SIGTERM).
            let tookOver = await Self.poll(timeout: .seconds(30)) { cluster.dispatcher("d-2")?.log().contains("partition acquired") == true }
            #expect(tookOver, "d-2 acquired no partition: \(cluster.dispatcher("d-2")?.logTail() ?? "")")
            Self.expectNoErrors(customer.client)
            Self.expectNoErrors(agent.client)
            #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
        }
    }
}

/// A value set once from a child task and read afterwards.
final class OneShotBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?

    func set(_ value: Value) { lock.withLock { stored = value } }
    var value: Value? { lock.withLock { stored } }
}
