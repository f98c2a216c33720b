import CSCore
import CSTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults (docs/reliability.md "Faults"): Redis goes away for 10 s and comes back from its AOF.
extension EndToEnd {
    /// Like `withSystem`, with a Redis that writes an append-only file (so that it can be killed
    /// and started again with its data), handed to `body`.
    static func withAOFSystem<R: Sendable>(
        testName: String = #function, gateways: Int, dispatchers: Int,
        _ body: (Cluster, RedisServer, ChatClientScope) async throws -> R
    ) async throws -> R {
        let redis = try await RedisServer(appendOnly: true, extraArguments: ["--appendfsync", "everysec"])
        var configuration = Cluster.Configuration(gateways: gateways, dispatchers: dispatchers, leaseMilliseconds: 3000)
        configuration.logLevel = "info"
        let result: R
        do {
            result = try await Cluster.run(
                testName: testName, redisURL: redis.url, configuration: configuration,
                onShutdownProblems: { problems in
                    for problem in problems { Issue.record(Comment(rawValue: "shutdown: \(problem)")) }
                }
            ) { cluster in
                try await withChatClients { scope in try await body(cluster, redis, scope) }
            }
        } catch {
            try? await redis.stop()
            throw error
        }
        try await redis.stop()
        return result
    }

    /// Two gateways, one dispatcher, one agent (gw-2) and four customers (two per gateway) chat;
    /// then Redis is SIGKILLed (harsher than a shutdown: nothing is flushed on the way out),
    /// stays down 10 s, and is started again on the same port from its append-only file.
    /// While it is down every message sent gets `error` `unavailable` and no `ack`; no process
    /// exits; the processes reconnect and re-subscribe by themselves; the clients resend the same
    /// ids and get them acked once Redis is back. Every message acked before the outage, and every
    /// one after, reaches both participants once, in order, with no gap in seq.
    @Test("Redis down for 10 s and restarted from its AOF: unavailable while down, nothing acked lost, chat resumes")
    func redisOutageAndAOFRestart() async throws {
        try await Self.withAOFSystem(gateways: 2, dispatchers: 1) { cluster, redis, scope in
            let (gw1, gw2) = (cluster.gateways[0], cluster.gateways[1])
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 10)
            let agentSession = try await gw2.http.agentLogin(agentID: "alice", password: Self.agentPassword)
            let agent = FaultCustomer(label: "agent-alice", token: agentSession.token)
            _ = try await agent.ensureConnected(port: gw2.port)
            var customers: [(FaultCustomer, GatewayHandle)] = []
            for (index, gateway) in [gw1, gw1, gw2, gw2].enumerated() {
                let session = try await gateway.http.visitorSession(name: "c\(index)")
                let customer = FaultCustomer(label: "c\(index)", token: session.token)
                _ = try await customer.ensureConnected(port: gateway.port)
                customers.append((customer, gateway))
            }

            // Before: five messages from each customer, two from the agent into each conversation.
            var n = 0
            func chat(_ rounds: Int) async throws {
                for _ in 0..<rounds {
                    n += 1
                    let round = n
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (customer, gateway) in customers {
                            let id = Self.messageID("\(customer.label)-m", round)
                            group.addTask { try await customer.sendUntilAcked(id, body: "hello \(round)", port: { gateway.port }) }
                        }
                        try await group.waitForAll()
                    }
                }
            }
            func agentReplies(_ tag: String) async throws {
                for (customer, _) in customers {
                    let conversation = try #require(customer.conversationID)
                    try await agent.sendUntilAcked("a-\(tag)-\(customer.label)", body: "reply \(tag)", conversationID: conversation, port: { gw2.port })
                }
            }
            try await chat(5)
            let open = await Self.poll(timeout: .seconds(30)) {
                customers.allSatisfy { $0.0.refresh(); return $0.0.conversationID != nil }
            }
            try #require(open, "every customer's conversation is open")
            // The agent has every conversation.
            let assigned = await Self.poll(timeout: .seconds(30)) {
                agent.refresh()
                return customers.allSatisfy { customer in agent.numbered.contains { $0.conversationID == customer.0.conversationID } }
            }
            try #require(assigned, "alice has the four conversations")
            try await agentReplies("before")
            let ackedBefore = customers.map { $0.0.acked } + [agent.acked]

