import CSCore
import CSGateway
import CSRedis
import CSTestSupport
import Logging
import Testing

/// `SubscriptionManager` against a real redis-server: one subscription per user with a
/// connection, whatever the interleaving, and a wave of connections shares its SUBSCRIBEs.
@Suite("Subscription manager", .timeLimit(.minutes(2)))
struct SubscriptionManagerTests {
    @Test func aWaveOfUsersSharesItsSubscribeCommands() async throws {
        try await Self.withManager { manager, redis in
            let before = try await Self.calls("subscribe", redis)
            let users = (0..<300).map { "v_wave\($0)" }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for user in users { group.addTask { try await manager.acquire(user) } }
                try await group.waitForAll()
            }
            // Every acquire returned after its subscription was confirmed.
            #expect(try await Self.subscribed(redis) == Set(users.map(RedisKeys.userChannel)))
            let commands = try await Self.calls("subscribe", redis) - before
            #expect(commands >= 1 && commands < users.count, "SUBSCRIBE commands for 300 users at once: \(commands)")
        }
    }

    @Test func aUserStaysSubscribedWhileAnyConnectionHoldsIt() async throws {
        try await Self.withManager { manager, redis in
            let channel = RedisKeys.userChannel("v_ann")
            try await manager.acquire("v_ann")
            try await manager.acquire("v_ann")
            manager.release("v_ann")
            manager.release("v_nobody")  // never acquired: ignored
            try await manager.acquire("v_bob")  // after the releases: they have been applied
            #expect(try await Self.subscribed(redis) == [channel, RedisKeys.userChannel("v_bob")])

            manager.release("v_ann")
            try await manager.acquire("v_carl")
            #expect(try await Self.subscribed(redis) == [RedisKeys.userChannel("v_bob"), RedisKeys.userChannel("v_carl")])

            // A release and a new acquire of the same user in one go: subscribed at the end.
            manager.release("v_bob")
            try await manager.acquire("v_bob")
            #expect(try await Self.subscribed(redis).contains(RedisKeys.userChannel("v_bob")))
        }
    }

    @Test func anAcquireAfterTheLoopStoppedIsRefusedAtOnce() async throws {
        let server = try await RedisServer()
        let logger = Logger(label: "subscription-manager-test")
        let subscriber = RedisSubscriber(configuration: server.configuration, logger: logger)
        let manager = SubscriptionManager(subscriber: subscriber, logger: logger)
        let running = Task { try await manager.run() }
        running.cancel()
        try await running.value
        await #expect(throws: ChatError.self) { try await manager.acquire("v_late") }
        await subscriber.close()
        try await server.stop()
    }

    /// The channels the manager's subscriber connection is subscribed to (`cs:u:*`).
    static func subscribed(_ redis: RedisClient) async throws -> Set<String> {
        let reply = try await redis.send("PUBSUB", "CHANNELS", "cs:u:*")
        return Set((reply.array ?? []).compactMap(\.string))
    }

    /// `calls` of `cmdstat_<command>` in INFO commandstats.
    static func calls(_ command: String, _ redis: RedisClient) async throws -> Int {
        let text = try await redis.send("INFO", "commandstats").string ?? ""
        let prefix = "cmdstat_\(command):calls="
        guard let line = text.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix(prefix) }) else { return 0 }
        return Int(line.dropFirst(prefix.count).prefix { $0.isNumber }) ?? 0
    }

    static func withManager(_ body: (SubscriptionManager, RedisClient) async throws -> Void) async throws {
        let server = try await RedisServer()
        let logger = Logger(label: "subscription-manager-test")
        let subscriber = RedisSubscriber(configuration: server.configuration, logger: logger)
        let manager = SubscriptionManager(subscriber: subscriber, logger: logger)
        let redis = RedisClient(configuration: server.configuration, logger: logger)
        var failure: (any Error)?
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await subscriber.run() }
            group.addTask { try? await manager.run() }
            do {
                // Subscribing before the first connect is only recorded (made on connect): wait
                // for it, so that what PUBSUB shows is what the manager did.
                for await event in subscriber.events {
                    if case .connected = event { break }
                }
                try await body(manager, redis)
            } catch {
                failure = error
            }
            group.cancelAll()
            await subscriber.close()
        }
        await redis.close()
        try await server.stop()
        if let failure { throw failure }
    }
}
