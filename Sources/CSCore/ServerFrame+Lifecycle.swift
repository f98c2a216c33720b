/// Ephemeral (not numbered) frames of the conversation lifecycle (docs/protocol.md).
extension ServerFrame {
    public static func queuePosition(conversationID: String, skill: String, position: Int, estimatedWaitSeconds: Int?, agentsOnline: Bool) -> String {
        var json = JSONText(capacity: 160)
        json.raw("{")
        json.field("type", "queue.position", first: true)
        json.field("conversationId", conversationID)
        json.field("skill", skill)
        json.field("position", position)
        json.key("estimatedWaitSeconds")
        json.raw(estimatedWaitSeconds.map(String.init) ?? "null")
        json.key("agentsOnline")
        json.raw(agentsOnline ? "true" : "false")
        json.raw("}")
        return json.text
    }

    public static func typing(conversationID: String, from: Participant) -> String {
        var json = JSONText(capacity: 128)
        json.raw("{")
        json.field("type", "typing", first: true)
        json.field("conversationId", conversationID)
        json.key("from")
        json.raw("{")
        json.field("id", from.id, first: true)
        json.field("role", from.role.rawValue)
        json.field("name", from.name)
        json.raw("}}")
        return json.text
    }

    public static func read(conversationID: String, userID: String, role: ParticipantRole, seq: Int) -> String {
        var json = JSONText(capacity: 128)
        json.raw("{")
        json.field("type", "read", first: true)
        json.field("conversationId", conversationID)
        json.field("userId", userID)
        json.field("role", role.rawValue)
        json.field("seq", seq)
        json.raw("}")
        return json.text
    }

    public static func resumed(conversationID: String, lastSeq: Int) -> String {
        var json = JSONText(capacity: 96)
        json.raw("{")
        json.field("type", "resumed", first: true)
        json.field("conversationId", conversationID)
        json.field("lastSeq", lastSeq)
        json.raw("}")
        return json.text
    }

    public static func resumeGap(conversationID: String, firstAvailableSeq: Int) -> String {
        var json = JSONText(capacity: 96)
        json.raw("{")
        json.field("type", "resume.gap", first: true)
        json.field("conversationId", conversationID)
        json.field("firstAvailableSeq", firstAvailableSeq)
        json.raw("}")
        return json.text
    }


    public static func presence(_ status: String) -> String {
        var json = JSONText(capacity: 48)
        json.raw("{")
        json.field("type", "presence", first: true)
        json.field("status", status)
        json.raw("}")
        return json.text
    }

    /// One conversation in an agent's `conversations` view.
    public struct ConversationSummary: Sendable {
        public var state: ConversationState
        public var lastSeq: Int
        public var unread: Int
        /// The last committed frames, oldest first.
        public var last: [String]

        public init(state: ConversationState, lastSeq: Int, unread: Int, last: [String]) {
            self.state = state
            self.lastSeq = lastSeq
            self.unread = unread
            self.last = last
        }
    }

    /// An agent's view on connect; `queues` (skill → waiting conversation ids) for supervisors.
    public static func conversations(_ items: [ConversationSummary], queues: [(skill: String, waiting: [String])]?) -> String {
        var json = JSONText(capacity: 256 + items.count * 512)
        json.raw("{")
        json.field("type", "conversations", first: true)
        json.key("items")
        json.raw("[")
        for (index, item) in items.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{")
            json.field("conversationId", item.state.id, first: true)
            json.field("status", item.state.status.rawValue)
            json.field("skill", item.state.skill)
            json.key("customer")
            json.raw("{")
            json.field("id", item.state.customer.id, first: true)
            json.field("name", item.state.customer.name)
            json.raw("}")
            json.key("agent")
            if let agent = item.state.agent {
                json.raw("{")
                json.field("id", agent.id, first: true)
                json.field("name", agent.name)
                json.raw("}")
            } else {
                json.raw("null")
            }
            json.field("lastSeq", item.lastSeq)
            json.field("unread", item.unread)
            json.key("last")
            json.raw("[" + item.last.joined(separator: ",") + "]")
            json.raw("}")
        }
        json.raw("]")
        if let queues {
            json.key("queues")
            json.raw("[")
            for (index, queue) in queues.enumerated() {
                if index > 0 { json.raw(",") }
                json.raw("{")
                json.field("skill", queue.skill, first: true)
                json.key("waiting")
                json.raw("[")
                for (position, id) in queue.waiting.enumerated() {
                    if position > 0 { json.raw(",") }
                    json.string(id)
                }
                json.raw("]}")
            }
            json.raw("]")
        }
        json.raw("}")
        return json.text
    }
}
