import CSRedis
import CSTestSupport
import NIOCore
import Testing

/// `sendNow` / `evalScriptNow`: commands without a task, against a real `redis-server`.
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

    @Test func evalScriptNowLoadsAnUnknownScript() async throws {
        try await RedisClientTests.withClient { (client, _) async throws in
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            _ = try await client.send("SCRIPT", "FLUSH")
            #expect(try await client.evalScriptNow(script, keys: ["n"], arguments: ["2"])?.get().int == 2, "NOSCRIPT, then EVAL")
            #expect(try await client.evalScriptNow(script, keys: ["n"], arguments: ["3"])?.get().int == 5, "cached now: EVALSHA")
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
