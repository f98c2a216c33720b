import CSCore
import CSTestSupport
import Foundation
import Testing

/// Graceful restarts under traffic (docs/operations.md: SIGTERM stops a process gracefully).
/// Two gateways, two dispatchers and a notifier; two agents and four customers chat the whole
/// time (a message every 250-300 ms each), and one process at a time is stopped with SIGTERM
/// and started again. Restarting any one process must lose no accepted message: every message
/// that got its `ack` reaches both participants exactly once, in order, with no gap in `seq`.
extension EndToEnd {
    /// The participants: each customer has one conversation, assigned to one of the agents.
    struct RestartTraffic: Sendable {
        struct Conversation: Sendable {
            let id: String
            let customer: ReconnectingChatter
            let agent: ReconnectingChatter
        }

        /// The customers `runTraffic` drives.
        let customers: [ReconnectingChatter]
        let agents: [ReconnectingChatter]
        /// Every conversation (`verifyTraffic` checks them all; agents write to all of theirs).
        var conversations: [Conversation]
        /// The partitions of the customers, by customer label.
        let partitions: [String: Int]
        var everyone: [ReconnectingChatter] {
            agents + conversations.map(\.customer).filter { customer in !agents.contains { $0 === customer } }
        }

        func conversations(of agent: ReconnectingChatter) -> [String] {
            conversations.filter { $0.agent === agent }.map(\.id)
        }
    }

    static func withRestartSystem<R: Sendable>(
        testName: String = #function, _ body: (Cluster, ChatClientScope) async throws -> R
    ) async throws -> R {
        try await withSystem(
            testName: testName, gateways: 2, dispatchers: 2, leaseMilliseconds: 3000, notifiers: 1,
            gatewayArguments: ["--admin-key", notificationAdminKey], body)
    }

