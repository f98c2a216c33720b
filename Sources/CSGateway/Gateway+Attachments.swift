import CSCore
import CSServer
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension GatewayContext {
    /// Uploads, download links and downloads of attachments (docs/api.md, "Attachments").
    func addAttachmentRoutes(to router: Router<GatewayRequestContext>) {
        router.post("/v1/conversations/:conversationId/attachments") { request, context in
            let response = await Self.answer {
                try await self.upload(request, conversationID: context.parameters.get("conversationId") ?? "")
            }
            // A refused upload's body may still be coming: do not read it (docs/api.md).
            if response.status == .contentTooLarge {
                return Self.closingConnection(response, context.channel)
            }
            return response
        }
        router.get("/v1/conversations/:conversationId/attachments/:attachmentId/link") { request, context in
            await Self.answer {
                try await self.downloadLink(
                    request, conversationID: context.parameters.get("conversationId") ?? "",
                    attachmentID: context.parameters.get("attachmentId") ?? "")
            }
        }
        router.get("/v1/attachments/:attachmentId") { request, context in
            await Self.answer { try await self.download(request, attachmentID: context.parameters.get("attachmentId") ?? "") }
        }
    }

    private func requireStore() throws -> any AttachmentStore {
        guard let attachments else { throw ChatError(.unavailable, "attachments are not enabled on this server") }
        return attachments
    }

    private func upload(_ request: Request, conversationID: String) async throws -> Response {
        let store = try requireStore()
        let limit = configuration.attachmentMaxBytes
        // Before anything is read: the declared size.
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            throw AttachmentUploadBody.tooLarge(limit)
        }
        let caller = try await authenticate(request)
        try attachmentUploadLimiter.admit(caller.id, what: "uploads")
        guard Identifier.isValid(conversationID) else { throw ChatError(.invalidField, "conversation id must be 1-64 characters of \(Identifier.alphabetDescription)") }
        // Participants who can write: the customer and the assigned agent (supervisors read only).
        guard caller.role != .supervisor, let conversation = try await views.conversation(conversationID),
            ConversationRules.canRead(userID: caller.id, role: caller.role, conversation)
        else {
            logger.warning("forbidden upload", metadata: ["user": "\(caller.id)", "conversation": "\(conversationID)"])
            throw ConversationRules.notYours
        }
        guard conversation.status != .closed else { throw ChatError(.conversationClosed, "conversation is closed") }
        let (type, body) = try await AttachmentUploadBody.sniffing(request.body, limit: limit)
        let reference = AttachmentReference(
            id: AttachmentID.new(), name: AttachmentName.clean(request.uri.queryParameters.get("name")), type: type, size: 0)
        let record = AttachmentRecord(reference: reference, conversationID: conversationID, uploaderID: caller.id, createdAt: Date())
        let stored = try await store.put(record, chunks: body)
        logger.info("attachment uploaded", metadata: [
            "user": "\(caller.id)", "conversation": "\(conversationID)", "attachment": "\(reference.id)", "bytes": "\(stored.reference.size)",
        ])
        return Self.json(.created, stored.reference.json)
    }

    /// The record of `attachmentID` in `conversationID`, for someone who may read that conversation.
    private func readableAttachment(_ request: Request, conversationID: String, attachmentID: String) async throws -> AttachmentRecord {
        let store = try requireStore()
        let caller = try await authenticate(request)
        // Missing, elsewhere and not yours all look alike: nothing can be probed.
        guard Identifier.isValid(conversationID), AttachmentID.isValid(attachmentID),
            let conversation = try await views.conversation(conversationID),
            ConversationRules.canRead(userID: caller.id, role: caller.role, conversation)
        else {
            logger.warning("forbidden attachment link", metadata: ["user": "\(caller.id)", "conversation": "\(conversationID)"])
            throw ConversationRules.notYours
        }
        guard let record = try await store.record(attachmentID), record.conversationID == conversationID else {
            throw ChatError(.notFound, "no such attachment in this conversation")
        }
        return record
    }

    private func downloadLink(_ request: Request, conversationID: String, attachmentID: String) async throws -> Response {
        let record = try await readableAttachment(request, conversationID: conversationID, attachmentID: attachmentID)
        let (token, expiresAt) = attachmentLinks.token(for: record.reference.id)
        var json = JSONText()
        json.raw("{")
        json.field("url", "/v1/attachments/\(record.reference.id)?token=\(token)", first: true)
        json.field("expiresAt", expiresAt.formatted(.iso8601))
        json.key("attachment")
        json.raw(record.reference.json)
        json.raw("}")
        return Self.json(.ok, json.text)
    }

    private func download(_ request: Request, attachmentID: String) async throws -> Response {
        let store = try requireStore()
        guard AttachmentID.isValid(attachmentID) else { throw ChatError(.notFound, "no such attachment") }
        switch attachmentLinks.verify(request.uri.queryParameters.get("token") ?? "", for: attachmentID) {
        case .valid: break
        case .expired: throw ChatError(.forbidden, "the link has expired; ask for a new one")
        case .invalid: throw ChatError(.forbidden, "a valid link token is required")
        }
        guard let record = try await store.record(attachmentID) else { throw ChatError(.notFound, "no such attachment") }
        let reference = record.reference
        var headers = HTTPFields()
        headers[.contentType] = reference.type == .text ? "text/plain; charset=utf-8" : reference.type.mimeType
        headers[.contentDisposition] = Self.contentDisposition(reference)
        headers[.xContentTypeOptions] = "nosniff"
        headers[.contentSecurityPolicy] = "sandbox; default-src 'none'"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        headers[.cacheControl] = "private, max-age=\(Int(attachmentLinks.lifetime))"
        let logger = logger
        return Response(status: .ok, headers: headers, body: ResponseBody(contentLength: reference.size) { writer in
            // Gone between the record and the bytes (a sweep): the client sees a short body.
            let found = try await store.read(attachmentID) { try await writer.write($0) }
            if !found { logger.warning("attachment bytes missing", metadata: ["attachment": "\(attachmentID)"]) }
            try await writer.finish(nil)
        })
    }

    /// `attachment` (a download) for everything but the images browsers show safely; the name
    /// both as plain ASCII and RFC 5987 UTF-8.
    static func contentDisposition(_ reference: AttachmentReference) -> String {
        let kind = reference.type.isInlineImage ? "inline" : "attachment"
        let ascii = String(reference.name.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" ? Character($0) : "_" })
        let allowed = CharacterSet.alphanumerics.intersection(.init(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
            .union(.init(charactersIn: "-._~"))
        let encoded = reference.name.addingPercentEncoding(withAllowedCharacters: allowed) ?? "file"
        return "\(kind); filename=\"\(ascii)\"; filename*=UTF-8''\(encoded)"
    }

    /// The answer, then the connection closes: the rest of a refused upload is not read (a
    /// 100 MB body is not drained through the gateway).
    static func closingConnection(_ response: Response, _ channel: any Channel) -> Response {
        var headers = response.headers
        headers[.connection] = "close"
        let body = response.body
        return Response(status: response.status, headers: headers, body: ResponseBody { writer in
            try await body.write(writer)
            channel.close(promise: nil)
        })
    }
}
