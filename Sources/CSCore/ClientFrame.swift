import Foundation

/// A frame a client sends over the WebSocket (docs/protocol.md, "Client → server frames").
public enum ClientFrame: Sendable, Equatable {
    /// A chat message. `conversationID` is nil when a customer writes to their open conversation.
    case message(id: String, conversationID: String?, body: String, skill: String?)
    /// Close a conversation.
    case close(id: String?, conversationID: String?)
    /// Application-level keep-alive.
    case ping(id: String?)

    /// Limits that are part of the protocol.
    public enum Limits {
        public static let maxBodyCharacters = 4_000
        public static let maxIDLength = 64
        public static let maxSkillLength = 32
        /// Largest frame the gateway reads; larger frames close the connection with 1009.
        public static let maxFrameBytes = 64 * 1024
    }
}

extension ClientFrame {
    private struct OnlyID: Decodable { var id: String? }

    private struct Raw: Decodable {
        var type: String?
        var id: String?
        var conversationId: String?
        var body: String?
        var skill: String?
    }

    /// Decodes and validates one text frame.
    ///
    /// - Throws: `ChatError` with `bad_request`, `unknown_type` or `invalid_field`; the error's
    ///   message names the offending field but never echoes message bodies.
    public static func decode(_ bytes: some Collection<UInt8>) throws(ChatError) -> ClientFrame {
        let raw: Raw
        do {
            raw = try JSONDecoder().decode(Raw.self, from: Data(bytes))
        } catch let DecodingError.typeMismatch(_, context) where !context.codingPath.isEmpty {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw ChatError(.invalidField, "\(field) has the wrong type")
        } catch {
            throw ChatError(.badRequest, "frame must be a JSON object")
        }
        guard let type = raw.type else { throw ChatError(.unknownType, "type is missing") }
        switch type {
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

    private static func optionalID(_ value: String?, field: String, maxLength: Int = Limits.maxIDLength) throws(ChatError) -> String? {
        guard let value else { return nil }
        return try validID(value, field: field, maxLength: maxLength)
    }

    private static func validID(_ value: String?, field: String, maxLength: Int = Limits.maxIDLength) throws(ChatError) -> String {
        guard let value else { throw ChatError(.invalidField, "\(field) is required") }
        guard Identifier.isValid(value, maxLength: maxLength) else {
            throw ChatError(.invalidField, "\(field) must be 1-\(maxLength) characters of [A-Za-z0-9._:-]")
        }
        return value
    }
}
