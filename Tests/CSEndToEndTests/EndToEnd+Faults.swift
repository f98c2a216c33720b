import CSCore
import CSTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults (docs/reliability.md "Faults"): a gateway SIGKILLed under 500 clients. The dispatcher
/// SIGKILL is EndToEnd+Failover.swift, Redis down EndToEnd+FaultsRedis.swift, a client that never
/// reads EndToEnd+FaultsSlowConsumer.swift.
extension EndToEnd {
    /// 500 customers on gw-1 (lightweight clients), five agents on gw-2. Every customer sends a
    /// message a second; gw-1 is SIGKILLed once each has 3 acked messages. Each customer
    /// reconnects to gw-2 with `resume=<conversation>:<highest seq seen>`, resends what had no
    /// `ack` (same id) and goes on. Every acked message, before and after the kill, reaches its
    /// customer once with seqs 1, 2, 3, … and no gap across both connections, and its agent once.
    @Test("SIGKILL of a gateway holding 500 clients: they resume on the other gateway, nothing acked is lost or repeated")
    func gatewayKilledUnder500Clients() async throws {
        let customerCount = 500
        let agentCount = 5
        let messagesBefore = 3
        let messagesAfter = 3
        try await Self.withSystem(gateways: 2, dispatchers: 1) { cluster, scope in
            let (gw1, gw2) = (cluster.gateways[0], cluster.gateways[1])
            var agents: [Agent] = []
            for index in 1...agentCount {
                try await cluster.addAgent(id: "agent\(index)", name: "Agent \(index)", password: Self.agentPassword, max: customerCount / agentCount)
                agents.append(try await Self.connectAgent(scope, gw2, id: "agent\(index)"))
            }
            let sessions = try await Self.visitorSessions(gw1, count: customerCount, prefix: "c")
            let customers = sessions.enumerated().map { FaultCustomer(label: "c\($0.offset)", token: $0.element.token) }
            let started = ContinuousClock.now
            try await Self.forEach(customers, parallel: 50) { _ = try await $0.ensureConnected(port: gw1.port) }
            print("gateway kill: \(customers.count) customers connected to gw-1 in \(ContinuousClock.now - started)")

            let port: @Sendable () -> Int = { cluster.runningGateways.first?.port ?? gw2.port }
            let ackedAtKill = OneShotBox<[String: [String]]>()
            let killedAt = OneShotBox<ContinuousClock.Instant>()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, customer) in customers.enumerated() {
                    group.addTask {
                        // Spread the sends over the second.
                        try await Task.sleep(for: .milliseconds(index * 1000 / customerCount))
                        // Until 3 messages were sent after the kill (at most 40).
                        var n = 0
                        var afterKill = 0
                        while afterKill < messagesAfter && n < 40 {
                            n += 1
                            if killedAt.value != nil { afterKill += 1 }
                            let id = Self.messageID("\(customer.label)-m", n)
                            try await customer.sendUntilAcked(id, body: "message \(n) of \(customer.label)", port: port)
                            try await Task.sleep(for: .seconds(1))
                        }
                    }
                }
                group.addTask {
                    // Kill once every customer has messagesBefore acks and knows its conversation.
                    let ready = await Self.poll(timeout: .seconds(120)) {
                        customers.allSatisfy { $0.refresh(); return $0.acked.count >= messagesBefore && $0.lastSeq > 0 }
                    }
                    #expect(ready, "not every customer had \(messagesBefore) acks within 120 s")
                    for customer in customers { customer.refresh() }
                    ackedAtKill.set(Dictionary(uniqueKeysWithValues: customers.map { ($0.label, $0.acked) }))
                    let status = await cluster.kill(gw1.process)
                    killedAt.set(.now)
                    #expect(status == .signaled(SIGKILL), "gw-1 should have died of SIGKILL, got \(status)")
                    let acked = ackedAtKill.value!.values.reduce(0) { $0 + $1.count }
                    print("gateway kill: SIGKILLed gw-1 with \(acked) messages acked")
                    let back = await Self.poll(timeout: .seconds(60)) { customers.allSatisfy { !$0.reconnects.isEmpty } }
                    #expect(back, "customers not reconnected after 60 s: \(customers.filter { $0.reconnects.isEmpty }.count)")
                    print("gateway kill: all \(customers.count) customers reconnected to gw-2 within \(ContinuousClock.now - killedAt.value!)")
                }
                try await group.waitForAll()
            }

