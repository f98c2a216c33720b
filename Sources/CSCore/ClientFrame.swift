import Foundation

/// A frame a client sends over the WebSocket (docs/protocol.md, "Client → server frames").
public enum ClientFrame: Sendable, Equatable {
    /// A chat message. `conversationID` is nil when a customer writes to their open conversation.
    case message(id: String, conversationID: String?, body: String, skill: String?)
    /// A chat message with an uploaded file (`attachment.id`); the body may be empty. The
    /// conversation must be named: the upload belongs to it (docs/protocol.md, "Attachments").
    case attachmentMessage(id: String, conversationID: String, body: String, attachmentID: String)
    /// Close a conversation.
    case close(id: String?, conversationID: String?)
    /// Application-level keep-alive.
    case ping(id: String?)
    /// Replay entries after `lastSeq` for each conversation, then go live.
    case resume([ResumePoint])
    /// The user is typing in a conversation (ephemeral).
    case typing(conversationID: String)
    /// The user read the conversation up to `seq`.
    case read(conversationID: String, seq: Int)
    /// An agent's availability.
    case presence(PresenceStatus)
    /// The client received (`read: false`) or showed (`read: true`) a notification.
    case notificationReceipt(id: String, read: Bool)
    /// Hand a conversation to another agent or to a skill's queue.
    case transfer(id: String?, conversationID: String, toAgent: String?, toSkill: String?, note: String?)
    /// A customer rates a closed conversation (1-5) with an optional comment; a later `rate`
    /// within the rating window replaces it.
    case rate(id: String, conversationID: String, score: Int, comment: String?)

    /// One conversation to catch up on.
    public struct ResumePoint: Sendable, Equatable, Decodable {
        public var conversationId: String
        public var lastSeq: Int

        public init(conversationId: String, lastSeq: Int) {
            self.conversationId = conversationId
            self.lastSeq = lastSeq
        }
    }

    /// What an agent can set with `presence`.
    public enum PresenceStatus: String, Sendable, Equatable {
        case online, away, offline
    }

    /// Limits that are part of the protocol.
    public enum Limits {
        public static let maxBodyCharacters = 4_000
        public static let maxIDLength = 64
        public static let maxSkillLength = 32
        /// Largest frame the gateway reads; larger frames close the connection with 1009.
        public static let maxFrameBytes = 64 * 1024
        public static let maxNoteCharacters = 500
        public static let maxResumeConversations = 20
        /// Longest rating comment, in Unicode scalars.
        public static let maxCommentCharacters = 1_000
    }
}

extension ClientFrame {
    private struct OnlyID: Decodable { var id: String? }

    /// The frame's fields as sent, before validation.
    struct Raw: Decodable, Equatable {
        var type: String?
        var id: String?
        var conversationId: String?
        var body: String?
        var skill: String?
        var seq: Int?
        var lastSeq: Int?
        var status: String?
        var toAgent: String?
        var toSkill: String?
        var note: String?
        /// A JSON number: 4.5 must be refused as a field error, not as malformed JSON.
        var score: Double?
        var comment: String?
        var conversations: [ResumePoint]?
        /// `{"id": …}`; other keys of the reference (name, type, size) are ignored: the gateway
        /// takes them from the upload.
        var attachment: RawAttachment?
    }

    struct RawAttachment: Decodable, Equatable {
        var id: String?
    }

    /// Decodes and validates one text frame.
    ///
    /// - Throws: `ChatError` with `bad_request`, `unknown_type` or `invalid_field`; the error's
    ///   message names the offending field but never echoes message bodies.
    public static func decode(_ bytes: some Collection<UInt8>) throws(ChatError) -> ClientFrame {
        if let raw = bytes.withContiguousStorageIfAvailable({ FlatFrameScanner.scan(UnsafeRawBufferPointer($0)) }), let raw {
            return try validate(raw)
        }
        return try validate(decodeWithFoundation(bytes))
    }

    /// Decodes and validates one text frame as received (see `decode(_:)` for the errors).
    public static func decode(_ text: String) throws(ChatError) -> ClientFrame {
        var text = text
        if let raw = text.withUTF8({ FlatFrameScanner.scan(UnsafeRawBufferPointer($0)) }) { return try validate(raw) }
        return try validate(decodeWithFoundation(text.utf8))
    }

    /// Any JSON, with Foundation's decoder: the reference behaviour the flat scanner matches.
    static func decodeWithFoundation(_ bytes: some Collection<UInt8>) throws(ChatError) -> Raw {
        do {
            return try JSONDecoder().decode(Raw.self, from: Data(bytes))
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ChatError(.invalidField, "\(field) has the wrong type")
        } catch let DecodingError.keyNotFound(key, context) where !context.codingPath.isEmpty {
            // A required field inside a nested object (a resume item without lastSeq).
            let field = (context.codingPath + [key]).filter { $0.intValue == nil }.map(\.stringValue).joined(separator: ".")
            throw ChatError(.invalidField, "\(field) is required")
        } catch {
            // Foundation reports numbers it cannot represent (1e400, 2^64) as malformed JSON.
            throw ChatError(.badRequest, "frame must be a JSON object (with numbers in range)")
        }
    }

