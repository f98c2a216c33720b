import CSRedis
import Logging
import ServiceLifecycle

/// Once Redis answers (retrying while it does not): verifies the partition count and installs
/// the function libraries registered on `redis` (`RedisClient.installFunctions()`). Stops the
/// process on a mismatch (a wrong count would break per-conversation order) and when the
/// libraries are missing and this role may not load them (with ACLs a deploy step loads them).
public struct StartupCheck: Service {
    let redis: RedisClient
    /// nil for a process that does not use the partitions (the notifier).
    let partitions: Int?
    let logger: Logger

    public init(redis: RedisClient, partitions: Int?, logger: Logger) {
        self.redis = redis
        self.partitions = partitions
        self.logger = logger
    }

    public func run() async throws {
        var delay = Duration.milliseconds(100)
        while !Task.isCancelled {
            do {
                if let partitions { try await PartitionCountCheck.verify(partitions, redis: redis) }
                try await redis.installFunctions()
                // A service that returns would stop the whole group: stay until shutdown.
                try? await gracefulShutdown()
                return
            } catch let mismatch as PartitionCountCheck.Mismatch {
                logger.critical("\(mismatch)")
                throw mismatch
            } catch let error as RedisError where error.code == .functionsNotLoaded {
                logger.critical("\(error.message)")
                throw error
            } catch {
                logger.warning("redis not reachable yet", metadata: ["error": "\(error)"])
                let pause = delay
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
                delay = min(delay * 2, .seconds(2))
            }
        }
    }
}
