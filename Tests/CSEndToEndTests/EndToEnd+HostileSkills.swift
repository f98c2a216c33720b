import CSCore
import CSTestSupport
import Foundation
import Testing

/// Invented skills (issue 21, item 6; docs/reliability.md "Hostile input"; docs/protocol.md `skill`).
extension EndToEnd {
    /// The dispatcher runs with `--skills billing --max-queues 2`; Sam (not connected) has
    /// `sales`. A made-up skill becomes `default`; `billing` (configured) keeps its queue; `sales`
    /// (an agent has it) would be a third queue, so it becomes `default` too. Then 40 more
    /// customers name 40 different made-up skills: no queue appears for any of them.
    @Test("hostile: invented skills do not become queues; the queue count is capped")
    func inventedSkills() async throws {
        try await Self.withLifecycleSystem(dispatcherArguments: ["--skills", "billing", "--max-queues", "2"]) { cluster, scope in
            let gateway = cluster.gateways[0]
            try await cluster.addAgent(id: "sam", name: "Sam", password: Self.agentPassword, skills: ["sales"], max: 2)
            func open(_ name: String, skill: String) async throws -> ReceivedFrame {
                let customer = try await Self.connectCustomer(scope, gateway, name: name)
                let (_, event) = try await Self.openConversation(customer, messageID: "m-1", skill: skill)
                #expect(event.type == "conversation.queued", "\(name): \(event)")
                return event
            }
            #expect(try await open("Ann", skill: "x-made-up").string("skill") == "default")
            #expect(try await open("Bea", skill: "billing").string("skill") == "billing", "configured")
            #expect(try await open("Cid", skill: "sales").string("skill") == "default", "a third queue is past --max-queues 2")
            for index in 0..<40 {
                #expect(try await open("Flood\(index)", skill: "invented-\(index)").string("skill") == "default")
            }
            let queues = try await cluster.redisCommand(["SMEMBERS", RedisKeys.queueSkills]).sorted()
            #expect(queues == ["billing", "default"], "\(queues)")
            let invented = try await cluster.redisCommand(["EXISTS", RedisKeys.queue(skill: "invented-7"), RedisKeys.queue(skill: "x-made-up")])
            #expect(invented == ["0"], "\(invented)")
        }
    }
}
