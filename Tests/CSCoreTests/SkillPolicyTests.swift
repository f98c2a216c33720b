import CSCore
import Testing

/// `SkillPolicy`: which requested skills get a queue (issue 21, item 6).
@Suite("SkillPolicy")
struct SkillPolicyTests {
    static let policy = SkillPolicy(configured: ["billing"], maxQueues: 3)
    static func facts(agent: Bool = false, queued: Bool = false, queues: Int = 0) -> SkillPolicy.Facts {
        .init(someAgentHasIt: agent, isQueued: queued, queueCount: queues)
    }

    @Test("none named, or default: default, without asking Redis")
    func defaults() {
        #expect(!Self.policy.needsFacts(""))
        #expect(!Self.policy.needsFacts("default"))
        #expect(Self.policy.resolve("", facts: nil) == "default")
        #expect(Self.policy.resolve("default", facts: Self.facts(queues: 99)) == "default")
    }

    @Test("an invented skill (not configured, no agent has it) becomes default")
    func invented() {
        #expect(Self.policy.needsFacts("x-made-up"))
        #expect(Self.policy.resolve("x-made-up", facts: Self.facts()) == "default")
        #expect(Self.policy.resolve("x-made-up", facts: Self.facts(queued: true)) == "default", "even if a queue of it exists from before")
        #expect(Self.policy.resolve("x-made-up", facts: nil) == "default")
    }

    @Test("a configured skill or one an agent has keeps its name")
    func accepted() {
        #expect(Self.policy.resolve("billing", facts: Self.facts()) == "billing")
        #expect(Self.policy.resolve("sales", facts: Self.facts(agent: true)) == "sales")
    }

    @Test("past maxQueues a new queue is refused, an existing one is joined")
    func cap() {
        #expect(Self.policy.resolve("sales", facts: Self.facts(agent: true, queues: 2)) == "sales")
        #expect(Self.policy.resolve("sales", facts: Self.facts(agent: true, queues: 3)) == "default")
        #expect(Self.policy.resolve("billing", facts: Self.facts(queues: 3)) == "default")
        #expect(Self.policy.resolve("sales", facts: Self.facts(agent: true, queued: true, queues: 3)) == "sales")
        #expect(Self.policy.resolve("sales", facts: Self.facts(agent: true, queued: true, queues: 50)) == "sales")
    }
}
