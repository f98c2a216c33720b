/// One webhook event as the dispatcher records it in `cs:{webhooks}:events` and `cs-webhooks`
/// posts it (docs/api.md "Webhook events").
///
/// The id is stable: processing the same inbound entry again (after a crash, before its XACK)
/// records an event with the same id, so receivers deduplicate by it. Committed frames use
/// `<conversationId>:<seq>`; `conversation.opened` uses `<conversationId>:opened` (once per
/// conversation); `rating` uses `<conversationId>:rating:<inbound entry id>` (a customer may change
/// their rating, each change is an event).
public struct WebhookEvent: Sendable, Equatable {
    public var id: String
    public var type: WebhookEventType
    public var conversationID: String
    /// The event's JSON body, exactly what is posted and signed.
    public var body: String

    public init(id: String, type: WebhookEventType, conversationID: String, body: String) {
        self.id = id
        self.type = type
        self.conversationID = conversationID
        self.body = body
    }

    /// `{"id":…,"type":…,"conversationId":…,"seq":…|null,"ts":…,"data":<data>}`: `data` is the
    /// committed frame as participants received it, or the opened/rating object.
    static func envelope(id: String, type: WebhookEventType, conversationID: String, seq: Int?, timestamp: Int, data: String) -> String {
        var json = JSONText(capacity: data.utf8.count + 160)
        json.raw("{")
        json.field("id", id, first: true)
        json.field("type", type.rawValue)
        json.field("conversationId", conversationID)
        json.key("seq")
        json.raw(seq.map(String.init) ?? "null")
        json.field("ts", timestamp)
        json.key("data")
        json.raw(data)
        json.raw("}")
        return json.text
    }

    /// The event of a committed frame (the frame as stored, with its seq), or nil when the frame's
    /// type is not an event type.
    public static func committed(_ frame: CommittedFrame, conversationID: String, seq: Int, timestamp: Int) -> WebhookEvent? {
        guard let type = WebhookEventType(committedFramePrefix: frame.prefix) else { return nil }
        let id = conversationID + ":" + String(seq)
        return WebhookEvent(
            id: id, type: type, conversationID: conversationID,
            body: envelope(id: id, type: type, conversationID: conversationID, seq: seq, timestamp: timestamp, data: frame.render(seq: seq)))
    }

    /// A conversation was created (before its first committed frame).
    public static func opened(_ state: ConversationState, timestamp: Int) -> WebhookEvent {
        var data = JSONText(capacity: 160)
        data.raw("{")
        data.key("customer", first: true)
        data.raw("{")
        data.field("id", state.customer.id, first: true)
        data.field("name", state.customer.name)
        data.raw("}")
        data.field("skill", state.skill)
        data.raw("}")
        let id = state.id + ":opened"
        return WebhookEvent(
            id: id, type: .opened, conversationID: state.id,
            body: envelope(id: id, type: .opened, conversationID: state.id, seq: nil, timestamp: timestamp, data: data.text))
    }

    /// A rating was recorded; `frame` is the `rating` frame the customer was sent.
    public static func rating(conversationID: String, entryID: String, frame: String, timestamp: Int) -> WebhookEvent {
        let id = conversationID + ":rating:" + entryID
        return WebhookEvent(
            id: id, type: .rating, conversationID: conversationID,
            body: envelope(id: id, type: .rating, conversationID: conversationID, seq: nil, timestamp: timestamp, data: frame))
    }

    /// Stream fields: `id`, `t` (type), `c` (conversation id), `b` (body).
    public var fields: [String] { ["id", id, "t", type.rawValue, "c", conversationID, "b", body] }

    /// Reads an entry back; nil when a field is missing or the type unknown.
    public init?(fields: [String: String]) {
        guard let id = fields["id"], let t = fields["t"], let type = WebhookEventType(rawValue: t), let c = fields["c"], let b = fields["b"]
        else { return nil }
        self.init(id: id, type: type, conversationID: c, body: b)
    }
}
