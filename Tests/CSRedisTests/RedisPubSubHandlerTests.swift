import Foundation
import NIOCore
import NIOEmbedded
import Testing

@testable import CSRedis

/// Routing of pushes and confirmations in `RedisPubSubHandler`, on an `EmbeddedChannel`.
@Suite("Pub/sub handler")
struct RedisPubSubHandlerTests {
    final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var received: [RedisSubscriberEvent] = []
        func append(_ event: RedisSubscriberEvent) { self.lock.withLock { self.received.append(event) } }
        var all: [RedisSubscriberEvent] { self.lock.withLock { self.received } }
    }

    static func makeChannel(events: Events, pingInterval: TimeAmount? = nil) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers(
            ByteToMessageHandler(RedisReplyDecoder()),
            RedisPubSubHandler(commandTimeout: .seconds(2), pingInterval: pingInterval) { events.append($0) }
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        return channel
    }

    static func request(_ arguments: [RedisArgument], _ channel: EmbeddedChannel) throws -> EventLoopFuture<Void> {
        let promise = channel.eventLoop.makePromise(of: Void.self)
        try channel.writeOutbound(RedisPubSubRequest(arguments: arguments, expectedReplies: arguments.count - 1, promise: promise))
        return promise.futureResult
    }

    @Test func routesMessagesAndCountsConfirmations() async throws {
        let events = Events()
        let channel = try Self.makeChannel(events: events)
        let subscribed = try Self.request(["SUBSCRIBE", "a", "b"], channel)
        try channel.writeInbound(ByteBuffer(string: "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"))
        // A message may arrive before the last confirmation.
        try channel.writeInbound(ByteBuffer(string: "*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$4\r\nhi\r\n\r\n"))
        let confirmed = Events()
        subscribed.whenSuccess { confirmed.append(.disconnected) }
        #expect(confirmed.all.isEmpty)
        try channel.writeInbound(ByteBuffer(string: "*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"))
        try await subscribed.get()

        let patterned = try Self.request(["PSUBSCRIBE", "room:*"], channel)
        try channel.writeInbound(ByteBuffer(string: "*3\r\n$10\r\npsubscribe\r\n$6\r\nroom:*\r\n:3\r\n"))
        try await patterned.get()
        try channel.writeInbound(ByteBuffer(string: "*4\r\n$8\r\npmessage\r\n$6\r\nroom:*\r\n$6\r\nroom:1\r\n$3\r\n\0\r\n\r\n"))

        #expect(events.all == [
            .message(channel: "a", payload: ByteBuffer(string: "hi\r\n")),
            .pmessage(pattern: "room:*", channel: "room:1", payload: ByteBuffer(bytes: [0, 13, 10])),
        ])
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func errorReplyFailsTheRequest() async throws {
        let channel = try Self.makeChannel(events: Events())
        let subscribed = try Self.request(["SUBSCRIBE", "secret", "other"], channel)
        let next = try Self.request(["SUBSCRIBE", "c"], channel)
        try channel.writeInbound(ByteBuffer(string: "-NOPERM this user has no permissions to access one of the channels\r\n"))
        await #expect { try await subscribed.get() } throws: { ($0 as? RedisError)?.redisErrorPrefix == "NOPERM" }
        try channel.writeInbound(ByteBuffer(string: "*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:1\r\n"))
        try await next.get()
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test func healthCheckPingsAndClosesWhenUnanswered() async throws {
        let channel = try Self.makeChannel(events: Events(), pingInterval: .seconds(10))
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(String(buffer: try #require(try channel.readOutbound(as: ByteBuffer.self))) == "*1\r\n$4\r\nPING\r\n")
        try channel.writeInbound(ByteBuffer(string: "*2\r\n$4\r\npong\r\n$0\r\n\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        #expect(try channel.readOutbound(as: ByteBuffer.self) != nil)
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))  // no pong within commandTimeout (2 s)
        #expect(!channel.isActive)
    }

    @Test func closingFailsPendingRequests() async throws {
        let channel = try Self.makeChannel(events: Events())
        let subscribed = try Self.request(["SUBSCRIBE", "a"], channel)
        _ = try channel.finish(acceptAlreadyClosed: true)
        await #expect { try await subscribed.get() } throws: { ($0 as? RedisError)?.code == .connectionClosed }
    }

    @Test func nonMessageArraysAreNotEvents() {
        #expect(RedisPubSubHandler.messageEvent(.array([.bulkString(ByteBuffer(string: "pong")), .bulkString(ByteBuffer())])) == nil)
        #expect(RedisPubSubHandler.messageEvent(.array([.bulkString(ByteBuffer(string: "subscribe")), .bulkString(ByteBuffer(string: "a")), .integer(1)])) == nil)
        #expect(RedisPubSubHandler.messageEvent(.simpleString("OK")) == nil)
    }
}
