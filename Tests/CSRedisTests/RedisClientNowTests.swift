import CSRedis
import CSTestSupport
import NIOCore
import Testing

/// `sendNow` / `callFunctionNow`: commands without a task, against a real `redis-server`.
@Suite("RedisClient without a task", .serialized, .timeLimit(.minutes(2)))
struct RedisClientNowTests {
    @Test func nilUntilConnectedThenRepliesAndErrorsLikeSend() async throws {
        try await RedisClientTests.withClient { (client, _) async throws in
            #expect(client.sendNow(["PING"]) == nil, "no connection yet: the caller must use send")
            _ = try await client.send("PING")
            let reply = try #require(client.sendNow(["SET", "k", "v"]))
            #expect(try await reply.get() == .simpleString("OK"))
            #expect(try await client.sendNow(["GET", "k"])?.get().string == "v")
            do {
                _ = try await client.sendNow(["INCR", "k"])?.get()
                Issue.record("an error reply must fail the future")
            } catch let error as RedisError {
                #expect(error.code == .serverError && error.redisErrorPrefix == "ERR", "\(error)")
            }
        }
    }

    @Test func callFunctionNowLoadsALostLibrary() async throws {
        try await RedisClientTests.withClient { (client, _) async throws in
            client.register([RedisClientTests.library])
            try await client.installFunctions()
            let script = RedisClientTests.increment
            #expect(try await client.callFunctionNow(script, keys: ["n"], arguments: ["2"])?.get().int == 2)
            _ = try await client.send("FUNCTION", "FLUSH")
            #expect(try await client.callFunctionNow(script, keys: ["n"], arguments: ["3"])?.get().int == 5, "not found, loaded, called again")
        }
    }

    @Test func aDroppedConnectionFailsWithConnectionClosedAndSendNowIsNilAgain() async throws {
        try await RedisClientTests.withClient { (client, server) async throws in
            _ = try await client.send("PING")
            try await server.stop()
            // Until the client notices, a command fails like `send` would; then there is no live
            // connection and `sendNow` says so.
            for _ in 0..<50 {
                guard let future = client.sendNow(["PING"]) else { break }
                do { _ = try await future.get() } catch let error as RedisError {
                    #expect([.connectionClosed, .commandTimeout].contains(error.code), "\(error)")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(client.sendNow(["PING"]) == nil, "without a live connection sendNow answers nil")
        }
    }
}
