import NIOCore
import Testing

@testable import CSRedis

@Suite("Values, errors, configuration")
struct RedisValueTests {
    @Test func respValueConveniences() {
        let bulk = RESPValue.bulkString(ByteBuffer(string: "42"))
        #expect(bulk.string == "42")
        #expect(bulk.int == 42)
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.integer(-3).int == -3)
        #expect(RESPValue.integer(3).string == nil)
        #expect(RESPValue.bulkString(ByteBuffer(string: "x")).int == nil)
        #expect(RESPValue.bulkString(ByteBuffer(string: "1.5")).double == 1.5)
        #expect(RESPValue.array([.integer(1)]).array == [.integer(1)])
        #expect(RESPValue.null.array == nil)
        #expect(RESPValue.null.isNull)
        #expect(!RESPValue.array([]).isNull)
        #expect(RESPValue.error("BUSYGROUP Consumer Group name already exists").redisError?.redisErrorPrefix == "BUSYGROUP")
    }

    /// A pipeline's error replies sit in their slots; `checked()` surfaces the first one.
    @Test func pipelineRepliesChecked() throws {
        let ok: [RESPValue] = [.integer(1), .simpleString("OK"), .null]
        #expect(ok.firstRedisError == nil)
        #expect(try ok.checked() == ok)
        let refused: [RESPValue] = [.integer(1), .error("WRONGTYPE Operation against a key holding the wrong kind of value"), .error("OOM x")]
        #expect(refused.firstRedisError?.redisErrorPrefix == "WRONGTYPE")
        #expect(throws: RedisError.self) { try refused.checked() }
    }

    @Test func redisErrorPrefix() {
        #expect(RedisError(code: .serverError, message: "NOSCRIPT No matching script. Please use EVAL.").redisErrorPrefix == "NOSCRIPT")
        #expect(RedisError(code: .serverError, message: "WRONGTYPE Operation against a key").redisErrorPrefix == "WRONGTYPE")
        #expect(RedisError(code: .serverError, message: "ERR unknown command").redisErrorPrefix == "ERR")
        #expect(RedisError(code: .serverError, message: "Error running script").redisErrorPrefix == nil)
        #expect(RedisError(code: .connectionClosed, message: "ERR x").redisErrorPrefix == nil)
        #expect(RedisError.Code.serverError.rawValue == "server_error")
    }

    @Test func arguments() {
        #expect(RedisArgument(42).description == "42")
        #expect(RedisArgument(-1 as Int64).description == "-1")
        #expect(RedisArgument(1.5).description == "1.5")
        #expect(RedisArgument(Double.infinity).description == "inf")
        let literal: RedisArgument = 7
        #expect(literal == RedisArgument("7"))
        #expect(RedisArgument([0, 1]).bytes == ByteBuffer(bytes: [0, 1]))
    }

    @Test func functionCallsAndLibraryCode() {
        let script = RedisScript("t_one", "return 1")
        #expect(script.callCommand(keys: ["k"], arguments: ["a", "b"]) == ["FCALL", "t_one", "1", "k", "a", "b"])
        let library = RedisFunctionLibrary(name: "t_lib", functions: [script])
        #expect(library.code == "#!lua name=t_lib\nredis.register_function('t_one', function(KEYS, ARGV)\nreturn 1\nend)\n")
        #expect(library.loadCommand == ["FUNCTION", "LOAD", "REPLACE", RedisArgument(library.code)])
    }

    @Test func parsesURLs() throws {
        let full = try RedisConfiguration(url: "redis://alice:s%40cret@redis.internal:6380/3")
        #expect(full.host == "redis.internal")
        #expect(full.port == 6380)
        #expect(full.username == "alice")
        #expect(full.password == "s@cret")
        #expect(full.database == 3)

        let minimal = try RedisConfiguration(url: "redis://localhost")
        #expect(minimal.host == "localhost")
        #expect(minimal.port == 6379)
        #expect(minimal.username == nil && minimal.password == nil)
        #expect(minimal.database == 0)
        #expect(minimal.connectTimeout == .seconds(2))
        #expect(minimal.commandTimeout == .seconds(5))

        let passwordOnly = try RedisConfiguration(url: "redis://:pw@10.0.0.1:7000/")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "pw")
        #expect(passwordOnly.port == 7000)

        let ipv6 = try RedisConfiguration(url: "REDIS://[::1]:6390/1")
        #expect(ipv6.host == "::1")
        #expect(ipv6.port == 6390)
        #expect(ipv6.database == 1)
    }

    @Test(arguments: [
        "localhost:6379", "http://localhost", "rediss://localhost", "redis://", "redis://host:0", "redis://host:70000",
        "redis://host:abc", "redis://host/x", "redis://host/-1", "redis://[::1", "redis://u:%zz@host", "redis://host?db=1",
    ])
    func rejectsInvalidURLs(_ url: String) {
        #expect { try RedisConfiguration(url: url) } throws: { ($0 as? RedisError)?.code == .invalidURL }
    }

    @Test func descriptionHidesPassword() throws {
        let configuration = try RedisConfiguration(url: "redis://alice:topsecret@[::1]:6380/2")
        #expect(configuration.description == "redis://alice:***@[::1]:6380/2")
        #expect(RedisConfiguration().description == "redis://127.0.0.1:6379/0")
    }

    @Test func invalidURLMessageHidesPassword() {
        do {
            _ = try RedisConfiguration(url: "redis://user:topsecret@host:notaport")
            Issue.record("expected an error")
        } catch {
            #expect(!"\(error)".contains("topsecret"))
        }
    }

    @Test func backoffGrowsAndIsCapped() {
        let backoff = RedisReconnectBackoff(initial: .milliseconds(50), max: .seconds(2), jitter: 0)
        #expect(backoff.delay(forAttempt: 1) == .milliseconds(50))
        #expect(backoff.delay(forAttempt: 2) == .milliseconds(100))
        #expect(backoff.delay(forAttempt: 4) == .milliseconds(400))
        #expect(backoff.delay(forAttempt: 10) == .seconds(2))
        #expect(backoff.delay(forAttempt: 1000) == .seconds(2))
        let jittered = RedisReconnectBackoff()
        for attempt in 1...20 {
            let delay = jittered.delay(forAttempt: attempt)
            #expect(delay >= .milliseconds(40) && delay <= .milliseconds(2400))
        }
    }
}
