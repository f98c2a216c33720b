import CSCore
import Hummingbird
import NIOCore

/// An upload's request body as the store reads it: the bytes already read for the type check
/// (`first`), then the rest of the body, chunk by chunk as it arrives (never collected: memory
/// does not grow with the file). Counts the bytes and throws `too_large` as soon as they pass
/// `limit`, so a body without `Content-Length` (chunked) is cut off there and the store discards
/// what it wrote.
struct AttachmentUploadBody: AsyncSequence {
    typealias Element = ByteBuffer
    let first: ByteBuffer
    let rest: RequestBody.AsyncIterator?
    let limit: Int

    struct AsyncIterator: AsyncIteratorProtocol {
        var first: ByteBuffer?
        var rest: RequestBody.AsyncIterator?
        let limit: Int
        var total = 0

        mutating func next() async throws -> ByteBuffer? {
            let chunk: ByteBuffer
            if let buffered = first {
                first = nil
                chunk = buffered
            } else {
                guard let next = try await rest?.next() else { return nil }
                chunk = next
            }
            total += chunk.readableBytes
            guard total <= limit else { throw AttachmentUploadBody.tooLarge(limit) }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(first: first, rest: rest, limit: limit) }

    static func tooLarge(_ limit: Int) -> ChatError {
        ChatError(.tooLarge, "the file is larger than the limit of \(limit) bytes")
    }

    /// Reads the start of `body` (`AttachmentType.sniffLength` bytes, or all of a shorter body)
    /// and decides the type from it; the body to store goes on from there.
    ///
    /// - Throws: `too_large` past `limit`, `unsupported_type` when the bytes are of no allowed type.
    static func sniffing(_ body: RequestBody, limit: Int) async throws -> (AttachmentType, AttachmentUploadBody) {
        var iterator = body.makeAsyncIterator()
        var first = ByteBuffer()
        var complete = false
        while first.readableBytes < AttachmentType.sniffLength {
            guard var chunk = try await iterator.next() else {
                complete = true
                break
            }
            first.writeBuffer(&chunk)
            if first.readableBytes > limit { throw tooLarge(limit) }
        }
        guard let type = AttachmentType.sniff(first.readableBytesView, complete: complete) else {
            // Read (and drop) the rest up to the limit, so that the answer can keep the connection;
            // past the limit it is `too_large`, and the connection closes.
            var total = first.readableBytes
            while !complete, let chunk = try await iterator.next() {
                total += chunk.readableBytes
                if total > limit { throw tooLarge(limit) }
            }
            throw ChatError(.unsupportedType, "the file is not of an allowed type (PNG, JPEG, GIF, WebP, PDF, plain text)")
        }
        return (type, AttachmentUploadBody(first: first, rest: complete ? nil : iterator, limit: limit))
    }
}
