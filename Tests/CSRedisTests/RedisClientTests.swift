import CSRedis
import CSTestSupport
import NIOCore
import Testing

/// `RedisClient` against a real `redis-server` started by the test.
@Suite("RedisClient integration", .serialized, .timeLimit(.minutes(2)))
struct RedisClientTests {
    /// Starts a server and a client for it, runs `body`, then closes both.
    static func withClient(_ body: (RedisClient, RedisServer) async throws -> Void) async throws {
        try await self.withClient(configure: { _ in }, body)
    }

    static func withClient(
        configure: (inout RedisConfiguration) -> Void,
        _ body: (RedisClient, RedisServer) async throws -> Void
    ) async throws {
        let server = try await RedisServer()
        var configuration = TestSupport.configuration(port: server.port)
        configure(&configuration)
        let client = RedisClient(configuration: configuration, logger: TestSupport.logger)
        do {
            try await body(client, server)
        } catch {
            await client.close()
            try? await server.stop()
            throw error
        }
        await client.close()
        try await server.stop()
    }

    @Test func basicCommands() async throws {
        try await Self.withClient { (client, _) async throws in
            #expect(try await client.send("PING") == .simpleString("PONG"))
            #expect(try await client.send("SET", "greeting", "hello") == .simpleString("OK"))
            #expect(try await client.send("GET", "greeting").string == "hello")
            #expect(try await client.send("GET", "missing").isNull)
            #expect(try await client.send("INCRBY", "counter", 5).int == 5)
            #expect(try await client.send(["RPUSH", "list", "a", "b", "c"]).int == 3)
            #expect(try await client.send("LRANGE", "list", 0, -1).array?.compactMap(\.string) == ["a", "b", "c"])
            #expect(try await client.send("HGETALL", "nohash") == .array([]))
            #expect(try await client.send("DEL", "greeting", "counter").int == 2)
            #expect(client.reconnectCount == 0)
        }
    }

    @Test func binarySafeValues() async throws {
        try await Self.withClient { (client, _) async throws in
            let binary: [UInt8] = [0, 13, 10, 255, 0, 42, 13, 10]
            _ = try await client.send("SET", RedisArgument([1, 0, 13, 10]), RedisArgument(binary))
            #expect(try await client.send("GET", RedisArgument([1, 0, 13, 10])) == .bulkString(ByteBuffer(bytes: binary)))

            var generator = SystemRandomNumberGenerator()
            let big = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try await client.send("SET", "big", RedisArgument(big))
            #expect(try await client.send("GET", "big") == .bulkString(ByteBuffer(bytes: big)))
            #expect(try await client.send("STRLEN", "big").int == 1 << 20)
        }
    }