            // Every message's echo reaches its customer (delivery is asynchronous to the ack).
            let allEchoed = await Self.poll(timeout: .seconds(60)) {
                customers.allSatisfy { customer in customer.sent.last.map(customer.sawCommitted) ?? true }
            }
            #expect(allEchoed, "not every customer saw its last message committed within 60 s")

            var problems: [String] = []
            var reconnects = 0
            for customer in customers {
                reconnects += customer.reconnects.count
                let expected = customer.sent
                #expect(customer.acked == expected, "\(customer.label): acks \(customer.acked), sent \(expected)")
                problems += customer.problems(expected: expected)
                let beforeKill = ackedAtKill.value?[customer.label] ?? []
                let committed = customer.numbered.filter { $0.type == "message" }.compactMap(\.id)
                for id in beforeKill where committed.filter({ $0 == id }).count != 1 {
                    problems.append("\(customer.label): \(id), acked before the kill, arrived \(committed.filter { $0 == id }.count) times")
                }
                let unexpected = customer.errors.filter { $0["code"]?.stringValue != "unavailable" }
                if !unexpected.isEmpty { problems.append("\(customer.label): errors \(unexpected.prefix(3))") }
            }
            #expect(problems.isEmpty, "\(problems.count) problems: \(problems.prefix(10))")
            #expect(reconnects == customerCount, "\(reconnects) reconnects for \(customerCount) customers")

            // The agents: each conversation's customer messages once, in order.
            var agentProblems: [String] = []
            for customer in customers {
                guard let conversationID = customer.conversationID else { agentProblems.append("\(customer.label): no conversation"); continue }
                let holders = agents.filter { agent in agent.client.received.contains { $0.string("conversationId") == conversationID } }
                guard let agent = holders.first, holders.count == 1 else {
                    agentProblems.append("\(conversationID): seen by \(holders.count) agents")
                    continue
                }
                let ok = await Self.poll(timeout: .seconds(30)) {
                    ConversationView(frames: agent.client.received, conversationID: conversationID).messageIDs(fromRole: "customer").count >= customer.sent.count
                }
                let view = ConversationView(frames: agent.client.received, conversationID: conversationID)
                if let difference = Self.describeDifferences(observed: view.messageIDs(fromRole: "customer"), expected: customer.sent) {
                    agentProblems.append("\(agent.id) in \(conversationID) (\(ok ? "complete" : "timed out")): \(difference)")
                }
                if !view.seqProblems().isEmpty { agentProblems.append("\(agent.id) in \(conversationID): \(view.seqProblems().prefix(2))") }
            }
            #expect(agentProblems.isEmpty, "\(agentProblems.count) problems: \(agentProblems.prefix(10))")
            for agent in agents { Self.expectNoErrors(agent.client) }

            // Redis: each conversation's log holds what its customer saw (a sample of 20).
            for customer in customers.prefix(20) {
                guard let conversationID = customer.conversationID else { continue }
                let length = try await cluster.redisCommand(["XLEN", RedisKeys.conversationLog(conversationID)]).first.flatMap { Int($0) }
                #expect(length == customer.lastSeq, "\(conversationID): log holds \(length ?? -1) entries, \(customer.label) saw up to seq \(customer.lastSeq)")
            }
            print("gateway kill: \(customers.reduce(0) { $0 + $1.sent.count }) messages from \(customers.count) customers, \(reconnects) reconnects, "
                + "\(customers.reduce(0) { $0 + $1.errors.count }) unavailable errors")
            try await Self.forEach(customers, parallel: 50) { await $0.closeAll() }
            #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
        }
    }
}
