/// Which skill queue a requested skill may use.
///
/// A customer may name any skill, and every distinct name used to become a queue of its own that
/// the drain script walks (every queued skill × every online agent, in one Lua call): thousands
/// of invented names blocked Redis for seconds. Only skills somebody can serve, or that an
/// operator configured, get a queue; anything else, and any new queue past `maxQueues`, is
/// `ConversationRules.defaultSkill`. The requester learns the outcome from the `skill` of
/// `conversation.queued` / `conversation.transferred`.
public struct SkillPolicy: Sendable, Equatable {
    /// Skills accepted even while no agent has them (`--skills`).
    public var configured: Set<String>
    /// Queues (skills with waiting conversations) beyond which a new skill is not opened (`--max-queues`).
    public var maxQueues: Int

    public init(configured: Set<String> = [], maxQueues: Int = 1_000) {
        self.configured = configured
        self.maxQueues = maxQueues
    }

    /// What a decision needs to know about Redis: the skills agents have and the queues now.
    public struct Facts: Sendable, Equatable {
        /// Whether some agent account lists the skill.
        public var someAgentHasIt: Bool
        /// Whether the skill has a queue already (joining it adds no queue).
        public var isQueued: Bool
        /// How many skills have a queue.
        public var queueCount: Int

        public init(someAgentHasIt: Bool, isQueued: Bool, queueCount: Int) {
            self.someAgentHasIt = someAgentHasIt
            self.isQueued = isQueued
            self.queueCount = queueCount
        }
    }

    /// Whether `requested` needs `Facts` at all (the default skill and the empty request do not).
    public func needsFacts(_ requested: String) -> Bool {
        !requested.isEmpty && requested != ConversationRules.defaultSkill
    }

    /// The skill to use for `requested` (empty = none named).
    public func resolve(_ requested: String, facts: Facts?) -> String {
        guard needsFacts(requested), let facts else { return ConversationRules.defaultSkill }
        guard configured.contains(requested) || facts.someAgentHasIt else { return ConversationRules.defaultSkill }
        // The default queue is always allowed; it is the one every refused skill falls back to.
        guard facts.isQueued || facts.queueCount < maxQueues else { return ConversationRules.defaultSkill }
        return requested
    }
}