            // Redis goes away for 10 s.
            let pid = try #require(redis.processIdentifier)
            await redis.kill()
            print("redis outage: SIGKILLed redis-server (pid \(pid)) with \(ackedBefore.reduce(0) { $0 + $1.count }) messages acked")
            let downAt = ContinuousClock.now
            let errorsBefore = customers.map { $0.0.errors.count }
            // Each customer tries to send during the outage: `unavailable`, then resends until acked.
            n += 1
            let round = n
            let everyone = customers
            let duringOutage = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (customer, gateway) in everyone {
                        let id = Self.messageID("\(customer.label)-m", round)
                        group.addTask { try await customer.sendUntilAcked(id, body: "during the outage", port: { gateway.port }, retryDelay: .seconds(1)) }
                    }
                    try await group.waitForAll()
                }
            }
            try await Task.sleep(until: downAt + .seconds(10))
            for (index, (customer, _)) in customers.enumerated() {
                let errors = customer.errors.dropFirst(errorsBefore[index])
                #expect(!errors.isEmpty, "\(customer.label) got no error while Redis was down")
                for error in errors {
                    #expect(error["code"]?.stringValue == "unavailable", "\(customer.label): \(error)")
                    #expect(error["message"]?.stringValue?.contains("temporarily unavailable") == true, "\(customer.label): \(error)")
                }
                #expect(customer.acked.count == ackedBefore[index].count, "\(customer.label) got an ack while Redis was down")
            }
            for process in cluster.allProcesses {
                #expect(process.isRunning, "\(process.name) exited while Redis was down: \(process.exitStatus.map { "\($0)" } ?? "")")
            }

            try await redis.start()
            let upAt = ContinuousClock.now
            print("redis outage: restarted redis-server from its AOF after \(upAt - downAt)")
            try await duringOutage.value
            print("redis outage: the message sent during the outage was acked \(ContinuousClock.now - upAt) after the restart")
            try await agentReplies("after")
            try await chat(3)

            // Everything arrives: each customer's last message at the agent, the agent's last reply
            // at each customer.
            let delivered = await Self.poll(timeout: .seconds(60)) {
                agent.refresh()
                return customers.allSatisfy { customer, _ in
                    customer.sawCommitted("a-after-\(customer.label)") && customer.sent.last.map(customer.sawCommitted) == true
                        && agent.numbered.contains { $0.id == customer.sent.last }
                }
            }
            #expect(delivered, "not everything was delivered within 60 s of the restart")

            var problems: [String] = []
            for (index, (customer, _)) in customers.enumerated() {
                let conversation = customer.conversationID
                let fromAgent = conversation.map { agent.sent(in: $0) } ?? []
                #expect(customer.acked == customer.sent, "\(customer.label): acked \(customer.acked), sent \(customer.sent)")
                problems += customer.problems(expected: customer.sent, fromAgent: fromAgent)
                problems += agent.problems(expected: customer.sent, conversationID: conversation, fromAgent: fromAgent)
                for id in ackedBefore[index] where customer.numbered.filter({ $0.id == id }).count != 1 {
                    problems.append("\(customer.label): \(id), acked before the outage, arrived \(customer.numbered.filter { $0.id == id }.count) times")
                }
                if let conversation {
                    let length = try await cluster.redisCommand(["XLEN", RedisKeys.conversationLog(conversation)]).first.flatMap { Int($0) }
                    #expect(length == customer.numbered.map(\.seq).max(), "\(conversation): log holds \(length ?? -1), \(customer.label) saw up to \(customer.lastSeq)")
                }
            }
            #expect(problems.isEmpty, "\(problems)")
            #expect(agent.errors.isEmpty, "the agent got errors: \(agent.errors)")
            // Nobody had to reconnect: the gateways kept the WebSockets open through the outage.
            for chatter in customers.map(\.0) + [agent] {
                #expect(chatter.reconnects.isEmpty, "\(chatter.label) reconnected: \(chatter.reconnects)")
            }
            #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
            print("redis outage: \(customers.reduce(0) { $0 + $1.0.sent.count }) customer messages, \(agent.sent.count) agent replies, "
                + "\(customers.reduce(0) { $0 + $1.0.errors.count }) unavailable errors while Redis was down")
            for chatter in customers.map(\.0) + [agent] { await chatter.closeAll() }
        }
    }
}
