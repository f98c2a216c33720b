import NIOCore
import NIOEmbedded
import Testing

@testable import CSRedis

/// Encoding, pipelining and failure handling of `RedisCommandHandler` on an `EmbeddedChannel`.
@Suite("Command handler")
struct RedisCommandHandlerTests {
    static func makeChannel(commandTimeout: TimeAmount = .seconds(5)) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(RedisReplyDecoder()),
            RedisCommandHandler(commandTimeout: commandTimeout)
        )
        return channel
    }

    static func written(_ channel: EmbeddedChannel) throws -> String {
        var all = ByteBuffer()
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) { all.writeBuffer(&buffer) }
        return String(buffer: all)
    }

    static func encode(_ arguments: [RedisArgument]) throws -> [UInt8] {
        var buffer = ByteBuffer()
        try RedisCommandEncoder.encode(arguments, into: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test func encodesCommandsAsRESP() throws {
        #expect(try Self.encode(["PING"]) == Array("*1\r\n$4\r\nPING\r\n".utf8))
        #expect(try Self.encode(["SET", "key", "value", "EX", 60]) ==
            Array("*5\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n$2\r\nEX\r\n$2\r\n60\r\n".utf8))
        #expect(try Self.encode(["SET", "k", ""]) == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n".utf8))
        #expect(try Self.encode(["ECHO", "héllo"]) == Array("*2\r\n$4\r\nECHO\r\n$6\r\nhéllo\r\n".utf8))
    }

    @Test func encodesBinaryArgumentsWithExactLengths() throws {
        let binary: [UInt8] = [0, 13, 10, 0, 255, 42]
        let expected = Array("*3\r\n$3\r\nSET\r\n$2\r\n\r\n\r\n$6\r\n".utf8) + binary + Array("\r\n".utf8)
        #expect(try Self.encode(["SET", RedisArgument(ByteBuffer(string: "\r\n")), RedisArgument(binary)]) == expected)
    }

    @Test func encodesLargeArgument() throws {
        let value = [UInt8](repeating: 0x61, count: 1 << 20)
        let encoded = try Self.encode(["SET", "big", RedisArgument(value)])
        let header = Array("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$1048576\r\n".utf8)
        #expect(encoded.count == header.count + value.count + 2)
        #expect(Array(encoded.prefix(header.count)) == header)
    }

    @Test func rejectsEmptyCommand() throws {
        #expect { try Self.encode([]) } throws: { ($0 as? RedisError)?.code == .invalidCommand }
    }

    @Test func pipelinedRepliesCompleteTheRightPromisesInOrder() async throws {
        let channel = try Self.makeChannel()
        let promises = (0..<3).map { _ in channel.eventLoop.makePromise(of: RESPValue.self) }
        try channel.writeOutbound(RedisRequest.command(["GET", "a"], promises[0]))
        try channel.writeOutbound(RedisRequest.command(["INCR", "b"], promises[1]))
        let batch = channel.eventLoop.makePromise(of: [RESPValue].self)
        try channel.writeOutbound(RedisRequest.pipeline([["SET", "c", "1"], ["LPUSH", "c", "x"]], batch))
        try channel.writeOutbound(RedisRequest.command(["GET", "d"], promises[2]))
        #expect(try Self.written(channel) ==
            "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n"
            + "*3\r\n$3\r\nSET\r\n$1\r\nc\r\n$1\r\n1\r\n*3\r\n$5\r\nLPUSH\r\n$1\r\nc\r\n$1\r\nx\r\n"
            + "*2\r\n$3\r\nGET\r\n$1\r\nd\r\n")

        // Replies arrive split across reads, several per read.
        try channel.writeInbound(ByteBuffer(string: "$1\r\nA\r\n:7\r\n+O"))
        #expect(try await promises[0].futureResult.get() == .bulkString(ByteBuffer(string: "A")))
        #expect(try await promises[1].futureResult.get() == .integer(7))
        try channel.writeInbound(ByteBuffer(string: "K\r\n-WRONGTYPE Operation against a key\r\n$-1\r\n"))
        #expect(try await batch.futureResult.get() == [.simpleString("OK"), .error("WRONGTYPE Operation against a key")])
        #expect(try await promises[2].futureResult.get() == .null)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func errorReplyIsDeliveredAsValue() async throws {
        let channel = try Self.makeChannel()
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        try channel.writeOutbound(RedisRequest.command(["EVALSHA", "abc", 0], promise))
        try channel.writeInbound(ByteBuffer(string: "-NOSCRIPT No matching script. Please use EVAL.\r\n"))
        let reply = try await promise.futureResult.get()
        #expect(reply == .error("NOSCRIPT No matching script. Please use EVAL."))
        #expect(reply.redisError?.redisErrorPrefix == "NOSCRIPT")
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func closingFailsPendingCommands() async throws {
        let channel = try Self.makeChannel()
        let first = channel.eventLoop.makePromise(of: RESPValue.self)
        let second = channel.eventLoop.makePromise(of: RESPValue.self)
        try channel.writeOutbound(RedisRequest.command(["GET", "a"], first))
        try channel.writeOutbound(RedisRequest.command(["GET", "b"], second))
        try channel.writeInbound(ByteBuffer(string: "$1\r\n1\r\n"))
        _ = try channel.finish(acceptAlreadyClosed: true)
        #expect(try await first.futureResult.get() == .bulkString(ByteBuffer(string: "1")))
        await #expect { try await second.futureResult.get() } throws: { ($0 as? RedisError)?.code == .connectionClosed }
    }

    @Test func closeEventFailsPendingWithGivenError() async throws {
        let channel = try Self.makeChannel()
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        try channel.writeOutbound(RedisRequest.command(["BLPOP", "q", 0], promise))
        channel.pipeline.triggerUserOutboundEvent(
            RedisCommandHandler.CloseEvent(error: RedisError(code: .clientClosed, message: "closed")), promise: nil
        )
        await #expect { try await promise.futureResult.get() } throws: { ($0 as? RedisError)?.code == .clientClosed }
        #expect(!channel.isActive)
        // Writes after the failure fail immediately.
        let late = channel.eventLoop.makePromise(of: RESPValue.self)
        try? channel.writeOutbound(RedisRequest.command(["PING"], late))
        await #expect { try await late.futureResult.get() } throws: { $0 is RedisError }
    }

    @Test func protocolErrorFailsPendingAndCloses() async throws {
        let channel = try Self.makeChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        try channel.writeOutbound(RedisRequest.command(["GET", "a"], promise))
        try channel.writeInbound(ByteBuffer(string: "?what\r\n"))
        await #expect { try await promise.futureResult.get() } throws: { ($0 as? RedisError)?.code == .protocolError }
        #expect(!channel.isActive)
    }

    @Test func unexpectedReplyIsAProtocolError() throws {
        let channel = try Self.makeChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n"))
        #expect(!channel.isActive)
    }

    @Test func commandTimeoutFailsHeadAndClosesConnection() async throws {
        let channel = try Self.makeChannel(commandTimeout: .seconds(1))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        let first = channel.eventLoop.makePromise(of: RESPValue.self)
        let second = channel.eventLoop.makePromise(of: RESPValue.self)
        let third = channel.eventLoop.makePromise(of: RESPValue.self)
        try channel.writeOutbound(RedisRequest.command(["PING"], first))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(600))
        try channel.writeOutbound(RedisRequest.command(["BLPOP", "q", 0], second))
        try channel.writeInbound(ByteBuffer(string: "+PONG\r\n"))
        #expect(try await first.futureResult.get() == .simpleString("PONG"))
        // `second` was written at t=0.6 s: still fine at t=1.5 s, timed out at t=1.7 s.
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(900))
        #expect(channel.isActive)
        try channel.writeOutbound(RedisRequest.command(["GET", "x"], third))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        await #expect { try await second.futureResult.get() } throws: { ($0 as? RedisError)?.code == .commandTimeout }
        await #expect { try await third.futureResult.get() } throws: { ($0 as? RedisError)?.code == .connectionClosed }
        #expect(!channel.isActive)
    }
}
