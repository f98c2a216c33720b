import CSCore
import CSRedis
import CSServer
import Logging
import ServiceLifecycle

/// Keeps the agents connected here marked online in `cs:{agents}:online` (score = expiry ms).
///
/// A crashed gateway stops refreshing, so its agents fall offline by themselves after the TTL:
/// no ghost agents get new conversations.
public struct PresenceHeartbeat: Service {
    let redis: RedisClient
    let registry: ConnectionRegistry
    let ttlMilliseconds: Int
    let logger: Logger

    public init(redis: RedisClient, registry: ConnectionRegistry, ttlMilliseconds: Int, logger: Logger) {
        self.redis = redis
        self.registry = registry
        self.ttlMilliseconds = ttlMilliseconds
        self.logger = logger
    }

    /// Marks `agentIDs` online now.
    public func touch(_ agentIDs: [String]) async throws {
        guard !agentIDs.isEmpty else { return }
        let expiry = RedisArgument(nowMilliseconds() + ttlMilliseconds)
        var command: [RedisArgument] = ["ZADD", .init(RedisKeys.agentsOnline), "GT"]
        command.reserveCapacity(3 + agentIDs.count * 2)
        for id in agentIDs {
            command.append(expiry)
            command.append(.init(id))
        }
        _ = try await redis.send(command)
    }

    public func run() async throws {
        let interval = Duration.milliseconds(ttlMilliseconds / 3)
        while !Task.isShuttingDownGracefully {
            do {
                try await touch(registry.staffIDs())
            } catch {
                logger.warning("presence heartbeat failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
