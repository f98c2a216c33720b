import CSTestSupport
import Foundation
import Testing

/// Resume and idempotent sends (docs/protocol.md, `resume`, `message`/`ack`).
extension EndToEnd {
    /// What a mid-stream cutover produced: the first connection (dropped), the second one
    /// (resumed), the last seq seen before the drop and the agent's message ids.
    struct Cutover {
        let conversationID: String
        let first: ChatClient
        let second: ChatClient
        let lastSeq: Int
        let finalSeq: Int
        let agentIDs: [String]
        let resumed: ReceivedFrame
    }

    /// A customer on gateway 1 receives 500 agent messages (1-2 s); after 150 it drops and
    /// reconnects to gateway 2, resuming from the last seq it saw, either with the `resume` URL
    /// parameter or with a `resume` frame right after `hello`.
    static func resumeMidStream(_ cluster: Cluster, _ scope: ChatClientScope, withURLParameter: Bool) async throws -> Cutover {
        let total = 500
        let cutover = 150
        let gateway1 = cluster.gateways[0]
        let gateway2 = cluster.gateways[1]
        try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 3)
        let ada = try await Self.connectStaff(scope, gateway2, id: "ada")
        let customer = try await Self.connectCustomer(scope, gateway1, name: "Ann")
        let (conversationID, event) = try await Self.openConversation(customer, messageID: "c-1")
        try #require(event.type == "conversation.assigned", "\(event)")
        try await Self.awaitFrame(ada.client, "conversation.assigned") { $0.string("conversationId") == conversationID }

