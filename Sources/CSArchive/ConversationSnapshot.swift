import CSCore
import Foundation

/// Everything Redis holds about one finished conversation, decoded into the rows the archive
/// writes. Pure: built from the meta hash, the log and the rating hash as Redis returned them.
public struct ConversationSnapshot: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var seq: Int
        public var type: String
        public var senderID: String?
        public var senderRole: String?
        public var body: String?
        public var at: Int?
        /// The frame exactly as delivered (JSON).
        public var frame: String
    }

    public struct Rating: Sendable, Equatable {
        public var score: Int
        public var comment: String
        public var ratedAt: Int
        public var updatedAt: Int
        public var agent: String?
        public var team: String
    }

    public var id: String
    /// nil: the meta hash is gone (expired after an earlier archive): only the rating is written.
    public var state: ConversationState?
    /// The meta hash's `seq`: entries ever committed (the log may hold fewer: it is capped).
    public var lastSeq: Int
    public var entries: [Entry]
    public var rating: Rating?
    /// The e-mail a customer left with an offline message (the last one in the log).
    public var contactEmail: String?

    /// Decodes one log entry (`<seq>-0`, field `f`); nil when it is not a frame we can read,
    /// which the caller treats as a malformed conversation.
    public static func entry(id: String, frame: String) -> Entry? {
        guard let seq = id.split(separator: "-").first.flatMap({ Int($0) }), seq > 0,
              let object = try? JSONSerialization.jsonObject(with: Data(frame.utf8)) as? [String: Any],
              let type = object["type"] as? String
        else { return nil }
        let person = (object["from"] ?? object["by"]) as? [String: Any]
        return Entry(
            seq: seq, type: type, senderID: person?["id"] as? String, senderRole: person?["role"] as? String,
            body: object["body"] as? String, at: (object["ts"] as? NSNumber)?.intValue, frame: frame)
    }

    /// The contact e-mail of an offline message frame (`contact.email`), if any.
    static func email(in frame: String) -> String? {
        guard frame.contains("\"contact\""),
              let object = try? JSONSerialization.jsonObject(with: Data(frame.utf8)) as? [String: Any],
              let contact = object["contact"] as? [String: Any]
        else { return nil }
        return contact["email"] as? String
    }

    /// The rating hash (`RatingRecord.fields`); nil when absent or unreadable.
    public static func rating(_ fields: [String: String]) -> Rating? {
        guard let score = fields["score"].flatMap(Int.init), (1...5).contains(score),
              let ratedAt = fields["ratedAt"].flatMap(Int.init)
        else { return nil }
        let agent = fields["agent"].flatMap { $0.isEmpty ? nil : $0 }
        return Rating(
            score: score, comment: fields["comment"] ?? "", ratedAt: ratedAt, updatedAt: fields["updatedAt"].flatMap(Int.init) ?? ratedAt,
            agent: agent, team: fields["team"] ?? ConversationRules.defaultSkill)
    }

    /// Why a snapshot may not be archived (the stream entry goes to the dead letters), or nil.
    public var refusal: String? {
        guard let state else { return nil }
        if state.status != .closed { return "not_closed" }
        return nil
    }
}
