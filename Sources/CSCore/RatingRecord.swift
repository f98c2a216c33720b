/// One conversation's rating as stored in `cs:{ratings}:r:<conversationId>`.
public struct RatingRecord: Sendable, Equatable {
    public var conversationID: String
    public var score: Int
    public var comment: String
    /// When the rating was first given and last changed (ms; the gateway's acceptance times).
    public var ratedAt: Int
    public var updatedAt: Int
    public var closedAt: Int
    /// The agent credited (assigned when the conversation closed); nil when none was.
    public var agent: Participant?
    /// Every agent who handled the conversation, in order.
    public var handlers: [String]
    /// The conversation's skill when it closed.
    public var team: String
    public var customer: Participant

    public init(
        conversationID: String, score: Int, comment: String, ratedAt: Int, updatedAt: Int, closedAt: Int, agent: Participant?,
        handlers: [String], team: String, customer: Participant
    ) {
        self.conversationID = conversationID
        self.score = score
        self.comment = comment
        self.ratedAt = ratedAt
        self.updatedAt = updatedAt
        self.closedAt = closedAt
        self.agent = agent
        self.handlers = handlers
        self.team = team
        self.customer = customer
    }

    /// Decodes the record hash; nil when it is not a rating.
    public init?(conversationID: String, fields: [String: String]) {
        guard let score = fields["score"].flatMap(Int.init), (1...5).contains(score), let customerID = fields["customer"] else { return nil }
        let agentID = fields["agent"] ?? ""
        self.init(
            conversationID: conversationID, score: score, comment: fields["comment"] ?? "",
            ratedAt: fields["ratedAt"].flatMap(Int.init) ?? 0, updatedAt: fields["updatedAt"].flatMap(Int.init) ?? 0,
            closedAt: fields["closedAt"].flatMap(Int.init) ?? 0,
            agent: agentID.isEmpty ? nil : Participant(id: agentID, role: .agent, name: fields["agentName"] ?? ""),
            handlers: (fields["handlers"] ?? "").split(separator: ",").map(String.init), team: fields["team"] ?? "default",
            customer: Participant(id: customerID, role: .customer, name: fields["customerName"] ?? ""))
    }

    /// The JSON of one rating in the HTTP API and, with `id`, the `rating` frame.
    public func render(id: String? = nil, rateUntil: Int? = nil) -> String {
        var json = JSONText(capacity: 256 + comment.utf8.count)
        json.raw("{")
        if let id {
            json.field("type", "rating", first: true)
            json.field("id", id)
            json.field("conversationId", conversationID)
        } else {
            json.field("conversationId", conversationID, first: true)
        }
        json.field("score", score)
        json.field("comment", comment)
        json.field("ratedAt", ratedAt)
        json.field("updatedAt", updatedAt)
        if let rateUntil { json.field("rateUntil", rateUntil) }
        json.field("closedAt", closedAt)
        json.key("agent")
        if let agent {
            json.raw("{")
            json.field("id", agent.id, first: true)
            json.field("name", agent.name)
            json.raw("}")
        } else {
            json.raw("null")
        }
        json.key("handlers")
        json.raw("[")
        for (index, handler) in handlers.enumerated() {
            if index > 0 { json.raw(",") }
            json.string(handler)
        }
        json.raw("]")
        json.field("team", team)
        json.key("customer")
        json.raw("{")
        json.field("id", customer.id, first: true)
        json.field("name", customer.name)
        json.raw("}}")
        return json.text
    }
}