        let ids = (1...total).map { Self.messageID("a", $0) }
        let switched = OneShotBox<(client: ChatClient, lastSeq: Int, agentAcked: Int)>()
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The agent: a steady stream, at most 32 unacked.
            group.addTask {
                for (index, id) in ids.enumerated() {
                    if index >= 32 {
                        try await ada.client.waitForReceivedCount(index - 31, type: "ack", timeout: .seconds(30))
                    }
                    try await ada.client.sendMessage(id: id, body: "part \(id)", conversationID: conversationID)
                    if index % 20 == 19 { try await Task.sleep(for: .milliseconds(10)) }
                }
            }
            // The customer: drops after `cutover` messages, comes back on gateway 2.
            group.addTask {
                _ = try await customer.client.waitUntil("\(cutover) agent messages", timeout: .seconds(30)) { view in
                    view.countsByType["message", default: 0] >= cutover + 1 ? true : nil
                }
                customer.client.abort()
                _ = try? await customer.client.waitForClose(timeout: .seconds(10))
                let lastSeq = Self.seqs(customer.client.received, conversationID: conversationID).max() ?? 0
                // Stay away a moment, so that there is something to replay while live entries flow.
                try await Task.sleep(for: .milliseconds(100))
                let acked = ada.client.receivedCount(type: "ack")
                let client: ChatClient
                if withURLParameter {
                    client = try await scope.connect(
                        gateway2.webSocketURL + "?resume=\(conversationID):\(lastSeq)", token: customer.session.token, label: "customer-Ann-gw2")
                    try await client.hello()
                } else {
                    client = try await Self.reconnectCustomer(scope, gateway2, session: customer.session, label: "customer-Ann-gw2").client
                    try await client.sendResume([(conversationID, lastSeq)])
                }
                switched.set((client, lastSeq, acked))
            }
            try await group.waitForAll()
        }
        let (second, lastSeq, acked) = try #require(switched.value)
        print("resume test: dropped at seq \(lastSeq); the agent had \(acked) of \(total) acked when the customer came back")
        #expect(acked < total, "the stream ended before the resume; the test did not exercise live entries during resume")

        let last = try await Self.awaitMessage(second, id: ids.last!, timeout: .seconds(60))
        let resumed = try await Self.awaitFrame(second, "resumed") { $0.string("conversationId") == conversationID }
        #expect((resumed.int("lastSeq") ?? 0) >= lastSeq, "\(resumed)")
        #expect(second.received(type: "resume.gap").isEmpty, "no gap expected: \(second.received(type: "resume.gap"))")
        let firstSeqs = Self.seqs(customer.client.received, conversationID: conversationID)
        #expect(firstSeqs == Self.seqRange(1, lastSeq), "first connection: \(firstSeqs.count) entries, problems: \(Self.seqRunProblems(firstSeqs, from: 1))")
        Self.expectNoErrors(second)
        Self.expectNoErrors(ada.client)
        return Cutover(
            conversationID: conversationID, first: customer.client, second: second, lastSeq: lastSeq,
            finalSeq: try #require(last.int("seq")), agentIDs: ids, resumed: resumed)
    }

    /// Reconnecting with `resume=<conversationId>:<lastSeq>` in the URL (docs/protocol.md,
    /// "Connecting"): over both connections every seq arrives exactly once, in order, no gap.
    @Test("lifecycle: resume (URL parameter) on another gateway mid-stream sees every seq exactly once, in order")
    func lifecycleResumeAcrossGateways() async throws {
        try await Self.withLifecycleSystem(gateways: 2) { cluster, scope in
            let run = try await Self.resumeMidStream(cluster, scope, withURLParameter: true)
            let secondSeqs = Self.seqs(run.second.received, conversationID: run.conversationID)
            #expect(secondSeqs == Self.seqRange(run.lastSeq + 1, run.finalSeq),
                    "after resume from \(run.lastSeq): \(secondSeqs.count) entries up to \(run.finalSeq), problems: \(Self.seqRunProblems(secondSeqs, from: run.lastSeq + 1))")
            // Replayed entries (up to the resumed lastSeq) come before `resumed`.
            let late = run.second.received.filter {
                $0.string("conversationId") == run.conversationID && $0.type != "read"
                    && ($0.int("seq") ?? .max) <= (run.resumed.int("lastSeq") ?? 0) && $0.index > run.resumed.index
            }
            #expect(late.isEmpty, "entries up to resumed.lastSeq arrived after `resumed`: \(late.prefix(5))")
            let seen = (run.first.received + run.second.received).filter {
                $0.type == "message" && $0.string("conversationId") == run.conversationID && $0["from"]?["role"]?.stringValue == "agent"
            }.compactMap { $0.string("id") }
            #expect(Self.describeDifferences(observed: seen, expected: run.agentIDs) == nil, "\(Self.describeDifferences(observed: seen, expected: run.agentIDs) ?? "")")
        }
    }

    /// The same cutover with a `resume` frame after `hello`: live entries may come before the
    /// replay, and the replay may repeat them (the client ignores a seq it already shows); no seq
    /// may be missing, the replay runs gap-free from `lastSeq + 1` and ends with `resumed`.
    @Test("lifecycle: resume (frame) on another gateway mid-stream leaves no gap")
    func lifecycleResumeFrameAcrossGateways() async throws {
        try await Self.withLifecycleSystem(gateways: 2) { cluster, scope in
            let run = try await Self.resumeMidStream(cluster, scope, withURLParameter: false)
            let secondSeqs = Self.seqs(run.second.received, conversationID: run.conversationID)
            let missing = Set(Self.seqRange(run.lastSeq + 1, run.finalSeq)).subtracting(secondSeqs).sorted()
            #expect(missing.isEmpty, "after resume from \(run.lastSeq): missing seqs \(missing.prefix(20))")
            #expect(Set(secondSeqs).allSatisfy { $0 > run.lastSeq }, "replayed entries the client had before the drop")
            var shown = Set<Int>()
            var duplicates: [Int] = []
            for seq in secondSeqs where !shown.insert(seq).inserted { duplicates.append(seq) }
            #expect(duplicates.allSatisfy { $0 <= (run.resumed.int("lastSeq") ?? 0) }, "repeats beyond the replay: \(duplicates.prefix(20))")
            // The live entries the server held back while replaying follow `resumed` in order.
            let afterResumed = run.second.received.filter { $0.index > run.resumed.index }
            let liveSeqs = Self.seqs(afterResumed, conversationID: run.conversationID).filter { !duplicates.contains($0) }
            #expect(liveSeqs == liveSeqs.sorted(), "live entries after `resumed` out of order: \(liveSeqs.prefix(20))")
            print("resume frame test: \(duplicates.count) repeated seqs")
        }
    }

    /// The first places where `seqs` differs from `start, start+1, …` (gaps, repeats).
    static func seqRunProblems(_ seqs: [Int], from start: Int) -> String {
        var problems: [String] = []
        for (index, seq) in seqs.enumerated() where seq != start + index {
            problems.append("#\(index)=\(seq) (expected \(start + index))")
            if problems.count >= 5 { break }
        }
        return problems.isEmpty ? "none" : problems.joined(separator: ", ")
    }

    /// One client message id sent 5 times, the last time after a reconnect to another gateway:
    /// one committed `message`, and 5 acks (each with an `acceptedId` of its own since issue 17).
    @Test("lifecycle: a message id sent 5 times (once after a reconnect) is committed once")
    func lifecycleIdempotentSends() async throws {
        try await Self.withLifecycleSystem(gateways: 2) { cluster, scope in
            let gateway1 = cluster.gateways[0]
            let gateway2 = cluster.gateways[1]
            try await cluster.addAgent(id: "ada", name: "Ada", password: Self.agentPassword, max: 3)
            let ada = try await Self.connectStaff(scope, gateway1, id: "ada")
            let customer = try await Self.connectCustomer(scope, gateway1, name: "Ann")
            let (conversationID, _) = try await Self.openConversation(customer, messageID: "c-open")

            for _ in 1...4 {
                try await customer.client.sendMessage(id: "c-dup", body: "only once please")
            }
            _ = try await customer.client.waitUntil("4 acks of c-dup", timeout: .seconds(20)) { view in
                view.log.filter { $0.type == "ack" && $0.string("id") == "c-dup" }.count >= 4 ? true : nil
            }
            try await Self.awaitMessage(customer.client, id: "c-dup")
            await customer.client.close()

            let again = try await Self.reconnectCustomer(scope, gateway2, session: customer.session, label: "customer-Ann-gw2")
            try await again.client.sendMessage(id: "c-dup", body: "only once please")
            try await Self.awaitFrame(again.client, "ack", "the 5th ack of c-dup") { $0.string("id") == "c-dup" }
            try await again.client.sendMessage(id: "c-after", body: "next one")
            try await Self.awaitMessage(again.client, id: "c-after")
            try await Self.awaitMessage(ada.client, id: "c-after")

            let acks = (customer.client.received + again.client.received).filter { $0.type == "ack" && $0.string("id") == "c-dup" }
            #expect(acks.count == 5, "acks of c-dup: \(acks)")
            #expect(acks.allSatisfy { !($0.string("acceptedId") ?? "").isEmpty }, "acks of c-dup: \(acks.map(\.text))")

            func count(_ client: ChatClient) -> Int {
                client.received.filter { $0.type == "message" && $0.string("id") == "c-dup" }.count
            }
            #expect(count(ada.client) == 1, "ada got c-dup \(count(ada.client)) times")
            #expect(count(customer.client) + count(again.client) == 1, "the customer got \(count(customer.client)) + \(count(again.client)) echoes")
            let history = try await gateway1.http.fullHistory(conversationID, token: customer.session.token)
            let stored = history.filter { $0["id"]?.stringValue == "c-dup" }
            #expect(stored.count == 1, "c-dup stored \(stored.count) times: \(stored)")
            Self.expectNoErrors(again.client)
            Self.expectNoErrors(ada.client)
        }
    }
}
