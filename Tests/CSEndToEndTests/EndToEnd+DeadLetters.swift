import CSCore
import CSTestSupport
import Foundation
import Testing

extension EndToEnd {
    /// A poison entry (a real customer message whose conversation's meta hash was turned into a
    /// string, so every attempt fails with WRONGTYPE) and a malformed entry written by hand both
    /// land in `cs:{p<N>}:dead` and are acknowledged, while another customer of the same
    /// partition keeps chatting: every one of that customer's messages arrives once, in order,
    /// during and after. `cs-admin dead list` and `dead count` show them.
    @Test("Poison and malformed inbound entries move to the dead letters; their partition keeps flowing")
    func deadLettersKeepPartitionFlowing() async throws {
        let maxAttempts = 3
        try await Self.withSystem(dispatchers: 1, dispatcherArguments: ["--max-attempts", String(maxAttempts)]) { cluster, scope in
            let gateway = cluster.gateways[0]
            let partitioner = Partitioner(count: cluster.configuration.partitions)
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 10)
            let agent = try await Self.connectAgent(scope, gateway, id: "alice")

            // Two customers in the same partition.
            let mallorySession = try await gateway.http.visitorSession(name: "Mallory")
            let partition = partitioner.partition(forCustomer: mallorySession.visitorID)
            var bobSession: VisitorSession?
            for _ in 0..<200 where bobSession == nil {
                let session = try await gateway.http.visitorSession(name: "Bob")
                if partitioner.partition(forCustomer: session.visitorID) == partition { bobSession = session }
            }
            let mallory = try await Self.reconnectCustomer(scope, gateway, session: mallorySession, label: "customer-mallory")
            let bob = try await Self.reconnectCustomer(scope, gateway, session: try #require(bobSession), label: "customer-bob")

            let (malloryConversation, _) = try await Self.openConversation(mallory, messageID: "m-1")
            try await Self.awaitFrame(agent.client, "conversation.assigned") { $0.string("conversationId") == malloryConversation }
            let bobIDs = (1...80).map { Self.messageID("b", $0) }
            let (bobConversation, _) = try await Self.openConversation(bob, messageID: bobIDs[0], body: Self.body(for: bobIDs[0]))
            try await Self.awaitFrame(agent.client, "conversation.assigned") { $0.string("conversationId") == bobConversation }

            // Mallory's conversation record becomes a string: whatever the dispatcher has cached,
            // committing her next message fails inside the append script with WRONGTYPE.
            let meta = RedisKeys.conversation(malloryConversation)
            _ = try await cluster.redisCommand(["DEL", meta])
            _ = try await cluster.redisCommand(["SET", meta, "not a hash"])
            let inbound = RedisKeys.inbound(partition: partition)
            let startedAt = Int(Date().timeIntervalSince1970 * 1000)

            // Bob sends steadily (about 25 a second) before, during and after the poison.
            let poison = OneShotBox<(poisonID: String, malformedID: String)>()
            let poisonBody = "poison body 7f3e: do not log me"
            let malformedBody = "malformed body 9c1d"
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for (offset, id) in bobIDs.enumerated().dropFirst() {
                        if offset == 60 {
                            // "After": only once both entries are in the dead letters.
                            _ = try await Self.waitForDeadLetters(cluster, partition: partition, count: 2, timeout: .seconds(20))
                        }
                        try await bob.client.sendMessage(id: id, body: Self.body(for: id))
                        try await Task.sleep(for: .milliseconds(40))
                    }
                }
                group.addTask {
                    try await bob.client.waitForReceivedCount(10, type: "ack", timeout: .seconds(20))
                    try await mallory.client.sendMessage(id: "m-2", body: poisonBody)
                    let ack = try await Self.awaitFrame(mallory.client, "ack") { $0.string("id") == "m-2" }
                    let lines = try await cluster.redisCommand(["XADD", inbound, "*", "k", "bogus", "u", mallory.id, "b", malformedBody])
                    poison.set((try #require(ack.string("acceptedId")), try #require(lines.first)))
                }
                try await group.waitForAll()
            }
            let (poisonID, malformedID) = try #require(poison.value)

            // Bob's conversation: every message once, in order, to the agent and back to Bob.
            let last = bobIDs.last!
            try await Self.awaitMessage(agent.client, id: last, timeout: .seconds(30))
            try await Self.awaitMessage(bob.client, id: last, timeout: .seconds(30))
            let agentView = ConversationView(frames: agent.client.received, conversationID: bobConversation)
            let agentDiff = Self.describeDifferences(observed: agentView.messageIDs(fromRole: "customer"), expected: bobIDs)
            #expect(agentDiff == nil, "agent saw Bob's messages: \(agentDiff ?? "")")
            #expect(agentView.seqProblems().isEmpty, "agent: \(agentView.seqProblems())")
            let bobView = ConversationView(frames: bob.client.received, conversationID: bobConversation)
            let bobDiff = Self.describeDifferences(observed: bobView.messageIDs(fromRole: "customer"), expected: bobIDs)
            #expect(bobDiff == nil, "Bob's echoes: \(bobDiff ?? "")")
            #expect(bobView.seqProblems().isEmpty, "Bob: \(bobView.seqProblems())")
            #expect(agent.client.received(type: "message", conversationID: malloryConversation).allSatisfy { $0.string("id") != "m-2" })

            // The dead letters: the poison after `maxAttempts` failures, the malformed one at once.
            let dead = try await Self.waitForDeadLetters(cluster, partition: partition, count: 2, timeout: .seconds(5))
            #expect(dead.count == 2, "dead letters: \(dead)")
            let poisoned = try #require(dead.first { $0.fields["id"] == poisonID }, "no dead letter for \(poisonID): \(dead)")
            // A customer's message names no conversation (`c`): it goes to the customer's open one.
            #expect(poisoned.fields["k"] == "msg" && poisoned.fields["u"] == mallory.id && poisoned.fields["c"] == nil, "\(poisoned)")
            #expect(poisoned.fields["cid"] == "m-2" && poisoned.fields["b"] == poisonBody, "original fields kept: \(poisoned)")
            #expect(poisoned.fields["attempts"] == String(maxAttempts), "attempts: \(poisoned)")
            #expect(poisoned.fields["error"]?.hasPrefix("WRONGTYPE") == true, "error: \(poisoned)")
            #expect(poisoned.fields["error"]?.contains("poison body") == false)
            #expect(poisoned.fields["dispatcher"] == "d-1")
            let poisonedAt = Int(poisoned.fields["at"] ?? "") ?? 0
            #expect(poisonedAt >= startedAt && poisonedAt <= Int(Date().timeIntervalSince1970 * 1000), "at: \(poisoned)")
            let malformed = try #require(dead.first { $0.fields["id"] == malformedID }, "no dead letter for \(malformedID): \(dead)")
            #expect(malformed.fields["error"] == "malformed" && malformed.fields["attempts"] == "1", "malformed: \(malformed)")
            #expect(malformed.fields["k"] == "bogus" && malformed.fields["b"] == malformedBody, "malformed: \(malformed)")

            // Acknowledged: nothing pending in the partition (Bob's last messages included).
            var pending = -1
            for _ in 0..<50 {
                pending = try await cluster.pendingCount(partition: partition)
                if pending == 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(pending == 0, "XPENDING \(inbound): \(pending)")
            let otherDead = try await cluster.redisCommand(["XLEN", RedisKeys.deadLetters(partition: (partition + 1) % partitioner.count)])
            #expect(otherDead == ["0"])

            // The dispatcher logged each one at warning level, and never the bodies.
            let log = try #require(cluster.dispatcher("d-1")).log()
            let moved = log.split(separator: "\n").filter { $0.contains("inbound entry moved to the dead letters") }
            #expect(moved.count == 2, "log lines: \(moved)")
            #expect(moved.allSatisfy { $0.contains("warning") }, "log lines: \(moved)")
            #expect(!log.contains("poison body") && !log.contains("malformed body"), "a body reached the dispatcher's log")

            // cs-admin.
            let list = try await cluster.admin(["dead", "list"])
            #expect(list.hasPrefix("PARTITION"), "dead list: \(list)")
            let rows = list.split(separator: "\n").dropFirst()
            #expect(rows.count == 2, "dead list: \(list)")
            let poisonRow = rows.first { $0.contains(poisonID) } ?? ""
            #expect(poisonRow.contains("WRONGTYPE") && poisonRow.contains(mallory.id) && poisonRow.contains(" msg "), "dead list: \(list)")
            #expect(poisonRow.hasPrefix(String(partition) + " ") && poisonRow.contains(" \(maxAttempts) "), "dead list: \(list)")
            #expect(rows.contains { $0.contains(malformedID) && $0.contains("malformed") && $0.contains("bogus") }, "dead list: \(list)")
            let one = try await cluster.admin(["dead", "list", "--partition", String(partition), "--limit", "1"])
            #expect(one.split(separator: "\n").count == 2 && one.contains(malformedID), "dead list --partition --limit 1: \(one)")
            let count = try await cluster.admin(["dead", "count"])
            let countLines = count.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(countLines.contains([String(partition), "2"]) && countLines.contains(["total", "2"]), "dead count: \(count)")

            Self.expectNoErrors(bob.client)
            Self.expectNoErrors(agent.client)
            #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
        }
    }

    /// Failures that are not about the entry do not count toward `--max-attempts`, here 1:
    /// (1) an entry whose processing meets `NOPERM` (the deployment's ACL, revoked for a moment)
    /// is retried until the permission is back, then committed; (2) Redis stalls for 7 s
    /// (`CLIENT PAUSE`, longer than the 5 s command timeout) during a customer's burst: commands
    /// time out and are retried until Redis answers again. Nothing goes to the dead letters, and
    /// every accepted message is committed once, in the order it was accepted.
    @Test("A stalled Redis under traffic is no entry's fault: nothing is dead-lettered, nothing is lost")
    func deadLettersIgnoreTransientFailures() async throws {
        try await Self.withSystem(dispatchers: 1, leaseMilliseconds: 20_000, dispatcherArguments: ["--max-attempts", "1"]) { cluster, scope in
            let gateway = cluster.gateways[0]
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 3)
            let agent = try await Self.connectAgent(scope, gateway, id: "alice")
            let customer = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let (conversationID, _) = try await Self.openConversation(customer, messageID: "t-0000")
            try await Self.awaitFrame(agent.client, "conversation.assigned") { $0.string("conversationId") == conversationID }
            let partitioner = Partitioner(count: cluster.configuration.partitions)
            let partition = partitioner.partition(forCustomer: customer.id)

            // (1) A new customer's message, written straight into the stream while the dispatcher
            // may not run GET (its first step for a customer without a known open conversation).
            let newcomer = try #require((1...10_000).lazy.map { "v_denied\($0)" }.first { partitioner.partition(forCustomer: $0) == partition })
            _ = try await cluster.redisCommand(["ACL", "SETUSER", "default", "-get"])
            let deniedID: String
            do {
                deniedID = try #require(try await cluster.redisCommand([
                    "XADD", RedisKeys.inbound(partition: partition), "*", "k", "msg", "u", newcomer, "r", "customer", "n", "Tess",
                    "cid", "d-1", "b", "sent while GET is denied",
                ]).first)
                try await Task.sleep(for: .seconds(2))
            } catch {
                _ = try? await cluster.redisCommand(["ACL", "SETUSER", "default", "+get"])
                throw error
            }
            _ = try await cluster.redisCommand(["ACL", "SETUSER", "default", "+get"])
            var newcomerConversation = ""
            for _ in 0..<100 where newcomerConversation.isEmpty {
                newcomerConversation = try await cluster.redisCommand(["GET", RedisKeys.customerConversation(newcomer)]).first ?? ""
                if newcomerConversation.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(!newcomerConversation.isEmpty, "entry \(deniedID) was not processed after GET was allowed again")
            let denials = try #require(cluster.dispatcher("d-1")).log().split(separator: "\n")
                .filter { $0.contains("partition processing failed; retrying") && $0.contains("NOPERM") && $0.contains("partition=\(partition) ") }
            #expect(denials.count >= 2, "the dispatcher should have retried the denied entry: \(denials)")

            // 30 messages back to back (within the gateway's per-connection burst); Redis stalls
            // after the 10th ack, while the rest are being accepted and processed.
            let ids = (1...30).map { Self.messageID("t", $0) }
            for id in ids { try await customer.client.sendMessage(id: id, body: Self.body(for: id)) }
            try await customer.client.waitForReceivedCount(1 + 10, type: "ack", timeout: .seconds(20))
            _ = try await cluster.redisCommand(["CLIENT", "PAUSE", "7000"])
            try await Task.sleep(for: .seconds(8))

            // What the gateway could not accept during the stall (`unavailable`) is sent again.
            func answered() -> Set<String> {
                Set(customer.client.received.filter { $0.type == "ack" || $0.type == "error" }.compactMap { $0.string("id") })
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while !Set(ids).isSubset(of: answered()) && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
            func acked() -> [String] {
                var seen = Set<String>()
                return Self.ackIDs(customer.client).filter { $0 != "t-0000" && seen.insert($0).inserted }
            }
            let refused = ids.filter { !acked().contains($0) }
            for id in refused { try await customer.client.sendMessage(id: id, body: Self.body(for: id)) }
            // (Only `view` inside `waitUntil`: the client's inbox is locked while the closure runs.)
            _ = try await customer.client.waitUntil("every message acked", timeout: .seconds(30)) { view in
                Set(ids).isSubset(of: Set(view.log.filter { $0.type == "ack" }.compactMap { $0.string("id") })) ? true : nil
            }
            let accepted = acked()
            try await Self.awaitMessage(agent.client, id: accepted.last!, timeout: .seconds(30))

            let view = ConversationView(frames: agent.client.received, conversationID: conversationID)
            let diff = Self.describeDifferences(observed: view.messageIDs(fromRole: "customer"), expected: ["t-0000"] + accepted)
            #expect(diff == nil, "agent: \(diff ?? "")")
            #expect(view.seqProblems().isEmpty, "agent: \(view.seqProblems())")
            let errors = customer.client.received(type: "error")
            #expect(errors.allSatisfy { $0.string("code") == "unavailable" }, "errors other than unavailable: \(errors)")

            let dead = try await cluster.deadLetters(partition: partition)
            #expect(dead.isEmpty, "dead letters after a stall: \(dead)")
            // The last batch's entries are acknowledged with a later read (within a block time).
            var pending = try await cluster.pendingCount(partition: partition)
            let settled = ContinuousClock.now + .seconds(5)
            while pending > 0 && ContinuousClock.now < settled {
                try await Task.sleep(for: .milliseconds(100))
                pending = try await cluster.pendingCount(partition: partition)
            }
            #expect(pending == 0, "XPENDING: \(pending)")
            let log = try #require(cluster.dispatcher("d-1")).log()
            #expect(!log.contains("moved to the dead letters"))
            let retries = log.split(separator: "\n").filter { $0.contains("partition processing failed; retrying") }
            print("dead letters, stall: \(refused.count) messages refused (unavailable) and sent again; dispatcher retries: "
                + retries.map { line in line.range(of: "error=").map { String(line[$0.upperBound...].prefix(60)) } ?? "?" }.joined(separator: " | "))
            #expect(!retries.isEmpty, "the dispatcher saw no failure during the stall")
            #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
        }
    }

    /// Polls `cs:{p<N>}:dead` until it holds at least `count` entries; returns them.
    static func waitForDeadLetters(_ cluster: Cluster, partition: Int, count: Int, timeout: Duration) async throws -> [Cluster.StreamEntry] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let length = try await cluster.redisCommand(["XLEN", RedisKeys.deadLetters(partition: partition)]).first.flatMap { Int($0) } ?? 0
            if length >= count || ContinuousClock.now >= deadline { return try await cluster.deadLetters(partition: partition) }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
