import CSCore
import CSRedis
import CSServer
import Logging
import ServiceLifecycle

/// Keeps the agents connected here present in `cs:{agents}:online` (score = expiry ms).
///
/// A crashed gateway stops refreshing, so its agents fall offline by themselves after the TTL:
/// no ghost agents get new conversations.
public struct PresenceHeartbeat: Service {
    let routing: RoutingClient
    let registry: ConnectionRegistry
    let ttlMilliseconds: Int
    let logger: Logger

    public init(routing: RoutingClient, registry: ConnectionRegistry, ttlMilliseconds: Int, logger: Logger) {
        self.routing = routing
        self.registry = registry
        self.ttlMilliseconds = ttlMilliseconds
        self.logger = logger
    }

    /// Extends the presence of `agentIDs` (agents signed off stay off).
    public func touch(_ agentIDs: [String]) async throws {
        try await routing.heartbeat(agentIDs: agentIDs, ttlMilliseconds: ttlMilliseconds)
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
