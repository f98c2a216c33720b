import NIOCore
import NIOEmbedded
import Testing

@testable import CSRedis

/// The reply path: bytes → hiredis `redisReader` → `RESPValue`, on an `EmbeddedChannel`.
@Suite("Reply decoding")
struct RedisReplyDecoderTests {
    /// Feeds `chunks` one by one and returns every decoded reply.
    static func decode(_ chunks: [[UInt8]]) throws -> [RESPValue] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RedisReplyDecoder()))
        var replies: [RESPValue] = []
        for chunk in chunks {
            try channel.writeInbound(ByteBuffer(bytes: chunk))
            while let reply = try channel.readInbound(as: RESPValue.self) { replies.append(reply) }
        }
        _ = try channel.finish(acceptAlreadyClosed: true)
        return replies
    }

    static func decode(_ text: String) throws -> [RESPValue] {
        try self.decode([Array(text.utf8)])
    }

    static func bulk(_ string: String) -> RESPValue { .bulkString(ByteBuffer(string: string)) }

    /// A stream covering every reply type, with nesting, nils and binary data.
    static let stream: [UInt8] = Array((
        "+OK\r\n" + "-ERR unknown command 'FOO'\r\n" + ":42\r\n" + ":-7\r\n" + "$5\r\nhello\r\n" + "$0\r\n\r\n" + "$-1\r\n"
            + "*-1\r\n" + "*0\r\n" + "*3\r\n:1\r\n*2\r\n$1\r\na\r\n*1\r\n$-1\r\n-WRONGTYPE bad\r\n"
            + "$6\r\n\r\n\0x\r\n\r\n"
    ).utf8)

    static let streamReplies: [RESPValue] = [
        .simpleString("OK"), .error("ERR unknown command 'FOO'"), .integer(42), .integer(-7), bulk("hello"), bulk(""), .null,
        .null, .array([]), .array([.integer(1), .array([bulk("a"), .array([.null])]), .error("WRONGTYPE bad")]),
        .bulkString(ByteBuffer(bytes: Array("\r\n\0x\r\n".utf8))),
    ]

    @Test func everyReplyType() throws {
        #expect(try Self.decode([Self.stream]) == Self.streamReplies)
    }

    @Test func splitAtEveryByteBoundary() throws {
        let stream = Self.stream
        for split in 0...stream.count {
            let replies = try Self.decode([Array(stream[..<split]), Array(stream[split...])])
            #expect(replies == Self.streamReplies, "split at \(split)")
        }
    }

    @Test func oneByteAtATime() throws {
        #expect(try Self.decode(Self.stream.map { [$0] }) == Self.streamReplies)
    }

    @Test func nilBulkAndNilArray() throws {
        let replies = try Self.decode("$-1\r\n*-1\r\n")
        #expect(replies == [.null, .null])
        #expect(replies.allSatisfy { $0.isNull })
    }

    @Test func deeplyNestedArrays() throws {
        // hiredis 0.14 supports up to 7 levels of nesting.
        let replies = try Self.decode("*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n*1\r\n:5\r\n")
        #expect(replies == [.array([.array([.array([.array([.array([.array([.integer(5)])])])])])])])
    }

    @Test func binarySafeBulkStrings() throws {
        let value: [UInt8] = [0, 13, 10, 255, 0, 36, 45, 49, 13, 10, 0]
        let encoded = Array("$\(value.count)\r\n".utf8) + value + Array("\r\n".utf8)
        let replies = try Self.decode([encoded + encoded])
        #expect(replies == [.bulkString(ByteBuffer(bytes: value)), .bulkString(ByteBuffer(bytes: value))])
    }

    @Test func oneMegabyteBulkInChunks() throws {
        var generator = SystemRandomNumberGenerator()
        var value = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        value.replaceSubrange(1000..<1004, with: Array("\r\n\r\n".utf8))
        let encoded = Array("$\(value.count)\r\n".utf8) + value + Array("\r\n+OK\r\n".utf8)
        let chunks = stride(from: 0, to: encoded.count, by: 65_536).map { Array(encoded[$0..<min($0 + 65_536, encoded.count)]) }
        let replies = try Self.decode(chunks)
        #expect(replies.count == 2)
        #expect(replies.first == .bulkString(ByteBuffer(bytes: value)))
        #expect(replies.last == .simpleString("OK"))
    }

    @Test func protocolErrorIsReported() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RedisReplyDecoder()))
        #expect {
            try channel.writeInbound(ByteBuffer(string: "+OK\r\n!bogus\r\n"))
        } throws: { error in
            (error as? RedisError)?.code == .protocolError
        }
        #expect(try channel.readInbound(as: RESPValue.self) == .simpleString("OK"))
        _ = try? channel.finish(acceptAlreadyClosed: true)
    }

    @Test func partialReplyWaitsForMoreBytes() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RedisReplyDecoder()))
        try channel.writeInbound(ByteBuffer(string: "*2\r\n$3\r\nfoo\r\n"))
        #expect(try channel.readInbound(as: RESPValue.self) == nil)
        try channel.writeInbound(ByteBuffer(string: ":1\r\n"))
        #expect(try channel.readInbound(as: RESPValue.self) == .array([Self.bulk("foo"), .integer(1)]))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}
