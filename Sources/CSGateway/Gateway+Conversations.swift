import CSCore
import CSServer
import Foundation
import Hummingbird

extension GatewayContext {
    /// History (`GET /v1/conversations/{id}/messages`) and offline messages (`POST /v1/offline-messages`), docs/api.md.
    func addConversationRoutes(to router: Router<GatewayRequestContext>) {
        router.get("/v1/conversations/:conversationId/messages") { request, context in
            await Self.answer { try await self.history(request, conversationID: context.parameters.get("conversationId") ?? "") }
        }
        router.post("/v1/offline-messages") { request, context in
            await Self.answer {
                try self.offlineMessageLimiter.admit(context.remoteAddress?.ipAddress, what: "offline messages")
                return try await self.offlineMessage(request)
            }
        }
    }

    private func history(_ request: Request, conversationID: String) async throws -> Response {
        let caller = try await authenticate(request)
        guard Identifier.isValid(conversationID) else { throw ChatError(.invalidField, "conversation id must be 1-64 characters of \(Identifier.alphabetDescription)") }
        let query = request.uri.queryParameters
        let after = try Self.integer(query.get("after"), name: "after", default: 0, range: 0...Int.max)
        let limit = try Self.integer(query.get("limit"), name: "limit", default: 50, range: 1...200)
        // A missing conversation is answered like someone else's: ids cannot be probed (docs/api.md).
        guard let conversation = try await views.conversation(conversationID),
            ConversationRules.canRead(userID: caller.id, role: caller.role, conversation)
        else {
            logger.warning("forbidden history read", metadata: ["user": "\(caller.id)", "conversation": "\(conversationID)"])
            throw ChatError(.forbidden, "not your conversation")
        }
        let entries = try await views.entries(of: conversationID, after: after, limit: limit + 1)
        let page = entries.prefix(limit)
        let lastSeq = try await redis.send("HGET", .init(RedisKeys.conversation(conversationID)), "seq").int ?? 0
        var json = JSONText(capacity: 256 + page.reduce(0) { $0 + $1.frame.utf8.count + 1 })
        json.raw("{")
        json.field("conversationId", conversationID, first: true)
        json.field("firstAvailableSeq", try await views.firstAvailableSeq(of: conversationID))
        json.field("lastSeq", lastSeq)
        json.key("entries")
        json.raw("[" + page.map(\.frame).joined(separator: ",") + "]")
        json.key("next")
        if entries.count > limit, let last = page.last {
            json.string("/v1/conversations/\(conversationID)/messages?after=\(last.seq)&limit=\(limit)")
        } else {
            json.raw("null")
        }
        json.raw("}")
        return Self.json(.ok, json.text)
    }

    private struct OfflineMessageRequest: Decodable {
        var name: String?
        var email: String?
        var text: String?
        var skill: String?
    }

    private func offlineMessage(_ request: Request) async throws -> Response {
        let caller = try await authenticate(request)
        guard caller.role == .customer else { throw ChatError(.forbidden, "offline messages are for customers") }
        let body = try await Self.decode(OfflineMessageRequest.self, from: request)
        guard let name = body.name else { throw ChatError(.invalidField, "name must be 1-80 characters") }
        if let problem = DisplayName.problem(name) { throw ChatError(.invalidField, problem) }
        guard let email = body.email, (3...254).contains(email.count), email.contains("@"), !email.contains(where: \.isWhitespace) else {
            throw ChatError(.invalidField, "email must be an e-mail address")
        }
        guard let text = body.text, !text.isEmpty, text.unicodeScalars.count <= ClientFrame.Limits.maxBodyCharacters else {
            throw ChatError(.invalidField, "text must be 1-\(ClientFrame.Limits.maxBodyCharacters) characters")
        }
        if let skill = body.skill, !Identifier.isValid(skill, maxLength: ClientFrame.Limits.maxSkillLength) {
            throw ChatError(.invalidField, "skill must be 1-32 characters of [A-Za-z0-9._-]")
        }
        var entry = InboundEntry(
            kind: .message, userID: caller.id, role: .customer, userName: name, clientMessageID: "offline-" + Identifier.random(12),
            body: text, skill: body.skill ?? "", gatewayID: configuration.gatewayID)
        entry.email = email
        let acceptedID = try await inbound.append(entry)
        var json = JSONText()
        json.raw("{")
        json.field("acceptedId", acceptedID, first: true)
        json.raw("}")
        return Self.json(.accepted, json.text)
    }

    private static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw ChatError(.invalidField, "\(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }
}
