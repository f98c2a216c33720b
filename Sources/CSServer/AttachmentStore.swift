import CSCore
import Foundation
import NIOCore

/// Where uploaded files live (docs/operations.md, "Attachments"). Small on purpose, so that
/// another backend (PostgreSQL large objects when the archive is configured, an object store)
/// can stand in for ``DirectoryAttachmentStore`` without the gateway changing: bytes go in and out
/// as streams of chunks, never whole; nothing of it is in Redis.
///
/// Implementations must make an upload visible only once complete (a failed or cut-off `put`
/// leaves nothing), and treat ids as opaque: callers pass only ids that passed
/// `AttachmentID.isValid`.
public protocol AttachmentStore: Sendable {
    /// Stores the bytes of `chunks` under `record.reference.id`, with `record` beside them (its
    /// `size` replaced by the bytes actually stored). A sequence that throws leaves nothing.
    func put<Chunks: AsyncSequence>(_ record: AttachmentRecord, chunks: Chunks) async throws -> AttachmentRecord
    where Chunks.Element == ByteBuffer

    /// The record of a complete upload; nil when there is none (never uploaded, expired, deleted).
    func record(_ id: String) async throws -> AttachmentRecord?

    /// Calls `body` with the stored bytes, chunk by chunk; false when there is no such upload.
    func read(_ id: String, _ body: (ByteBuffer) async throws -> Void) async throws -> Bool

    /// Marks an upload as sent in a message, so that the orphan sweep keeps it.
    func markSent(_ id: String, at: Date) async throws

    /// Removes an upload (bytes and record); removing one that is gone is no error.
    func delete(_ id: String) async throws

    /// Ids of uploads never sent in a message and created before `cutoff` (orphans), and of
    /// incomplete uploads left by a crash before it.
    func expired(before cutoff: Date) async throws -> [String]
}

/// An upload's record: the reference messages carry, plus who uploaded it where and when.
public struct AttachmentRecord: Sendable, Equatable, Codable {
    public var reference: AttachmentReference
    public var conversationID: String
    public var uploaderID: String
    public var createdAt: Date
    /// When a message first carried it; nil: an orphan until then.
    public var sentAt: Date?

    public init(reference: AttachmentReference, conversationID: String, uploaderID: String, createdAt: Date, sentAt: Date? = nil) {
        self.reference = reference
        self.conversationID = conversationID
        self.uploaderID = uploaderID
        self.createdAt = createdAt
        self.sentAt = sentAt
    }
}
