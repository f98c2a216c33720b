import Foundation

/// Client frames of the conversation lifecycle (docs/protocol.md): close, resume, typing, read,
/// presence, transfer.
extension ChatClient {
    /// `close`; `id` and `conversationId` are optional (agents must name the conversation).
    public func sendClose(id: String? = nil, conversationID: String? = nil) async throws {
        var object: [String: JSONValue] = ["type": "close"]
        if let id { object["id"] = .string(id) }
        if let conversationID { object["conversationId"] = .string(conversationID) }
        try await send(.object(object))
    }

    /// `resume` with `(conversationId, lastSeq)` pairs.
    public func sendResume(_ conversations: [(conversationID: String, lastSeq: Int)]) async throws {
        let items: [JSONValue] = conversations.map { ["conversationId": .string($0.conversationID), "lastSeq": .int($0.lastSeq)] }
        try await send(["type": "resume", "conversations": .array(items)])
    }

    public func sendTyping(conversationID: String) async throws {
        try await send(["type": "typing", "conversationId": .string(conversationID)])
    }

    public func sendRead(conversationID: String, seq: Int) async throws {
        try await send(["type": "read", "conversationId": .string(conversationID), "seq": .int(seq)])
    }

    /// `presence` with `online`, `away` or `offline`.
    public func sendPresence(_ status: String) async throws {
        try await send(["type": "presence", "status": .string(status)])
    }

    /// `transfer` to an agent (`toAgent`) or a skill (`toSkill`).
    public func sendTransfer(id: String?, conversationID: String, toAgent: String? = nil, toSkill: String? = nil, note: String? = nil) async throws {
        var object: [String: JSONValue] = ["type": "transfer", "conversationId": .string(conversationID)]
        if let id { object["id"] = .string(id) }
        if let toAgent { object["toAgent"] = .string(toAgent) }
        if let toSkill { object["toSkill"] = .string(toSkill) }
        if let note { object["note"] = .string(note) }
        try await send(.object(object))
    }

    /// Frames received so far about `conversationID` (any type), in order.
    public func received(conversationID: String) -> [ReceivedFrame] {
        received.filter { $0.string("conversationId") == conversationID }
    }

    /// Frames received so far with `type` about `conversationID`.
    public func received(type: String, conversationID: String) -> [ReceivedFrame] {
        received.filter { $0.type == type && $0.string("conversationId") == conversationID }
    }
}
