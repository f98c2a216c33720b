import CSRedis
import CSServer
import Logging
import ServiceLifecycle

/// Reads the wanted webhook event types (`cs:{webhooks}:wanted`, one HGETALL) every `interval`,
/// so recording events needs no Redis command to know whether anyone wants them. A failed read
/// keeps the last set (events go on being recorded, or not, as before) and is retried next round.
struct WebhookWantedRefresher: Service {
    let wanted: WebhookWanted
    let redis: RedisClient
    let interval: Duration
    let logger: Logger

    func run() async throws {
        var failing = false
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await wanted.refresh(from: redis)
                failing = false
            } catch {
                if !failing { logger.warning("reading the wanted webhook events failed; keeping the last set", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