    @Test func thousandConcurrentSendsArePipelinedOnOneConnection() async throws {
        try await Self.withClient { (client, _) async throws in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<1000 {
                    group.addTask {
                        let value = "value-\(index)-" + String(repeating: "x", count: index % 50)
                        #expect(try await client.send("SET", RedisArgument("key:\(index)"), RedisArgument(value)) == .simpleString("OK"))
                        #expect(try await client.send("GET", RedisArgument("key:\(index)")).string == value)
                        _ = try await client.send("INCR", "total")
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await client.send("GET", "total").int == 1000)
            #expect(try await client.send("DBSIZE").int == 1001)
            let info = try await client.send("INFO", "clients").string ?? ""
            #expect(info.contains("connected_clients:1\r\n"), "\(info)")
            #expect(client.reconnectCount == 0)
        }
    }

    @Test func pipelineReturnsRepliesInOrderWithErrorsInSlots() async throws {
        try await Self.withClient { (client, _) async throws in
            let replies = try await client.pipeline([
                ["SET", "p", "1"], ["INCR", "p"], ["LPUSH", "p", "x"], ["GET", "p"], ["GET", "nothing"],
            ])
            #expect(replies.count == 5)
            #expect(replies[0] == .simpleString("OK"))
            #expect(replies[1] == .integer(2))
            #expect(replies[2].redisError?.redisErrorPrefix == "WRONGTYPE")
            #expect(replies[3].string == "2")
            #expect(replies[4] == .null)
            #expect(try await client.pipeline([]) == [])

            let transaction = try await client.pipeline([["MULTI"], ["INCR", "p"], ["INCR", "p"], ["EXEC"]])
            #expect(transaction.last == .array([.integer(3), .integer(4)]))
        }
    }

    @Test func errorRepliesAreThrownWithPrefix() async throws {
        try await Self.withClient { (client, _) async throws in
            _ = try await client.send("SET", "string", "x")
            await #expect {
                try await client.send("LPUSH", "string", "y")
            } throws: { error in
                let error = error as? RedisError
                return error?.code == .serverError && error?.redisErrorPrefix == "WRONGTYPE"
                    && error?.message.hasPrefix("WRONGTYPE Operation against a key") == true
            }
            await #expect {
                try await client.send("NOSUCHCOMMAND", "a")
            } throws: { ($0 as? RedisError)?.redisErrorPrefix == "ERR" }
            await #expect {
                try await client.send([])
            } throws: { ($0 as? RedisError)?.code == .invalidCommand }
            // The connection is still usable after error replies.
            #expect(try await client.send("GET", "string").string == "x")
            #expect(client.reconnectCount == 0)
        }
    }

    static let increment = RedisScript("t_increment", "return redis.call('INCRBY', KEYS[1], ARGV[1])")
    static let concat = RedisScript("t_concat", "return ARGV[1] .. KEYS[1]")
    static let library = RedisFunctionLibrary(name: "t_lib", functions: [increment, concat])

    @Test func installedFunctionsAreCalledAndLoadedAgainWhenRedisLostThem() async throws {
        try await Self.withClient { (client, _) async throws in
            client.register([Self.library])
            try await client.installFunctions()
            #expect(try await client.callFunction(Self.increment, keys: ["n"], arguments: [5]).int == 5)
            #expect(try await client.callFunction(Self.increment, keys: ["n"], arguments: [5]).int == 10)
            _ = try await client.send("FUNCTION", "FLUSH")
            #expect(try await client.callFunction(Self.increment, keys: ["n"], arguments: [1]).int == 11, "loaded again")
            let listed = try await client.send("FUNCTION", "LIST", "LIBRARYNAME", "t_lib", "WITHCODE")
            #expect(RedisClient.loadedCode(of: "t_lib", in: listed) == Self.library.code)

            // A function nobody registered is an error, not a silent reload.
            let stray = RedisScript("t_stray", "return 1")
            await #expect {
                try await client.callFunction(stray)
            } throws: { ($0 as? RedisError)?.isMissingFunction == true }
            await #expect {
                try await client.callFunction(RedisScript("t_bad", "return redis.call('NOPE')"))
            } throws: { ($0 as? RedisError)?.code == .serverError }
        }
    }

    @Test func installLoadsOnlyWhatIsMissingOrOfAnotherVersion() async throws {
        try await Self.withClient { (client, _) async throws in
            let old = RedisFunctionLibrary(name: "t_lib", functions: [RedisScript("t_increment", "return 0")])
            _ = try await client.send(old.loadCommand)
            client.register([Self.library])
            try await client.installFunctions()
            #expect(try await client.callFunction(Self.increment, keys: ["n"], arguments: [2]).int == 2, "the old version was replaced")
            // The same version again: nothing to load (FUNCTION STATS counts no new library).
            _ = try await client.send("CONFIG", "RESETSTAT")
            try await client.installFunctions()
            let commands = try await client.send("INFO", "commandstats").string ?? ""
            #expect(!commands.contains("cmdstat_function|load"), "loaded although current: \(commands)")
        }
    }

    @Test func aRoleThatMayNotLoadFunctionsGetsAClearError() async throws {
        try await Self.withClient { (client, server) async throws in
            _ = try await client.send("ACL", "SETUSER", "caller", "on", ">caller-password", "~*", "-@all", "+fcall|t_increment", "+incrby", "+function|list", "+hello", "+auth", "+client|setname", "+ping", "+select")
            var configuration = TestSupport.configuration(port: server.port)
            configuration.username = "caller"
            configuration.password = "caller-password"
            let caller = RedisClient(configuration: configuration, logger: TestSupport.logger)
            caller.register([Self.library])
            await #expect {
                try await caller.installFunctions()
            } throws: { error in
                guard let error = error as? RedisError, error.code == .functionsNotLoaded else { return false }
                return error.message.contains("cs-admin functions load") && error.message.contains("t_lib")
            }
            // Loaded by someone allowed to: the caller installs (nothing to do) and may call only its function.
            _ = try await client.send(Self.library.loadCommand)
            try await caller.installFunctions()
            #expect(try await caller.callFunction(Self.increment, keys: ["n"], arguments: [3]).int == 3)
            await #expect {
                try await caller.callFunction(Self.concat, keys: ["k"], arguments: ["a"])
            } throws: { ($0 as? RedisError)?.redisErrorPrefix == "NOPERM" }
            await #expect {
                try await caller.send("EVAL", "return 1", "0")
            } throws: { ($0 as? RedisError)?.redisErrorPrefix == "NOPERM" }
            await caller.close()
        }
    }

    @Test func functionCallsInAPipeline() async throws {
        try await Self.withClient { (client, _) async throws in
            client.register([Self.library])
            try await client.installFunctions()
            let replies = try await client.pipeline([
                Self.concat.callCommand(keys: ["k"], arguments: ["a"]), Self.concat.callCommand(keys: ["z"], arguments: ["b"]),
            ])
            #expect(replies.map(\.string) == ["ak", "bz"])
            _ = try await client.send("FUNCTION", "FLUSH")
            let afterFlush = try await client.pipeline([Self.concat.callCommand(keys: ["k"], arguments: ["a"])])
            #expect(afterFlush.first?.redisError?.isMissingFunction == true)
            #expect(try await client.reloadFunctions(for: Self.concat))
            #expect(try await client.pipeline([Self.concat.callCommand(keys: ["k"], arguments: ["a"])]).first?.string == "ak")
        }
    }

    @Test func databaseAndClientName() async throws {
        try await Self.withClient(configure: { $0.database = 3; $0.clientName = "cs-test-client" }) { (client, server) async throws in
            _ = try await client.send("SET", "in-db-3", "yes")
            #expect(try await client.send("CLIENT", "GETNAME").string == "cs-test-client")
            let other = RedisClient(configuration: TestSupport.configuration(port: server.port), logger: TestSupport.logger)
            #expect(try await other.send("EXISTS", "in-db-3").int == 0)
            #expect(try await other.send("SELECT", 3) == .simpleString("OK"))
            #expect(try await other.send("GET", "in-db-3").string == "yes")
            await other.close()
        }
    }

    @Test func closeFailsPendingAndLaterCommands() async throws {
        try await Self.withClient { (client, server) async throws in
            _ = try await client.send("PING")
            let blocked = Task { try await client.send("BLPOP", "never", 0) }
            // A blocking command holds up everything pipelined behind it: observe it from another client.
            let observer = RedisClient(configuration: server.configuration, logger: TestSupport.logger)
            try await TestSupport.eventually("BLPOP to block") {
                (try await observer.send("INFO", "clients").string ?? "").contains("blocked_clients:1")
            }
            await observer.close()
            await client.close()
            await #expect { try await blocked.value } throws: { ($0 as? RedisError)?.code == .clientClosed }
            await #expect { try await client.send("PING") } throws: { ($0 as? RedisError)?.code == .clientClosed }
        }
    }
}
