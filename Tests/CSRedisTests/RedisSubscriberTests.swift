import CSRedis
import CSTestSupport
import NIOCore
import Testing

/// `RedisSubscriber` against a real `redis-server`.
@Suite("RedisSubscriber integration", .serialized, .timeLimit(.minutes(3)))
struct RedisSubscriberTests {
    /// Starts a server, a running subscriber (with an event collector) and a publishing client.
    static func withSubscriber(
        appendOnly: Bool = false,
        _ body: (RedisSubscriber, EventCollector, RedisClient, RedisServer) async throws -> Void
    ) async throws {
        let server = try await RedisServer(appendOnly: appendOnly)
        let subscriber = RedisSubscriber(configuration: TestSupport.configuration(port: server.port), logger: TestSupport.logger)
        let events = EventCollector(subscriber.events)
        let running = Task { try await subscriber.run() }
        let publisher = RedisClient(configuration: TestSupport.configuration(port: server.port), logger: TestSupport.logger)
        var failure: (any Error)?
        do {
            try await body(subscriber, events, publisher, server)
        } catch {
            failure = error
        }
        await subscriber.close()
        try await running.value
        await publisher.close()
        try? await server.stop()
        if let failure { throw failure }
    }

    static func message(_ channel: String, _ payload: String) -> RedisSubscriberEvent {
        .message(channel: channel, payload: ByteBuffer(string: payload))
    }

    static func publish(_ client: RedisClient, _ channel: String, _ payload: String) async throws -> Int? {
        try await client.send("PUBLISH", RedisArgument(channel), RedisArgument(payload)).int
    }

    @Test func receivesMessagesAndStopsAfterUnsubscribe() async throws {
        try await Self.withSubscriber { subscriber, events, publisher, _ in
            #expect(try await events.next() == .connected(isReconnect: false))
            try await subscriber.subscribe(["news", "chat"])
            #expect(try await Self.publish(publisher, "news", "hello") == 1)
            #expect(try await Self.publish(publisher, "chat", "bin\r\n\0") == 1)
            #expect(try await events.next() == Self.message("news", "hello"))
            #expect(try await events.next() == Self.message("chat", "bin\r\n\0"))

            try await subscriber.unsubscribe(["news"])
            #expect(subscriber.subscribedChannels == ["chat"])
            #expect(try await Self.publish(publisher, "news", "ignored") == 0)
            #expect(try await Self.publish(publisher, "chat", "still here") == 1)
            #expect(try await events.next() == Self.message("chat", "still here"))
        }
    }

    @Test func patternSubscriptions() async throws {
        try await Self.withSubscriber { subscriber, events, publisher, _ in
            #expect(try await events.next() == .connected(isReconnect: false))
            try await subscriber.psubscribe(["room:*"])
            #expect(try await Self.publish(publisher, "room:42", "hi") == 1)
            #expect(try await events.next() == .pmessage(pattern: "room:*", channel: "room:42", payload: ByteBuffer(string: "hi")))
            try await subscriber.punsubscribe(["room:*"])
            #expect(try await Self.publish(publisher, "room:42", "gone") == 0)
        }
    }

    @Test func subscriptionsRecordedBeforeConnectingAreApplied() async throws {
        let server = try await RedisServer()
        let subscriber = RedisSubscriber(configuration: TestSupport.configuration(port: server.port), logger: TestSupport.logger)
        let events = EventCollector(subscriber.events)
        try await subscriber.subscribe(["early"])
        try await subscriber.psubscribe(["early:*"])
        let running = Task { try await subscriber.run() }
        #expect(try await events.next() == .connected(isReconnect: false))
        let publisher = RedisClient(configuration: server.configuration, logger: TestSupport.logger)
        #expect(try await Self.publish(publisher, "early", "x") == 1)
        #expect(try await events.next() == Self.message("early", "x"))
        await subscriber.close()
        try await running.value
        try await TestSupport.eventually("the event stream to finish") { events.isFinished }
        await #expect { try await subscriber.subscribe(["late"]) } throws: { ($0 as? RedisError)?.code == .clientClosed }
        await publisher.close()
        try await server.stop()
    }

    @Test func resubscribesAfterServerRestart() async throws {
        try await Self.withSubscriber(appendOnly: true) { subscriber, events, publisher, server in
            #expect(try await events.next() == .connected(isReconnect: false))
            try await subscriber.subscribe(["orders"])
            try await subscriber.psubscribe(["conv:*"])
            #expect(try await Self.publish(publisher, "orders", "before") == 1)
            #expect(try await events.next() == Self.message("orders", "before"))

            try await server.restart()
            #expect(try await events.next() == .disconnected)
            #expect(try await events.next() == .connected(isReconnect: true))
            try await TestSupport.eventually("the publisher to reconnect") {
                try await Self.publish(publisher, "orders", "after") == 1
            }
            #expect(try await events.next() == Self.message("orders", "after"))
            #expect(try await Self.publish(publisher, "conv:7", "pattern after") == 1)
            #expect(try await events.next() == .pmessage(pattern: "conv:*", channel: "conv:7", payload: ByteBuffer(string: "pattern after")))
        }
    }

    @Test func changesWhileDisconnectedAreAppliedOnReconnect() async throws {
        try await Self.withSubscriber { subscriber, events, publisher, server in
            #expect(try await events.next() == .connected(isReconnect: false))
            try await subscriber.subscribe(["a", "b"])
            await server.kill()
            #expect(try await events.next() == .disconnected)
            // Recorded while disconnected; returns without waiting for Redis.
            try await subscriber.unsubscribe(["a"])
            try await subscriber.subscribe(["c"])
            try await server.start()
            #expect(try await events.next() == .connected(isReconnect: true))
            try await TestSupport.eventually("the publisher to reconnect") {
                try await Self.publish(publisher, "c", "1") == 1
            }
            #expect(try await Self.publish(publisher, "a", "2") == 0)
            #expect(try await Self.publish(publisher, "b", "3") == 1)
            #expect(try await events.next() == Self.message("c", "1"))
            #expect(try await events.next() == Self.message("b", "3"))
        }
    }

    @Test func rejectedSubscriptionThrowsAndIsNotRecorded() async throws {
        let server = try await RedisServer(extraArguments: ["--user", "limited", "on", ">pw", "~*", "&allowed:*", "+@all"])
        var configuration = TestSupport.configuration(port: server.port)
        configuration.username = "limited"
        configuration.password = "pw"
        configuration.clientName = "cs-subscriber"
        let subscriber = RedisSubscriber(configuration: configuration, logger: TestSupport.logger)
        let events = EventCollector(subscriber.events)
        let running = Task { try await subscriber.run() }
        #expect(try await events.next() == .connected(isReconnect: false))
        try await subscriber.subscribe(["allowed:1"])
        await #expect { try await subscriber.subscribe(["forbidden"]) } throws: { ($0 as? RedisError)?.redisErrorPrefix == "NOPERM" }
        #expect(subscriber.subscribedChannels == ["allowed:1"])
        await subscriber.close()
        try await running.value
        try await server.stop()
    }

    @Test func cancellingRunClosesTheSubscriber() async throws {
        let server = try await RedisServer()
        let subscriber = RedisSubscriber(configuration: TestSupport.configuration(port: server.port), logger: TestSupport.logger)
        let events = EventCollector(subscriber.events)
        let running = Task { try await subscriber.run() }
        #expect(try await events.next() == .connected(isReconnect: false))
        running.cancel()
        try await running.value
        try await TestSupport.eventually("the event stream to finish") { events.isFinished }
        try await server.stop()
    }
}
