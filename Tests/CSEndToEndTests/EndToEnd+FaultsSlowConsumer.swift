import CSCore
import CSTestSupport
import Foundation
import Testing

/// Faults (docs/reliability.md "Faults"): a client that never reads.
extension EndToEnd {
    /// The gateway's `cs_connections` gauge (open WebSockets), from its `/metrics`.
    static func openConnections(_ gateway: GatewayHandle) async throws -> Int? {
        let response = try await gateway.monitoring.get("/metrics", timeout: .seconds(5))
        for line in response.bodyText.split(separator: "\n") where line.hasPrefix("cs_connections") {
            if let value = line.split(separator: " ").last.flatMap({ Double($0) }) { return Int(value) }
        }
        return nil
    }

    /// A customer whose client stops reading (4 KiB receive buffer, reading paused) while its
    /// agent floods its conversation with 4,000-character messages. The gateway queues at most
    /// `maxQueuedFrames` (1,024) frames for it; past that it ends the connection as a slow
    /// consumer: close 4009 (docs/protocol.md "Close codes"), the socket released, while the
    /// client still reads nothing. Meanwhile another customer and agent on the same gateway chat
    /// without a loss, a duplicate or a disconnect. The gateway runs without a frame rate limit
    /// (`--rate-limit-frames-per-second 0`) so that one agent can send fast enough.
    @Test("a client that never reads is closed with 4009; the others on its gateway are unaffected")
    func slowConsumerIsClosed() async throws {
        // No frame rate limit: the agent's flood must outrun the slow client (20 frames/s would not).
        try await Self.withSystem(gateways: 1, dispatchers: 1, gatewayArguments: ["--rate-limit-frames-per-second", "0"]) { cluster, _ in
            let gateway = cluster.gateways[0]
            var agents: [FaultCustomer] = []
            for id in ["alice", "bob"] {
                try await cluster.addAgent(id: id, name: id.capitalized, password: Self.agentPassword, max: 1)
                let session = try await gateway.http.agentLogin(agentID: id, password: Self.agentPassword)
                let agent = FaultCustomer(label: "agent-\(id)", token: session.token)
                _ = try await agent.ensureConnected(port: gateway.port)
                agents.append(agent)
            }
            let port: @Sendable () -> Int = { gateway.port }

            // The slow customer: opens its conversation, sees it committed, then stops reading.
            let slowSession = try await gateway.http.visitorSession(name: "Slow")
            let slow = try await LightWebSocket.connect(
                port: gateway.port, path: "/v1/ws?token=\(slowSession.token)", label: "slow", receiveBufferSize: 4096)
            try await slow.send(#"{"type":"message","id":"s-1","body":"hello, I will not read"}"#)
            let slowOpen = await slow.waitUntil(timeout: .seconds(30)) { $0.texts.contains { $0.contains(#""type":"conversation.assigned""#) } }
            try #require(slowOpen, "the slow customer's conversation was assigned: \(slow.texts)")
            let slowConversation = try #require(slow.texts.compactMap { JSONValue.parse($0) }
                .first { $0["type"]?.stringValue == "conversation.assigned" }?["conversationId"]?.stringValue)
            try await slow.pauseReading()
            let flooderFound = await Self.poll(timeout: .seconds(20)) {
                agents.contains { $0.refresh(); return $0.numbered.contains { $0.conversationID == slowConversation } }
            }
            try #require(flooderFound, "an agent has the slow customer's conversation")
            let flooder = agents.first { agent in agent.numbered.contains { $0.conversationID == slowConversation } }!
            let other = agents.first { $0 !== flooder }!

            // The well-behaved customer, with the other agent.
            let goodSession = try await gateway.http.visitorSession(name: "Good")
            let good = FaultCustomer(label: "good", token: goodSession.token)
            try await good.sendUntilAcked("g-0000", body: "hello", port: port)
            let goodOpen = await Self.poll(timeout: .seconds(30)) {
                other.refresh()
                return good.conversationID != nil && other.numbered.contains { $0.conversationID == good.conversationID }
            }
            try #require(goodOpen, "\(other.label) has the good customer's conversation")
            let goodConversation = good.conversationID!
            let before = try await Self.openConnections(gateway)
            #expect(before == 4, "open connections before the flood: \(before ?? -1)")

            let body = String(repeating: "x", count: 3_990)
            let stop = OneShotBox<Bool>()
            let floodDone = OneShotBox<ContinuousClock.Instant>()
            let closedAfter = OneShotBox<Int>()
            let started = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                // The flood: 4,000 messages (16 MB, four times what the queue and the kernel
                // buffers hold), at most 64 unacked.
                group.addTask {
                    let socket = try #require(flooder.current)
                    var sent = 0
                    while stop.value == nil && sent < 4_000 {
                        flooder.refresh()
                        if sent - flooder.acked.count >= 64 {
                            try await Task.sleep(for: .milliseconds(2))
                            continue
                        }
                        sent += 1
                        try await socket.send(#"{"type":"message","id":"f-\#(sent)","conversationId":"\#(slowConversation)","body":"\#(body)"}"#)
                    }
                    print("slow consumer: the agent sent \(sent) messages of 4,000 characters into the slow customer's conversation")
                }
                // The pair that must not notice: a message each way every 100 ms.
                group.addTask {
                    var n = 0
                    while stop.value == nil && n < 600 {
                        n += 1
                        try await good.sendUntilAcked(Self.messageID("g", n), body: "good \(n)", port: port)
                        try await other.sendUntilAcked(Self.messageID("o", n), body: "reply \(n)", conversationID: goodConversation, port: port)
                        try await Task.sleep(for: .milliseconds(100))
                    }
                }
                // The observer: the slow client's socket is released while it still reads nothing
                // (within 10 s of the end of the flood; the WebSocket keepalive would close it
                // after about 60 s, so the wait stays well below that).
                group.addTask {
                    defer { stop.set(true) }
                    let released = await Self.poll(timeout: .seconds(90)) {
                        if (try? await Self.openConnections(gateway)) == 3 { return true }
                        flooder.refresh()
                        if flooder.acked.count >= 4_000 {
                            if floodDone.value == nil { floodDone.set(.now) }
                            return ContinuousClock.now - floodDone.value! > .seconds(10)
                        }
                        return false
                    }
                    let openNow = try? await Self.openConnections(gateway)
                    let isReleased = released && openNow == 3
                    flooder.refresh()
                    closedAfter.set(flooder.acked.count)
                    #expect(isReleased, "the gateway still holds the slow client's connection 10 s after the flood (\(flooder.acked.count) flood messages acked)")
                    print("slow consumer: \(isReleased ? "released" : "NOT released") by the gateway \(ContinuousClock.now - started) into the flood, \(flooder.acked.count) flood messages acked")
                    try await Task.sleep(for: .seconds(1))
                }
                try await group.waitForAll()
            }

            // The slow client reads again: what was in its buffers, then the close 4009.
            try await slow.resumeReading()
            let ended = await slow.waitUntil(timeout: .seconds(30)) { $0.ended }
            // Its socket was full, so the 4009 close frame could not reach it within the grace
            // (2 s): the gateway cut the TCP connection instead (docs/protocol.md, close codes).
            #expect(ended, "the slow client's connection did not end within 30 s of reading again")
            #expect(slow.closeCode == nil || slow.closeCode == 4009, "the slow client got close \(slow.closeCode.map(String.init) ?? "none"), expected 4009 or a cut connection")
            print("slow consumer: the slow client read \(slow.textCount) frames, then close \(slow.closeCode.map(String.init) ?? "none")")

            // Nobody else noticed.
            let last = good.sent.last!
            let lastReply = other.sent(in: goodConversation).last!
            let delivered = await Self.poll(timeout: .seconds(30)) {
                other.refresh()
                return good.sawCommitted(lastReply) && other.numbered.contains { $0.id == last }
            }
            #expect(delivered, "the good pair's last messages were not delivered")
            let problems = good.problems(expected: good.sent, fromAgent: other.sent(in: goodConversation))
                + other.problems(expected: good.sent, conversationID: goodConversation, fromAgent: other.sent(in: goodConversation))
            #expect(problems.isEmpty, "\(problems)")
            for chatter in agents + [good] {
                #expect(chatter.reconnects.isEmpty && chatter.current?.ended == false, "\(chatter.label) was disconnected")
                #expect(chatter.errors.isEmpty, "\(chatter.label) got errors: \(chatter.errors.prefix(3))")
            }
            print("slow consumer: the good pair exchanged \(good.sent.count) + \(other.sent(in: goodConversation).count) messages during the flood")
            #expect(cluster.unexpectedlyExited().isEmpty, "processes died: \(cluster.unexpectedlyExited())")
            for chatter in agents + [good] { await chatter.closeAll() }
        }
    }
}