    /// Waits until the two dispatchers share the partitions (4 each of 8); returns the owners.
    static func waitForSharedLeases(_ cluster: Cluster, timeout: Duration = .seconds(20)) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        var owners: [String] = []
        while ContinuousClock.now < deadline {
            owners = try await cluster.leaseOwners()
            let half = cluster.configuration.partitions / 2
            if owners.filter({ $0 == "d-1" }).count == half && owners.filter({ $0 == "d-2" }).count == half { return owners }
            try await Task.sleep(for: .milliseconds(200))
        }
        Issue.record("the dispatchers did not share the partitions within \(timeout): \(owners)")
        return owners
    }

    /// Agents alice (gw-1) and bob (gw-2); four customers, two in partitions d-1 owns and two in
    /// partitions d-2 owns, one of each on each gateway. Every customer opens its conversation.
    static func startRestartTraffic(_ cluster: Cluster, _ scope: ChatClientScope) async throws -> RestartTraffic {
        let (gw1, gw2) = (cluster.gateways[0], cluster.gateways[1])
        let owners = try await waitForSharedLeases(cluster)
        var agents: [ReconnectingChatter] = []
        for (id, gateway) in [("alice", gw1), ("bob", gw2)] {
            try await cluster.addAgent(id: id, name: id.capitalized, password: Self.agentPassword, max: 3)
            let session = try await gateway.http.agentLogin(agentID: id, password: Self.agentPassword)
            let agent = ReconnectingChatter(label: "agent-\(id)", token: session.token, scope: scope)
            try await agent.connect(gateway.webSocketURL)
            agents.append(agent)
        }
        // Customers: (owner of the partition, gateway) = (d-1, gw-1), (d-2, gw-1), (d-1, gw-2), (d-2, gw-2).
        var customers: [ReconnectingChatter] = []
        var conversations: [RestartTraffic.Conversation] = []
        var partitions: [String: Int] = [:]
        for (index, (owner, gateway)) in [("d-1", gw1), ("d-2", gw1), ("d-1", gw2), ("d-2", gw2)].enumerated() {
            let (customer, partition) = try await connectRestartCustomer(
                cluster, scope, label: "customer-\(index)", inPartitionOf: owner, owners: owners, on: gateway)
            customers.append(customer)
            partitions[customer.label] = partition
            conversations.append(try await openRestartConversation(cluster, customer, firstMessageID: Self.messageID("c\(index)", 0), agents: agents))
        }
        return RestartTraffic(customers: customers, agents: agents, conversations: conversations, partitions: partitions)
    }

    /// A customer whose visitor id falls in a partition that `owner` holds (per `owners`).
    static func connectRestartCustomer(
        _ cluster: Cluster, _ scope: ChatClientScope, label: String, inPartitionOf owner: String, owners: [String], on gateway: GatewayHandle
    ) async throws -> (ReconnectingChatter, Int) {
        let partitioner = Partitioner(count: cluster.configuration.partitions)
        for _ in 0..<100 {
            let session = try await gateway.http.visitorSession(name: label)
            let partition = partitioner.partition(forCustomer: session.visitorID)
            guard owners[partition] == owner else { continue }
            let customer = ReconnectingChatter(label: label, token: session.token, scope: scope)
            try await customer.connect(gateway.webSocketURL)
            return (customer, partition)
        }
        throw ChatClientError.notConnected(client: "no visitor id in a partition of \(owner) in 100 tries")
    }

    /// The customer's first message opens its conversation; an agent takes it at once.
    static func openRestartConversation(
        _ cluster: Cluster, _ customer: ReconnectingChatter, firstMessageID id: String, agents: [ReconnectingChatter]
    ) async throws -> RestartTraffic.Conversation {
        try await customer.send(id: id, body: Self.body(for: id), gateways: { cluster.runningGatewayURLs })
        let client = try #require(customer.current)
        let assigned = try await Self.awaitFrame(client, "conversation.assigned", timeout: .seconds(20))
        let conversationID = try #require(assigned.string("conversationId"))
        let agentID = try #require(assigned.json?["agent"]?["id"]?.stringValue)
        let agent = try #require(agents.first { $0.label == "agent-\(agentID)" })
        try await Self.awaitFrame(try #require(agent.current), "conversation.assigned") { $0.string("conversationId") == conversationID }
        customer.follow(conversationID)
        agent.follow(conversationID)
        return .init(id: conversationID, customer: customer, agent: agent)
    }

    /// Chats until `stop` is set: each customer sends every 250 ms; each agent writes to its
    /// conversations in turn every 300 ms. Participants whose connection ends reconnect to another
    /// running gateway with `resume` and send again what has no `ack`.
    static func runTraffic(_ traffic: RestartTraffic, _ cluster: Cluster, until stop: OneShotBox<Bool>) async throws {
        let gateways: @Sendable () -> [String] = { cluster.runningGatewayURLs }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, customer) in traffic.customers.enumerated() {
                group.addTask {
                    var n = 1
                    while stop.value == nil {
                        let id = Self.messageID("c\(index)", n)
                        n += 1
                        try await customer.send(id: id, body: Self.body(for: id), gateways: gateways)
                        try await Task.sleep(for: .milliseconds(250))
                    }
                }
            }
            for agent in traffic.agents {
                let conversations = traffic.conversations(of: agent)
                guard !conversations.isEmpty else { continue }
                group.addTask {
                    var n = 1
                    while stop.value == nil {
                        let id = Self.messageID("\(agent.label)", n)
                        try await agent.send(id: id, body: Self.body(for: id), conversationID: conversations[n % conversations.count], gateways: gateways)
                        n += 1
                        try await Task.sleep(for: .milliseconds(300))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    /// Polls until `chatter` received (on any connection) the message `id`.
    static func awaitDelivery(_ chatter: ReconnectingChatter, id: String, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while !chatter.frames.contains(where: { $0.type == "message" && $0.string("id") == id }) {
            guard ContinuousClock.now < deadline else {
                Issue.record("\(chatter.label) did not receive message \(id) within \(timeout); last frames: \(Self.summary(chatter.frames))")
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Every message sent got its `ack`, and reached both participants of its conversation once,
    /// in order, with `seq` running 1, 2, 3, … across all the connections each one had.
    static func verifyTraffic(_ traffic: RestartTraffic, _ cluster: Cluster) async throws {
        let gateways: @Sendable () -> [String] = { cluster.runningGatewayURLs }
        for chatter in traffic.everyone { try await chatter.waitForAllAcks(gateways) }
        var total = 0
        for conversation in traffic.conversations {
            let fromCustomer = conversation.customer.sentIDs(conversationID: nil)
            let fromAgent = conversation.agent.sentIDs(conversationID: conversation.id)
            total += fromCustomer.count + fromAgent.count
            for (chatter, last) in [(conversation.agent, fromCustomer.last), (conversation.customer, fromAgent.last), (conversation.customer, fromCustomer.last)] {
                if let last { try await Self.awaitDelivery(chatter, id: last) }
            }
            let logLength = try await cluster.redisCommand(["XLEN", RedisKeys.conversationLog(conversation.id)]).first.flatMap { Int($0) } ?? -1
            for chatter in [conversation.customer, conversation.agent] {
                let view = ConversationView(frames: chatter.frames, conversationID: conversation.id)
                let who = "\(chatter.label) in \(conversation.id) (\(chatter.connections.count) connections)"
                #expect(view.seqProblems().isEmpty, "\(who): \(view.seqProblems())")
                let customerDiff = Self.describeDifferences(observed: view.messageIDs(fromRole: "customer"), expected: fromCustomer)
                #expect(customerDiff == nil, "\(who), the customer's messages: \(customerDiff ?? "")")
                let agentDiff = Self.describeDifferences(observed: view.messageIDs(fromRole: "agent"), expected: fromAgent)
                #expect(agentDiff == nil, "\(who), the agent's messages: \(agentDiff ?? "")")
                #expect(view.seqs.last == logLength, "\(who): saw up to seq \(view.seqs.last ?? 0), the log holds \(logLength)")
            }
        }
        for chatter in traffic.everyone {
            let errors = chatter.connections.flatMap { $0.received(type: "error") }
            #expect(errors.isEmpty, "\(chatter.label) received errors: \(errors.prefix(5))")
        }
        print("graceful restart: \(total) messages in \(traffic.conversations.count) conversations; reconnects: "
            + traffic.everyone.filter { !$0.reconnects.isEmpty }.map { "\($0.label) \($0.reconnects.map { "\($0.closed), resent \($0.resent)" })" }.joined(separator: ", "))
    }

    // MARK: - The tests

    @Test("SIGTERM of a gateway under traffic: its clients get 1001, resume on the other gateway, nothing lost or repeated")
    func gracefulGatewayRestart() async throws {
        try await Self.withRestartSystem { cluster, scope in
            let traffic = try await Self.startRestartTraffic(cluster, scope)
            let gw1 = cluster.gateways[0]
            let gw2 = cluster.gateways[1]
            let onGW1 = traffic.everyone.filter { $0.currentURL == gw1.webSocketURL }
            let stop = OneShotBox<Bool>()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Self.runTraffic(traffic, cluster, until: stop) }
                group.addTask {
                    defer { stop.set(true) }
                    try await Task.sleep(for: .seconds(2))
                    let status = try await cluster.stopGracefully(gw1.process)
                    #expect(status.isSuccess, "gw-1 exited with \(status) after SIGTERM")
                    // Its clients are back (on gw-2) and traffic goes on without gw-1 for a while.
                    let deadline = ContinuousClock.now + .seconds(20)
                    while onGW1.contains(where: { $0.reconnects.isEmpty }) && ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    try await Task.sleep(for: .seconds(2))
                    let restarted = try await cluster.startGateway(id: "gw-1")
                    #expect(restarted.process.isRunning)
                    try await Task.sleep(for: .seconds(2))
                }
                try await group.waitForAll()
            }
            try await Self.verifyTraffic(traffic, cluster)
            for chatter in onGW1 {
                #expect(chatter.reconnects.count == 1, "\(chatter.label) reconnected \(chatter.reconnects.count) times")
                guard let reconnect = chatter.reconnects.first else { continue }
                #expect(reconnect.to == gw2.webSocketURL, "\(chatter.label) reconnected to \(reconnect.to)")
                // docs/protocol.md "Close codes": 1001 = the gateway is shutting down, reconnect at once.
                #expect(reconnect.closed.code == 1001, "\(chatter.label): connection to gw-1 ended with \(reconnect.closed), expected 1001")
            }
            for chatter in traffic.everyone where !onGW1.contains(where: { $0 === chatter }) {
                #expect(chatter.reconnects.isEmpty, "\(chatter.label) on gw-2 had to reconnect: \(chatter.reconnects.map(\.closed))")
            }
            #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
        }
    }

    @Test("SIGTERM of a dispatcher under traffic: the other takes its partitions over, nothing lost or repeated")
    func gracefulDispatcherRestart() async throws {
        try await Self.withRestartSystem { cluster, scope in
            var traffic = try await Self.startRestartTraffic(cluster, scope)
            let d1 = try #require(cluster.dispatcher("d-1"))
            // customer-0 and customer-2 write to partitions d-1 owns; so does the burst customer,
            // who sends 30 messages back to back so that d-1 has entries in hand at the SIGTERM.
            let onD1 = [traffic.customers[0], traffic.customers[2]]
            let owners = try await cluster.leaseOwners()
            let (burster, burstPartition) = try await Self.connectRestartCustomer(
                cluster, scope, label: "customer-burst", inPartitionOf: "d-1", owners: owners, on: cluster.gateways[1])
            traffic.conversations.append(
                try await Self.openRestartConversation(cluster, burster, firstMessageID: "burst-0000", agents: traffic.agents))
            let stop = OneShotBox<Bool>()
            try await withThrowingTaskGroup(of: Void.self) { [traffic] group in
                group.addTask { try await Self.runTraffic(traffic, cluster, until: stop) }
                group.addTask {
                    defer { stop.set(true) }
                    try await Task.sleep(for: .seconds(2))
                    let sentBefore = onD1.map { $0.sent.count }
                    try await withThrowingTaskGroup(of: Void.self) { burst in
                        burst.addTask {
                            // 30 back to back (within the gateways' per-connection burst of 40
                            // frames), then 12 a second (below their 20 a second) during the takeover.
                            for n in 1...70 {
                                let id = Self.messageID("burst", n)
                                try await burster.send(id: id, body: Self.body(for: id), gateways: { cluster.runningGatewayURLs })
                                if n >= 30 { try await Task.sleep(for: .milliseconds(80)) }
                            }
                        }
                        while burster.ackedIDs.count < 10 { try await Task.sleep(for: .milliseconds(5)) }
                        let stoppedAt = ContinuousClock.now
                        let status = try await cluster.stopGracefully(d1)
                        #expect(status.isSuccess, "d-1 exited with \(status) after SIGTERM")
                        let pending = try await cluster.pendingCount(partition: burstPartition)
                        print("graceful restart: d-1 stopped in \(ContinuousClock.now - stoppedAt); "
                            + "\(burster.ackedIDs.count) of the burst acked, \(burster.frames.filter { $0.type == "message" }.count) delivered, "
                            + "\(pending) left pending in its partition")
                        try await burst.waitForAll()
                    }
                    #expect(d1.log().contains("partition released"), "d-1 did not log its partitions released")
                    // d-2 takes d-1's partitions over at once: what those customers send now is committed.
                    for (customer, before) in zip(onD1, sentBefore) {
                        let deadline = ContinuousClock.now + .seconds(15)
                        while customer.sent.count < before + 3 && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
                        let id = try #require(customer.sent.last?.id)
                        try await Self.awaitDelivery(customer, id: id, timeout: .seconds(15))
                    }
                    let owners = try await cluster.leaseOwners()
                    #expect(owners.allSatisfy { $0 == "d-2" }, "after d-1 stopped, the leases are held by \(owners)")
                    try cluster.startDispatcher(id: "d-1")
                    // Back to sharing: d-2 hands partitions back while the traffic goes on.
                    _ = try await Self.waitForSharedLeases(cluster)
                    try await Task.sleep(for: .seconds(1))
                }
                try await group.waitForAll()
            }
            try await Self.verifyTraffic(traffic, cluster)
            for chatter in traffic.everyone {
                #expect(chatter.reconnects.isEmpty, "\(chatter.label) had to reconnect: \(chatter.reconnects.map(\.closed))")
            }
            #expect(cluster.newestDispatcher("d-1")?.isRunning == true)
            #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
        }
    }

    @Test("SIGTERM of the notifier while notifications are sent: after its restart every accepted one is delivered once")
    func gracefulNotifierRestart() async throws {
        try await Self.withRestartSystem { cluster, scope in
            let traffic = try await Self.startRestartTraffic(cluster, scope)
            let n1 = try #require(cluster.notifier("n-1"))
            let stop = OneShotBox<Bool>()
            let accepted = OneShotBox<[String]>()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Self.runTraffic(traffic, cluster, until: stop) }
                group.addTask {
                    defer { stop.set(true) }
                    // 30 notifications to everyone, one every 100 ms through either gateway; n-1 is
                    // stopped after the 10th and started again 1 s later.
                    var ids: [String] = []
                    try await withThrowingTaskGroup(of: Void.self) { operators in
                        for index in 0..<30 {
                            if index == 10 {
                                operators.addTask {
                                    let status = try await cluster.stopGracefully(n1)
                                    #expect(status.isSuccess, "n-1 exited with \(status) after SIGTERM")
                                    try await Task.sleep(for: .seconds(1))
                                    try cluster.startNotifier(id: "n-1")
                                }
                            }
                            let gateway = cluster.runningGateways[index % 2]
                            let json = try await Self.postNotification(gateway, ["audience": "all", "body": .string("restart notice #\(index)")])
                            ids.append(try #require(json["id"]?.stringValue))
                            try await Task.sleep(for: .milliseconds(100))
                        }
                        try await operators.waitForAll()
                    }
                    accepted.set(ids)
                    // Every connection gets every one (the restarted notifier takes its pending over).
                    let clients = traffic.everyone.compactMap(\.current)
                    let deadline = ContinuousClock.now + .seconds(20)
                    while ContinuousClock.now < deadline,
                        clients.contains(where: { client in Set(client.received(type: "notification").compactMap { $0.string("id") }).count < ids.count })
                    {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                try await group.waitForAll()
            }
            let ids = try #require(accepted.value)
            #expect(ids.count == 30)
            Self.expectEachOnce(traffic.everyone.flatMap(\.connections), ids)
            try await Self.verifyTraffic(traffic, cluster)
            #expect(cluster.notifier("n-1") !== n1 && cluster.notifier("n-1")?.isRunning == true, "n-1 was not restarted")
            #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
        }
    }
}
