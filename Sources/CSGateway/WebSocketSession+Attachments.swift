import CSCore
import CSServer
import Foundation
import NIOCore

extension WebSocketSession {
    /// A message with an attachment (docs/protocol.md, "Attachments"): the upload must be the
    /// sender's own, made in the conversation the message goes to; the entry carries the upload's
    /// name, type and size (from its record, not the client) and the upload is marked as sent so
    /// the orphan sweep keeps it. The dispatcher then checks the sender like any message's.
    /// Not on the hot path: only frames with an `attachment` come here (one file read and write).
    func acceptAttachmentMessage(id: String, conversationID: String, body: String, attachmentID: String, _ connection: LocalConnection) async {
        var entry = messageEntry(conversationID: conversationID, clientMessageID: id, body: body, skill: nil)
        do {
            guard let store = gateway.attachments else { throw ChatError(.unavailable, "attachments are not enabled on this server") }
            guard let record = try await store.record(attachmentID), record.conversationID == conversationID,
                record.uploaderID == participant.id
            else {
                logger.warning("attachment reference refused", metadata: ["user": "\(participant.id)", "conversation": "\(conversationID)"])
                throw ChatError(.notFound, "attachment.id names no upload of yours in this conversation")
            }
            entry.attachment = record.reference
            try await store.markSent(attachmentID, at: Date())
        } catch {
            answer(.failure(error is ChatError ? error : ChatError(.unavailable, "temporarily unavailable; resend later")), for: entry, replyID: id, connection)
            return
        }
        await accept(entry, replyID: id, connection)
    }
}
