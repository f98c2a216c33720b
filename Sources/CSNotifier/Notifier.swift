import CSCore
import CSRedis
import CSMonitoring
import CSServer
import Logging
import ServiceLifecycle

/// Everything a notifier process needs to start.
public struct NotifierConfiguration: Sendable {
    public var redis: RedisConfiguration
    public var notifierID: String
    public var batchSize = 100
    public var blockMilliseconds = 1_000
    /// How often due scheduled notifications are looked for (they go out within one second).
    public var schedulerIntervalMilliseconds = 200
    /// How long an entry may stay unacknowledged by a notifier before another one takes it over.
    public var claimIdleMilliseconds = 5_000

    /// Counters for the heartbeat and `/metrics`.
    public var stats: ProcessStats
    public var heartbeatInterval: Duration = .seconds(5)
    /// Where `/metrics`, `/healthz` and `/readyz` are served; nil: not served.
    public var metricsAddress: (host: String, port: Int)?

    public init(redis: RedisConfiguration, notifierID: String) {
        self.redis = redis
        self.notifierID = notifierID
        stats = ProcessStats(role: "notifier", id: notifierID)
    }
}

/// Composes a notifier process: the request consumer and the scheduler.
public func buildNotifier(_ configuration: NotifierConfiguration, logger: Logger) -> ServiceGroup {
    var redisConfiguration = configuration.redis
    redisConfiguration.clientName = configuration.notifierID
    let redis = RedisClient(configuration: redisConfiguration, logger: logger)
    redis.register(NotifierFunctions.libraries)
    var services: [any Service] = [
        StartupCheck(redis: redis, partitions: nil, logger: logger),
        NotifierService(configuration: configuration, redis: redis, logger: logger),
        NotificationScheduler(redis: redis, interval: .milliseconds(configuration.schedulerIntervalMilliseconds), logger: logger),
        HeartbeatService(redis: redis, stats: configuration.stats, interval: configuration.heartbeatInterval, logger: logger) {
            // Requests not yet read by the notifiers' group.
            let groups = try await redis.send("XINFO", "GROUPS", .init(RedisKeys.notifyStream)).array ?? []
            let lag = groups.first { $0.fieldMap["name"] == RedisKeys.notifierGroup }?.fieldMap["lag"].flatMap(Int.init) ?? 0
            configuration.stats.setStreamLag(lag)
        },
    ]
    if let address = configuration.metricsAddress {
        services.append(MonitoringRoutes.server(host: address.host, port: address.port, redis: redis, processID: configuration.notifierID, logger: logger))
    }
    return ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
}

/// Moves due scheduled notifications into the request stream, atomically, so that each is sent
/// exactly once however many notifiers run, and none is lost if a notifier dies.
struct NotificationScheduler: Service {
    let redis: RedisClient
    let interval: Duration
    let logger: Logger

    /// KEYS = scheduled, stream; ARGV = nowMs. Returns how many moved.
    static let moveDue = RedisScript(
        "cs_notify_move_due",
        """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
        for _, id in ipairs(due) do
          redis.call('ZREM', KEYS[1], id)
          redis.call('XADD', KEYS[2], '*', 'k', 'send', 'id', id)
        end
        return #due
        """
    )

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let moved = try await redis.callFunction(
                    Self.moveDue, keys: [.init(RedisKeys.scheduledNotifications), .init(RedisKeys.notifyStream)],
                    arguments: [.init(nowMilliseconds())])
                if let count = moved.int, count > 0 { logger.info("scheduled notifications due", metadata: ["count": "\(count)"]) }
            } catch {
                logger.warning("scheduler round failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
