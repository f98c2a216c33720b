import CSCore
import CSRedis
import CSServer
import CSTestSupport
import Logging
import Testing

/// The append function (`ConversationScripts.append`) against a real redis-server: issue 17
/// slimmed it to four commands and a PUBLISH per channel; these are the promises it must keep.
@Suite("Conversation append function")
struct ConversationAppendTests {
    static let id = "v_ann.c1"
    static let meta = RedisKeys.conversation(id)
    static let log = RedisKeys.conversationLog(id)
    static let dedup = RedisKeys.conversationDedup(id)
    static let hour = 3_600_000

    /// One append: `(isNew, seq)`. Frame `{"n":<seq>}`, one channel, fence 7.
    static func append(_ redis: RedisClient, dedupID: String, now: Int, fence: Int = 7) async throws -> (Int, Int) {
        let reply = try await redis.callFunction(
            ConversationScripts.append, keys: [.init(meta), .init(log), .init(dedup)],
            arguments: [
                .init(dedupID), #"{"n":"#, "}", "10000", "604800", .init(RedisKeys.userChannel("v_ann")), "", "", .init(fence), .init(now),
            ])
        let values = try #require(reply.array, "\(reply)")
        return (values[0].int ?? -1, values[1].int ?? -1)
    }

    @Test("a dedup id commits once; the next entry gets the next seq")
    func duplicateCommitsOnce() async throws {
        try await Self.withRedis { redis in
            #expect(try await Self.append(redis, dedupID: "m:v_ann:c-1", now: 1000) == (1, 1))
            #expect(try await Self.append(redis, dedupID: "m:v_ann:c-1", now: 1001) == (0, 1))
            #expect(try await Self.append(redis, dedupID: "m:v_ann:c-2", now: 1002) == (1, 2))
            #expect(try await Self.append(redis, dedupID: "", now: 1003) == (1, 3))
            let entries = try await redis.send("XRANGE", .init(Self.log), "-", "+").array ?? []
            #expect(entries.compactMap { $0.array?.first?.string } == ["1-0", "2-0", "3-0"])
            #expect(try await redis.send("HGET", .init(Self.meta), "seq").string == "3")
        }
    }

    @Test("a failed log write leaves the dedup id unclaimed and the seq unchanged")
    func failedLogWriteClaimsNothing() async throws {
        try await Self.withRedis { redis in
            #expect(try await Self.append(redis, dedupID: "m:v_ann:c-1", now: 1000) == (1, 1))
            // The log is not a stream any more: the XADD inside the function fails.
            _ = try await redis.send("DEL", .init(Self.log))
            _ = try await redis.send("SET", .init(Self.log), "not a stream")
            await #expect(throws: RedisError.self) { _ = try await Self.append(redis, dedupID: "m:v_ann:c-2", now: 1001) }
            #expect(try await redis.send("HGET", .init(Self.dedup), "m:v_ann:c-2").isNull, "claimed without a log entry")
            #expect(try await redis.send("HGET", .init(Self.meta), "seq").string == "1")
            // Mended, the same message commits (it was not taken for a duplicate).
            _ = try await redis.send("DEL", .init(Self.log))
            #expect(try await Self.append(redis, dedupID: "m:v_ann:c-2", now: 1002) == (1, 2))
        }
    }

    @Test("the dedup table's expiry is refreshed at most once an hour")
    func dedupExpiryRefreshedLazily() async throws {
        try await Self.withRedis { redis in
            _ = try await Self.append(redis, dedupID: "m:v_ann:c-1", now: 10 * Self.hour)
            #expect(try await redis.send("TTL", .init(Self.dedup)).int ?? 0 > 600_000)
            _ = try await redis.send("EXPIRE", .init(Self.dedup), "500")
            _ = try await Self.append(redis, dedupID: "m:v_ann:c-2", now: 10 * Self.hour + 59 * 60_000)
            #expect(try await redis.send("TTL", .init(Self.dedup)).int ?? 0 <= 500, "refreshed within the hour")
            _ = try await Self.append(redis, dedupID: "m:v_ann:c-3", now: 11 * Self.hour + 1)
            #expect(try await redis.send("TTL", .init(Self.dedup)).int ?? 0 > 600_000, "not refreshed after an hour")
        }
    }

    @Test("a smaller fence is refused before anything is written; a larger one is recorded")
    func fenced() async throws {
        try await Self.withRedis { redis in
            _ = try await Self.append(redis, dedupID: "m:v_ann:c-1", now: 1000, fence: 7)
            await #expect(throws: RedisError.self) { _ = try await Self.append(redis, dedupID: "m:v_ann:c-2", now: 1001, fence: 6) }
            #expect(try await redis.send("HGET", .init(Self.dedup), "m:v_ann:c-2").isNull)
            #expect(try await redis.send("XLEN", .init(Self.log)).int == 1)
            _ = try await Self.append(redis, dedupID: "m:v_ann:c-3", now: 1002, fence: 9)
            #expect(try await redis.send("HGET", .init(Self.meta), "fence").string == "9")
        }
    }

    /// Runs `body` with a client of a fresh redis-server on a free port; stops both afterwards.
    static func withRedis(_ body: (RedisClient) async throws -> Void) async throws {
        try await RedisServer.withClient(installing: [ServerFunctionLibraries.conversation], label: "conversation-append-test", body)
    }
}
