/// Builders for the frames the server sends (docs/protocol.md, "Server → client frames").
public enum ServerFrame {
    public static func hello(connectionID: String, participant: Participant, gatewayID: String, pingIntervalSeconds: Int) -> String {
        var json = JSONText()
        json.raw("{")
        json.field("type", "hello", first: true)
        json.field("connectionId", connectionID)
        json.field("userId", participant.id)
        json.field("role", participant.role.rawValue)
        json.field("name", participant.name)
        json.field("gatewayId", gatewayID)
        json.field("pingIntervalSeconds", pingIntervalSeconds)
        json.raw("}")
        return json.text
    }

    public static func ack(id: String, acceptedID: String) -> String {
        var json = JSONText(capacity: 80)
        json.raw("{")
        json.field("type", "ack", first: true)
        json.field("id", id)
        json.field("acceptedId", acceptedID)
        json.raw("}")
        return json.text
    }

    public static func pong(id: String?) -> String {
        guard let id else { return #"{"type":"pong"}"# }
        var json = JSONText(capacity: 48)
        json.raw(#"{"type":"pong""#)
        json.field("id", id)
        json.raw("}")
        return json.text
    }

    public static func error(_ error: ChatError, id: String? = nil, conversationID: String? = nil) -> String {
        var json = JSONText(capacity: 128)
        json.raw("{")
        json.field("type", "error", first: true)
        json.field("code", error.code.rawValue)
        json.field("message", error.message)
        if let id { json.field("id", id) }
        if let conversationID { json.field("conversationId", conversationID) }
        json.raw("}")
        return json.text
    }
}

/// A conversation entry before commit, split around its `seq` so that Redis can number it
/// atomically: the stored and delivered frame is `prefix + seq + suffix`.
public struct CommittedFrame: Sendable, Equatable {
    public var prefix: String
    public var suffix: String

    public init(prefix: String, suffix: String) {
        self.prefix = prefix
        self.suffix = suffix
    }

    /// The frame with `seq` filled in.
    public func render(seq: Int) -> String { prefix + String(seq) + suffix }

    private static func start(_ type: String, conversationID: String) -> String {
        var json = JSONText(capacity: 96)
        json.raw("{")
        json.field("type", type, first: true)
        json.field("conversationId", conversationID)
        json.key("seq")
        return json.text
    }

    private static func person(_ json: inout JSONText, _ key: String, id: String, name: String, role: String? = nil) {
        json.key(key)
        json.raw("{")
        json.field("id", id, first: true)
        if let role { json.field("role", role) }
        json.field("name", name)
        json.raw("}")
    }

    /// A chat message; `email` is the contact a customer left with an offline message;
    /// `attachment` the file it carries (docs/protocol.md, "Attachments").
    public static func message(
        conversationID: String, clientMessageID: String, from: Participant, body: String, timestamp: Int, email: String? = nil,
        attachment: AttachmentReference? = nil
    ) -> CommittedFrame {
        var json = JSONText(capacity: body.utf8.count + 160)
        json.field("id", clientMessageID)
        person(&json, "from", id: from.id, name: from.name, role: from.role.rawValue)
        json.field("body", body)
        if let attachment {
            json.key("attachment")
            json.raw(attachment.json)
        }
        if let email {
            json.key("contact")
            json.raw("{")
            json.field("name", from.name, first: true)
            json.field("email", email)
            json.raw("}")
        }
        json.field("ts", timestamp)
        json.raw("}")
        return CommittedFrame(prefix: start("message", conversationID: conversationID), suffix: json.text)
    }

    /// Why a conversation is waiting.
    public enum QueueReason: String, Sendable {
        case new
        case agentUnavailable = "agent_unavailable"
        case transfer
    }

    /// The conversation waits in the queue of `skill`.
    public static func queued(conversationID: String, skill: String, reason: QueueReason, agentsOnline: Bool, timestamp: Int) -> CommittedFrame {
        var json = JSONText(capacity: 96)
        json.field("skill", skill)
        json.field("reason", reason.rawValue)
        json.key("agentsOnline")
        json.raw(agentsOnline ? "true" : "false")
        json.field("ts", timestamp)
        json.raw("}")
        return CommittedFrame(prefix: start("conversation.queued", conversationID: conversationID), suffix: json.text)
    }

    /// An agent took the conversation. `history` (frames already committed) is added to the agent's copy only.
    public static func assigned(conversationID: String, agent: Participant, customer: Participant, timestamp: Int, history: [String]? = nil) -> CommittedFrame {
        var json = JSONText(capacity: 160)
        person(&json, "agent", id: agent.id, name: agent.name)
        person(&json, "customer", id: customer.id, name: customer.name)
        json.field("ts", timestamp)
        if let history {
            json.key("history")
            json.raw("[")
            json.raw(history.joined(separator: ","))
            json.raw("]")
        }
        json.raw("}")
        return CommittedFrame(prefix: start("conversation.assigned", conversationID: conversationID), suffix: json.text)
    }

    /// The conversation moved from one agent to another agent, or to a skill's queue.
    public static func transferred(
        conversationID: String, from: Participant, to: Participant?, skill: String?, note: String?, timestamp: Int, history: [String]? = nil
    ) -> CommittedFrame {
        var json = JSONText(capacity: 192)
        person(&json, "from", id: from.id, name: from.name)
        if let to { person(&json, "to", id: to.id, name: to.name) } else { json.key("to"); json.raw("null") }
        if let skill { json.field("skill", skill) } else { json.key("skill"); json.raw("null") }
        if let note { json.field("note", note) } else { json.key("note"); json.raw("null") }
        json.field("ts", timestamp)
        if let history {
            json.key("history")
            json.raw("[" + history.joined(separator: ",") + "]")
        }
        json.raw("}")
        return CommittedFrame(prefix: start("conversation.transferred", conversationID: conversationID), suffix: json.text)
    }

    /// The conversation was closed by `by`.
    /// `rateUntil` (ms) tells the customer until when they may rate it.
    public static func closed(conversationID: String, by: Participant, timestamp: Int, rateUntil: Int? = nil) -> CommittedFrame {
        var json = JSONText(capacity: 120)
        person(&json, "by", id: by.id, name: by.name, role: by.role.rawValue)
        if let rateUntil { json.field("rateUntil", rateUntil) }
        json.field("ts", timestamp)
        json.raw("}")
        return CommittedFrame(prefix: start("conversation.closed", conversationID: conversationID), suffix: json.text)
    }
}
