/// What the dispatcher knows about one conversation (mirrors the `cs:{c:<id>}:meta` hash).
public struct ConversationState: Sendable, Equatable {
    public enum Status: String, Sendable {
        /// Created; routing (assignment or queueing) not yet recorded.
        case new
        case queued
        case assigned
        case closed
    }

    public var id: String
    public var customer: Participant
    public var agent: Participant?
    public var status: Status
    public var skill: String

    public init(id: String, customer: Participant, agent: Participant? = nil, status: Status, skill: String) {
        self.id = id
        self.customer = customer
        self.agent = agent
        self.status = status
        self.skill = skill
    }

    /// Users who receive the conversation's entries.
    public var recipients: [String] {
        if let agent { return [customer.id, agent.id] }
        return [customer.id]
    }

    /// Hash fields for `cs:{c:<id>}:meta` (without `seq`, which only the append script writes).
    public var fields: [(String, String)] {
        [
            ("customer", customer.id), ("customerName", customer.name),
            ("agent", agent?.id ?? ""), ("agentName", agent?.name ?? ""),
            ("status", status.rawValue), ("skill", skill),
        ]
    }

    /// Decodes the meta hash; nil when it does not describe a conversation.
    public init?(id: String, fields: [String: String]) {
        guard let customerID = fields["customer"], !customerID.isEmpty,
            let status = fields["status"].flatMap(Status.init(rawValue:))
        else { return nil }
        let agentID = fields["agent"] ?? ""
        self.init(
            id: id,
            customer: Participant(id: customerID, role: .customer, name: fields["customerName"] ?? ""),
            agent: agentID.isEmpty ? nil : Participant(id: agentID, role: .agent, name: fields["agentName"] ?? ""),
            status: status, skill: fields["skill"] ?? "default"
        )
    }
}
