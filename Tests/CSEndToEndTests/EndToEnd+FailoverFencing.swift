import CSCore
import CSRedis
import CSServer
import CSTestSupport
import Foundation
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Fenced leases (issue 21, item 5; docs/architecture.md "Fencing"; docs/reliability.md "Faults").
extension EndToEnd {
    /// d-1 stalls (SIGSTOP) while a customer writes; its lease expires and d-2 takes the partition
    /// over with a larger fencing token and goes on; then d-1 resumes (SIGCONT). d-1 must give the
    /// partition up, and a write carrying its old token (what d-1 would send for an entry it was
    /// in the middle of) is refused by Redis (`FENCED`) and changes nothing. Every acked message
    /// is in the conversation once and in order.
    @Test("failover: a stalled dispatcher's writes are fenced after another took its partition")
    func stalledDispatcherFenced() async throws {
        try await Self.withSystem(gateways: 1, dispatchers: 1, leaseMilliseconds: 2000) { cluster, scope in
            let gateway = cluster.gateways[0]
            let first = try #require(cluster.dispatcher("d-1"))
            try await cluster.addAgent(id: "alice", name: "Alice", password: Self.agentPassword, max: 3)
            let agent = try await Self.connectAgent(scope, gateway, id: "alice")
            let customer = try await Self.connectCustomer(scope, gateway, name: "Ann")
            let ids = (1...60).map { Self.messageID("c", $0) }
            try await customer.client.sendMessage(id: ids[0], body: Self.body(for: ids[0]))
            let assigned = try await agent.client.waitFor(type: "conversation.assigned", timeout: .seconds(30))
            let conversationID = try #require(assigned.string("conversationId"))
            let partition = try #require(Partitioner(count: cluster.configuration.partitions).partition(forConversation: conversationID))
            let redis = RedisClient(configuration: try RedisConfiguration(url: cluster.redisURL), logger: Logger(label: "fencing"))
            let meta = RedisKeys.conversation(conversationID)
            for id in ids[1..<20] { try await customer.client.sendMessage(id: id, body: Self.body(for: id)) }
            try await customer.client.waitForReceivedCount(20, type: "ack", timeout: .seconds(30))
            let oldToken = try #require(try await redis.send("GET", .init(RedisKeys.fence(partition: partition))).string.flatMap { Int($0) })
            #expect(try await redis.send("HGET", .init(meta), "fence").string == String(oldToken), "d-1's writes carry its token")

            // d-1 stalls with messages still arriving; d-2 takes over once the lease expired.
            first.send(signal: SIGSTOP)
            for id in ids[20..<40] { try await customer.client.sendMessage(id: id, body: Self.body(for: id)) }
            try cluster.startDispatcher(id: "d-2")
            let tookOver = await Self.poll(timeout: .seconds(30)) {
                (try? await redis.send("GET", .init(RedisKeys.lease(partition: partition))).string) == "d-2"
            }
            #expect(tookOver, "d-2 never got partition \(partition)")
            try await agent.client.waitForReceivedCount(40, type: "message", timeout: .seconds(30))
            let newToken = try #require(try await redis.send("GET", .init(RedisKeys.fence(partition: partition))).string.flatMap { Int($0) })
            #expect(newToken > oldToken, "a later lease has a larger token: \(newToken) vs \(oldToken)")
            #expect(try await redis.send("HGET", .init(meta), "fence").string == String(newToken), "d-2 raised the fence")

            // d-1 resumes: it must give the partition up instead of writing on.
            first.send(signal: SIGCONT)
            for id in ids[40...] { try await customer.client.sendMessage(id: id, body: Self.body(for: id)) }
            // Its workers stop (the lease ran out on its clock, or the renewal found d-2, or Redis
            // answered FENCED) and it gives the partitions up.
            let gaveUp = await Self.poll(timeout: .seconds(15)) { first.log().contains("partition released") }
            #expect(gaveUp, "d-1 did not give the partition up: \(first.logTail())")

            // Quiet: every message is committed (nothing else would change the record below).
            _ = try await agent.client.waitUntil("the agent to receive \(ids.last!)", timeout: .seconds(60)) { view in
                view.log.contains { $0.type == "message" && $0.string("id") == ids.last! } ? true : nil
            }

            // What d-1 would write for an entry it held when it stalled, with its old token.
            let before = try await redis.send("HGETALL", .init(meta)).fieldMap
            let logBefore = try await redis.send("XLEN", .init(RedisKeys.conversationLog(conversationID))).int
            var staleSave: RedisError?
            do {
                _ = try await redis.callFunction(
                    ConversationScripts.save, keys: [.init(meta)], arguments: [.init(oldToken), "agent", "mallory", "status", "closed"])
            } catch let error as RedisError {
                staleSave = error
            }
            #expect(staleSave?.message.hasPrefix("FENCED") == true, "a stale owner's state write: \(String(describing: staleSave))")
            var staleAppend: RedisError?
            do {
                _ = try await redis.callFunction(
                    ConversationScripts.append,
                    keys: [.init(meta), .init(RedisKeys.conversationLog(conversationID)), .init(RedisKeys.conversationDedup(conversationID))],
                    arguments: ["stale-1", "{\"seq\":", "}", "10000", "60", "", "", "", .init(oldToken)])
            } catch let error as RedisError {
                staleAppend = error
            }
            #expect(staleAppend?.redisErrorPrefix == "FENCED", "a stale owner's append: \(String(describing: staleAppend))")
            #expect(try await redis.send("HGETALL", .init(meta)).fieldMap == before, "the record changed")
            #expect(try await redis.send("XLEN", .init(RedisKeys.conversationLog(conversationID))).int == logBefore, "the log changed")

            // Nothing lost or duplicated: every message once, in order, on both sides.
            let agentView = ConversationView(frames: agent.client.received, conversationID: conversationID)
            #expect(Self.describeDifferences(observed: agentView.messageIDs(fromRole: "customer"), expected: ids) == nil)
            #expect(agentView.seqProblems().isEmpty, "agent: \(agentView.seqProblems())")
            let logLength = try await redis.send("XLEN", .init(RedisKeys.conversationLog(conversationID))).int
            #expect(logLength == ids.count + 1, "log: \(logLength ?? -1) entries, expected \(ids.count) messages + the assignment")
            Self.expectNoErrors(customer.client)
            await redis.close()
        }
    }
}
