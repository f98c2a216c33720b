/// What a webhook endpoint can subscribe to (docs/api.md "Webhooks"). The names are the frame
/// types of docs/protocol.md where a committed frame exists (`message`, `conversation.*`), plus
/// `conversation.opened` (a conversation was created) and `rating` (a customer rated or re-rated).
public enum WebhookEventType: String, Sendable, CaseIterable, Comparable, Codable {
    case opened = "conversation.opened"
    case queued = "conversation.queued"
    case assigned = "conversation.assigned"
    case transferred = "conversation.transferred"
    case closed = "conversation.closed"
    case message
    case rating

    /// The event a committed frame makes: its JSON starts `{"type":"<type>",`, which is the
    /// prefix `CommittedFrame` builds. Nil for a frame type no endpoint can subscribe to.
    public init?(committedFramePrefix prefix: String) {
        let start = #"{"type":""#
        guard prefix.hasPrefix(start) else { return nil }
        let rest = prefix.utf8.dropFirst(start.utf8.count)
        guard let quote = rest.firstIndex(of: UInt8(ascii: "\"")),
            let type = WebhookEventType(rawValue: String(decoding: rest[..<quote], as: UTF8.self)),
            type != .opened, type != .rating
        else { return nil }
        self = type
    }

    /// Parses a comma-separated list as `cs-admin` and the HTTP API take it; nil when a name is
    /// unknown or the list is empty. `*` means every type.
    public static func parseList(_ text: String) -> [WebhookEventType]? {
        if text == "*" { return allCases }
        var types: Set<WebhookEventType> = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let type = WebhookEventType(rawValue: String(name)) else { return nil }
            types.insert(type)
        }
        return types.isEmpty ? nil : types.sorted()
    }

    public static func < (a: WebhookEventType, b: WebhookEventType) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
