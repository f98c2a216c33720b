import CSRedis
import CSTestSupport
import Foundation
import Testing

/// The `RedisServer` test helper itself.
@Suite("RedisServer helper", .serialized, .timeLimit(.minutes(2)))
struct RedisServerTests {
    @Test func startRestartStop() async throws {
        let server = try await RedisServer(appendOnly: true)
        #expect(server.port != 6379)
        #expect(server.url == "redis://127.0.0.1:\(server.port)")
        let firstPID = try #require(server.processIdentifier)
        let client = RedisClient(configuration: TestSupport.configuration(port: server.port), logger: TestSupport.logger)
        _ = try await client.send("SET", "kept", "1")
        #expect(try await client.send("CONFIG", "GET", "save").array?.last?.string == "")

        try await server.restart()
        #expect(server.processIdentifier != firstPID)
        try await TestSupport.eventually("data to survive the restart") {
            try await client.send("GET", "kept").string == "1"
        }
        await client.close()

        try await server.stop()
        #expect(server.processIdentifier == nil)
        #expect(!FileManager.default.fileExists(atPath: server.directory.path))
    }

    @Test func invalidArgumentsFailWithTheLog() async throws {
        await #expect {
            _ = try await RedisServer(extraArguments: ["--no-such-option", "1"])
        } throws: { error in
            "\(error)".contains("no-such-option")
        }
    }
}