    /// The checks every frame type's fields must pass.
    static func validate(_ raw: Raw) throws(ChatError) -> ClientFrame {
        guard let type = raw.type else { throw ChatError(.unknownType, "type is missing") }
        switch type {
        case "message" where raw.attachment != nil:
            return try validateAttachmentMessage(raw)
        case "message":
            let id = try validID(raw.id, field: "id")
            guard let body = raw.body, !body.isEmpty, body.unicodeScalars.count <= Limits.maxBodyCharacters else {
                throw ChatError(.invalidField, "body must be 1-\(Limits.maxBodyCharacters) characters")
            }
            let conversation = try optionalID(raw.conversationId, field: "conversationId")
            let skill = try optionalID(raw.skill, field: "skill", maxLength: Limits.maxSkillLength)
            return .message(id: id, conversationID: conversation, body: body, skill: skill)
        case "close":
            let id = try optionalID(raw.id, field: "id")
            let conversation = try optionalID(raw.conversationId, field: "conversationId")
            return .close(id: id, conversationID: conversation)
        case "ping":
            return .ping(id: try optionalID(raw.id, field: "id"))
        case "resume":
            guard let points = raw.conversations, points.count <= Limits.maxResumeConversations else {
                throw ChatError(.invalidField, "conversations must be a list of at most \(Limits.maxResumeConversations)")
            }
            for point in points {
                _ = try validID(point.conversationId, field: "conversations.conversationId")
                guard point.lastSeq >= 0 else { throw ChatError(.invalidField, "conversations.lastSeq must be >= 0") }
            }
            return .resume(points)
        case "typing":
            return .typing(conversationID: try validID(raw.conversationId, field: "conversationId"))
        case "read":
            let conversation = try validID(raw.conversationId, field: "conversationId")
            guard let seq = raw.seq, seq > 0 else { throw ChatError(.invalidField, "seq must be a positive integer") }
            return .read(conversationID: conversation, seq: seq)
        case "notification.ack", "notification.read":
            return .notificationReceipt(id: try validID(raw.id, field: "id"), read: type == "notification.read")
        case "presence":
            guard let status = raw.status.flatMap(PresenceStatus.init(rawValue:)) else {
                throw ChatError(.invalidField, "status must be online, away or offline")
            }
            return .presence(status)
        case "transfer":
            let id = try optionalID(raw.id, field: "id")
            let conversation = try validID(raw.conversationId, field: "conversationId")
            let toAgent = try optionalID(raw.toAgent, field: "toAgent")
            let toSkill = try optionalID(raw.toSkill, field: "toSkill", maxLength: Limits.maxSkillLength)
            guard (toAgent == nil) != (toSkill == nil) else { throw ChatError(.invalidField, "give exactly one of toAgent and toSkill") }
            if let note = raw.note, note.isEmpty || note.unicodeScalars.count > Limits.maxNoteCharacters {
                throw ChatError(.invalidField, "note must be 1-\(Limits.maxNoteCharacters) characters")
            }
            return .transfer(id: id, conversationID: conversation, toAgent: toAgent, toSkill: toSkill, note: raw.note)
        case "rate":
            let id = try validID(raw.id, field: "id")
            let conversation = try validID(raw.conversationId, field: "conversationId")
            guard let number = raw.score, number == number.rounded(), (1...5).contains(number) else {
                throw ChatError(.invalidField, "score must be an integer 1-5")
            }
            let score = Int(number)
            if let comment = raw.comment, comment.unicodeScalars.count > Limits.maxCommentCharacters {
                throw ChatError(.invalidField, "comment must be at most \(Limits.maxCommentCharacters) characters")
            }
            return .rate(id: id, conversationID: conversation, score: score, comment: raw.comment?.isEmpty == true ? nil : raw.comment)
        default:
            throw ChatError(.unknownType, "unknown frame type")
        }
    }

    /// The frame's `id`, when it is a valid id, from a frame that failed to decode; so that the
    /// error can name the frame it answers.
    public static func idOfInvalidFrame(_ bytes: some Collection<UInt8>) -> String? {
        guard let id = (try? JSONDecoder().decode(OnlyID.self, from: Data(bytes)))?.id, Identifier.isValid(id) else { return nil }
        return id
    }

    private static func validateAttachmentMessage(_ raw: Raw) throws(ChatError) -> ClientFrame {
        let id = try validID(raw.id, field: "id")
        let body = raw.body ?? ""
        guard body.unicodeScalars.count <= Limits.maxBodyCharacters else {
            throw ChatError(.invalidField, "body must be at most \(Limits.maxBodyCharacters) characters")
        }
        guard let conversation = raw.conversationId else {
            throw ChatError(.invalidField, "conversationId is required with an attachment")
        }
        let conversationID = try validID(conversation, field: "conversationId")
        guard let attachmentID = raw.attachment?.id, AttachmentID.isValid(attachmentID) else {
            throw ChatError(.invalidField, "attachment.id must be the id of an upload")
        }
        if raw.skill != nil { throw ChatError(.invalidField, "skill cannot go with an attachment") }
        return .attachmentMessage(id: id, conversationID: conversationID, body: body, attachmentID: attachmentID)
    }

    private static func optionalID(_ value: String?, field: String, maxLength: Int = Limits.maxIDLength) throws(ChatError) -> String? {
        guard let value else { return nil }
        return try validID(value, field: field, maxLength: maxLength)
    }

    private static func validID(_ value: String?, field: String, maxLength: Int = Limits.maxIDLength) throws(ChatError) -> String {
        guard let value else { throw ChatError(.invalidField, "\(field) is required") }
        guard Identifier.isValid(value, maxLength: maxLength) else {
            throw ChatError(.invalidField, "\(field) must be 1-\(maxLength) characters of [A-Za-z0-9._-]")
        }
        return value
    }
}
