import CSRedis
import CSTestSupport
import Testing

/// Authentication, timeouts and reconnects of `RedisClient` against a real `redis-server`.
@Suite("RedisClient resilience", .serialized, .timeLimit(.minutes(3)))
struct RedisClientResilienceTests {
    static let aclUser = ["--user", "alice", "on", ">wonderland", "~*", "&*", "+@all"]

    @Test func authenticatesAsACLUser() async throws {
        try await RedisServer.with(extraArguments: Self.aclUser) { (server) async throws in
            var configuration = TestSupport.configuration(port: server.port)
            configuration.username = "alice"
            configuration.password = "wonderland"
            let client = RedisClient(configuration: configuration, logger: TestSupport.logger)
            #expect(try await client.send("ACL", "WHOAMI").string == "alice")
            await client.close()

            let url = try RedisConfiguration(url: "redis://alice:wonderland@127.0.0.1:\(server.port)/2")
            let fromURL = RedisClient(configuration: url, logger: TestSupport.logger)
            #expect(try await fromURL.send("ACL", "WHOAMI").string == "alice")
            await fromURL.close()
        }
    }

    @Test func wrongPasswordFailsWithAuthenticationFailed() async throws {
        try await RedisServer.with(extraArguments: Self.aclUser) { (server) async throws in
            var configuration = TestSupport.configuration(port: server.port)
            configuration.username = "alice"
            configuration.password = "wrong"
            let client = RedisClient(configuration: configuration, logger: TestSupport.logger)
            for _ in 0..<2 {
                await #expect {
                    try await client.send("PING")
                } throws: { error in
                    let error = error as? RedisError
                    return error?.code == .authenticationFailed && error?.message.hasPrefix("WRONGPASS") == true
                }
            }
            await client.close()
        }
    }

    @Test func requirepassWithDefaultUser() async throws {
        try await RedisServer.with(extraArguments: ["--requirepass", "s3cret"]) { (server) async throws in
            let anonymous = RedisClient(configuration: TestSupport.configuration(port: server.port), logger: TestSupport.logger)
            await #expect { try await anonymous.send("GET", "x") } throws: { ($0 as? RedisError)?.redisErrorPrefix == "NOAUTH" }
            await anonymous.close()

            var configuration = TestSupport.configuration(port: server.port)
            configuration.password = "s3cret"
            let client = RedisClient(configuration: configuration, logger: TestSupport.logger)
            #expect(try await client.send("ACL", "WHOAMI").string == "default")
            await client.close()
        }
    }

    @Test func commandTimeoutClosesAndReconnects() async throws {
        try await RedisServer.with { (server) async throws in
            let client = RedisClient(
                configuration: TestSupport.configuration(port: server.port, commandTimeout: .seconds(1)),
                logger: TestSupport.logger
            )
            #expect(try await client.send("SET", "k", "v") == .simpleString("OK"))

            // BLPOP answers only after 10 s; a command pipelined behind it fails with the connection.
            async let blocked = Result { () async throws -> RESPValue in try await client.send("BLPOP", "empty-list", 10) }
            try await Task.sleep(for: .milliseconds(100))
            async let queued = Result { () async throws -> RESPValue in try await client.send("GET", "k") }
            let (blockedResult, queuedResult) = await (blocked, queued)
            #expect(throws: RedisError.self) { try blockedResult.get() }
            #expect((blockedResult.error as? RedisError)?.code == .commandTimeout)
            if case .failure(let error) = queuedResult {
                // Written after BLPOP on the same connection: closed together with it.
                #expect((error as? RedisError)?.code == .connectionClosed)
            }

            // The next command runs on a new connection.
            #expect(try await client.send("GET", "k").string == "v")
            #expect(client.reconnectCount == 1)
            await client.close()
        }
    }

    @Test func commandTimeoutWhileServerPaused() async throws {
        try await RedisServer.with { (server) async throws in
            let admin = RedisClient(configuration: server.configuration, logger: TestSupport.logger)
            let client = RedisClient(
                configuration: TestSupport.configuration(port: server.port, commandTimeout: .seconds(1)),
                logger: TestSupport.logger
            )
            _ = try await client.send("SET", "k", "v")
            #expect(try await admin.send("CLIENT", "PAUSE", 3000, "ALL") == .simpleString("OK"))
            await #expect { try await client.send("GET", "k") } throws: { ($0 as? RedisError)?.code == .commandTimeout }
            try await TestSupport.eventually("commands to work after the pause") {
                try await client.send("GET", "k").string == "v"
            }
            #expect(client.reconnectCount >= 1)
            await client.close()
            await admin.close()
        }
    }

    @Test func reconnectsAfterServerRestart() async throws {
        try await RedisServer.with(appendOnly: true) { (server) async throws in
            let client = RedisClient(configuration: TestSupport.configuration(port: server.port), logger: TestSupport.logger)
            _ = try await client.send("SET", "persisted", "yes")
            let port = server.port

            try await server.restart()
            #expect(server.port == port)
            // Commands written before the client noticed the drop may fail; the client reconnects by itself.
            try await TestSupport.eventually("the client to reconnect") {
                try await client.send("GET", "persisted").string == "yes"
            }
            #expect(client.reconnectCount == 1)
            #expect(try await client.send("INCR", "after-restart").int == 1)

            await server.kill()
            try await server.start()
            try await TestSupport.eventually("the client to reconnect after SIGKILL") {
                try await client.send("GET", "persisted").string == "yes"
            }
            #expect(client.reconnectCount == 2)
            await client.close()
        }
    }

    @Test func unavailableWhileServerIsDown() async throws {
        try await RedisServer.with { (server) async throws in
            let client = RedisClient(
                configuration: TestSupport.configuration(port: server.port, connectTimeout: .milliseconds(300)),
                logger: TestSupport.logger
            )
            _ = try await client.send("PING")
            await server.kill()
            try await TestSupport.eventually("commands to fail with unavailable") {
                do {
                    _ = try await client.send("PING")
                    return false
                } catch let error as RedisError {
                    return error.code == .unavailable
                }
            }
            let start = ContinuousClock.now
            await #expect { try await client.send("PING") } throws: { ($0 as? RedisError)?.code == .unavailable }
            #expect(ContinuousClock.now - start < .seconds(5))

            try await server.start()
            try await TestSupport.eventually("the client to reconnect") {
                try await client.send("PING") == .simpleString("PONG")
            }
            await client.close()
        }
    }

    @Test func neverStartedServerIsUnavailable() async throws {
        let port = try FreePort.next()
        let client = RedisClient(
            configuration: TestSupport.configuration(port: port, connectTimeout: .milliseconds(200)),
            logger: TestSupport.logger
        )
        await #expect { try await client.send("PING") } throws: { error in
            let error = error as? RedisError
            return error?.code == .unavailable && error?.message.contains("127.0.0.1:\(port)") == true
        }
        await client.close()
    }
}

extension Result {
    var error: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
