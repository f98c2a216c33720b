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
    /// Every agent who was assigned the conversation, in order of their first assignment.
    public var handlers: [String] = []
    /// Milliseconds since the epoch; nil when not recorded (conversations older than the field).
    public var createdAt: Int?
    public var closedAt: Int?
    /// Until when the customer may rate or change their rating (set at close).
    public var rateUntil: Int?
    /// When the first agent was assigned, and when an agent first wrote (for wait and
    /// first-response statistics); written once each, with `HSETNX`.
    public var firstAssignedAt: Int?
    public var firstResponseAt: Int?

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

    /// Records `agentID` among the handlers (once).
    public mutating func addHandler(_ agentID: String) {
        if !handlers.contains(agentID) { handlers.append(agentID) }
    }

    /// Hash fields for `cs:{c:<id>}:meta` (without `seq`, which only the append script writes,
    /// and the first-assignment and first-response times, written once with `HSETNX`).
    public var fields: [(String, String)] {
        var fields = [
            ("customer", customer.id), ("customerName", customer.name),
            ("agent", agent?.id ?? ""), ("agentName", agent?.name ?? ""),
            ("status", status.rawValue), ("skill", skill), ("handlers", handlers.joined(separator: ",")),
        ]
        if let createdAt { fields.append(("createdAt", String(createdAt))) }
        if let closedAt { fields.append(("closedAt", String(closedAt))) }
        if let rateUntil { fields.append(("rateUntil", String(rateUntil))) }
        return fields
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
        handlers = (fields["handlers"] ?? "").split(separator: ",").map(String.init)
        createdAt = fields["createdAt"].flatMap(Int.init)
        closedAt = fields["closedAt"].flatMap(Int.init)
        rateUntil = fields["rateUntil"].flatMap(Int.init)
        firstAssignedAt = fields["firstAssignedAt"].flatMap(Int.init)
        firstResponseAt = fields["firstResponseAt"].flatMap(Int.init)
    }
}
