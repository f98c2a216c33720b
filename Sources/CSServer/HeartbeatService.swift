import CSCore
import CSRedis
import Logging
import ServiceLifecycle

/// Writes the process's heartbeat hash (`cs:{ops}:proc:<id>`) every `interval`, so that an
/// operator sees with redis-cli (or `cs-admin status`) who is up and how it is doing.
///
/// The hash expires three intervals after the last beat: a crashed process disappears by itself.
/// On graceful shutdown the hash is kept an hour with `state` `stopped`.
public struct HeartbeatService: Service {
    let redis: RedisClient
    let stats: ProcessStats
    let interval: Duration
    /// Extra work before each beat (e.g. measuring stream lag); its errors are logged, not fatal.
    let collect: @Sendable () async throws -> Void
    let logger: Logger

    /// How long a stopped or vanished process stays listed in `cs:{ops}:procs`.
    public static let retentionMilliseconds = 3_600_000

    public init(
        redis: RedisClient, stats: ProcessStats, interval: Duration = .seconds(5), logger: Logger,
        collect: @escaping @Sendable () async throws -> Void = {}
    ) {
        self.redis = redis
        self.stats = stats
        self.interval = interval
        self.collect = collect
        self.logger = logger
    }

    public func run() async throws {
        let intervalMs = Int(interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000)
        while !Task.isShuttingDownGracefully {
            do {
                try await collect()
            } catch {
                logger.debug("heartbeat collection failed", metadata: ["error": "\(error)"])
            }
            do {
                try await beat(state: "running", ttl: intervalMs * 3)
            } catch {
                logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
        try? await beat(state: "stopped", ttl: Self.retentionMilliseconds)
    }

    private func beat(state: String, ttl: Int) async throws {
        let now = nowMilliseconds()
        let key = RedisKeys.processHeartbeat(stats.id)
        var hset: [RedisArgument] = ["HSET", .init(key), "state", .init(state)]
        for (field, value) in stats.heartbeatFields(now: now) { hset += [.init(field), .init(value)] }
        let expiry = state == "running" ? now + ttl : now
        _ = try await redis.pipeline([
            hset, ["PEXPIRE", .init(key), .init(ttl)],
            ["ZADD", .init(RedisKeys.processes), .init(expiry), .init(stats.id)],
            ["ZREMRANGEBYSCORE", .init(RedisKeys.processes), "-inf", .init(now - Self.retentionMilliseconds)],
        ]).checked()
    }
}
