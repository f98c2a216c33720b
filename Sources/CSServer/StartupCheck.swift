import CSRedis
import Logging
import ServiceLifecycle

/// Verifies the partition count against Redis once Redis answers, retrying while it does not,
/// and stops the process on a mismatch (a wrong count would break per-conversation order).
public struct StartupCheck: Service {
    let redis: RedisClient
    let partitions: Int
    let logger: Logger

    public init(redis: RedisClient, partitions: Int, logger: Logger) {
        self.redis = redis
        self.partitions = partitions
        self.logger = logger
    }

    public func run() async throws {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                try await PartitionCountCheck.verify(partitions, redis: redis)
                // A service that returns would stop the whole group: stay until shutdown.
                try? await gracefulShutdown()
                return
            } catch let mismatch as PartitionCountCheck.Mismatch {
                logger.critical("\(mismatch)")
                throw mismatch
            } catch {
                logger.warning("redis not reachable yet", metadata: ["error": "\(error)"])
                let pause = delay
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
                delay = min(delay * 2, .seconds(2))
            }
        }
    }
}
