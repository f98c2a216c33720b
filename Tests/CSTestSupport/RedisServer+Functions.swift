import CSRedis
import Logging

extension RedisServer {
    /// Runs `body` with a client of a fresh redis-server on a free port, `libraries` installed;
    /// stops both afterwards, also when `body` throws. For tests of one Redis function.
    public static func withClient(
        installing libraries: [RedisFunctionLibrary], label: String, _ body: (RedisClient) async throws -> Void
    ) async throws {
        let server = try await RedisServer()
        let redis = RedisClient(configuration: server.configuration, logger: Logger(label: label))
        redis.register(libraries)
        do {
            try await redis.installFunctions()
            try await body(redis)
        } catch {
            await redis.close()
            try await server.stop()
            throw error
        }
        await redis.close()
        try await server.stop()
    }
}
