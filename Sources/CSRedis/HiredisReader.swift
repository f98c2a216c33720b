import CHiredis
import NIOCore

/// Owns one hiredis `redisReader` and turns the bytes fed to it into ``RESPValue``s.
///
/// Not thread-safe: confine an instance to one event loop (it lives inside a channel handler).
/// After a protocol error the reader is unusable and every further call throws the same error.
final class HiredisReader {
    private let reader: UnsafeMutablePointer<redisReader>
    private var failure: RedisError?

    init() {
        guard let reader = redisReaderCreate() else {
            fatalError("hiredis: redisReaderCreate failed (out of memory)")
        }
        self.reader = reader
    }

    deinit {
        redisReaderFree(self.reader)
    }

    /// Appends the readable bytes of `buffer` to the reader's input (hiredis copies them).
    func feed(_ buffer: ByteBuffer) throws {
        if let failure = self.failure { throw failure }
        let status = buffer.withUnsafeReadableBytes { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return REDIS_OK }
            return redisReaderFeed(self.reader, base.assumingMemoryBound(to: CChar.self), bytes.count)
        }
        if status != REDIS_OK { throw self.recordFailure() }
    }

    /// The next complete reply, or `nil` if more bytes are needed.
    func nextReply(allocator: ByteBufferAllocator) throws -> RESPValue? {
        if let failure = self.failure { throw failure }
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(self.reader, &raw) == REDIS_OK else { throw self.recordFailure() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return Self.convert(raw.assumingMemoryBound(to: redisReply.self).pointee, allocator: allocator)
    }

    private func recordFailure() -> RedisError {
        let reason = withUnsafeBytes(of: &self.reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        let error = RedisError(code: .protocolError, message: "invalid RESP from server: \(reason)")
        self.failure = error
        return error
    }

    /// Converts a hiredis reply tree (RESP2 types only, as produced by hiredis 0.14) into a `RESPValue`.
    static func convert(_ reply: redisReply, allocator: ByteBufferAllocator) -> RESPValue {
        func bytes() -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(start: reply.str, count: reply.str == nil ? 0 : reply.len)
        }
        switch reply.type {
        case REDIS_REPLY_STRING:
            return .bulkString(allocator.buffer(bytes: bytes()))
        case REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(reply.integer))
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            guard let elements = reply.element else { return .array([]) }
            var values: [RESPValue] = []
            values.reserveCapacity(reply.elements)
            for index in 0..<reply.elements {
                if let element = elements[index] {
                    values.append(convert(element.pointee, allocator: allocator))
                } else {
                    values.append(.null)
                }
            }
            return .array(values)
        default:
            // hiredis 0.14 produces no other types; treat anything new as nil rather than crash.
            return .null
        }
    }
}
