import CSCore
import CSMonitoring
import CSRedis
import CSServer
import Logging
import PostgresNIO
import ServiceLifecycle

/// Everything an archiver process needs to start.
public struct ArchiverConfiguration: Sendable {
    public var redis: RedisConfiguration
    public var postgres: PostgresURL
    public var archiverID: String
    /// Stream entries read at once; each conversation is still its own transaction.
    public var batchSize = 20
    public var blockMilliseconds = 1_000
    /// How long an entry may stay unacknowledged by an archiver before another takes it over.
    public var claimIdleMilliseconds = 30_000
    /// How long one conversation's transaction may take, waiting for a connection included.
    public var transactionTimeoutMilliseconds = 30_000
    public var retention = RetentionPolicy()
    /// Apply missing migrations at start (the role then needs CREATE); off: only check them.
    public var migrate = true

    public var stats: ProcessStats
    public var heartbeatInterval: Duration = .seconds(5)
    public var metricsAddress: (host: String, port: Int)?

    public init(redis: RedisConfiguration, postgres: PostgresURL, archiverID: String) {
        self.redis = redis
        self.postgres = postgres
        self.archiverID = archiverID
        stats = ProcessStats(role: "archiver", id: archiverID)
    }
}

/// Composes an archiver process: the PostgreSQL pool, the stream consumer, the heartbeat.
public func buildArchiver(_ configuration: ArchiverConfiguration, logger: Logger) -> ServiceGroup {
    var redisConfiguration = configuration.redis
    redisConfiguration.clientName = configuration.archiverID
    let redis = RedisClient(configuration: redisConfiguration, logger: logger)
    let postgres = PostgresClient(configuration: configuration.postgres.configuration(), backgroundLogger: logger)
    var services: [any Service] = [
        postgres,
        StartupCheck(redis: redis, partitions: nil, logger: logger),
        ArchiverService(configuration: configuration, redis: redis, postgres: postgres, logger: logger),
        HeartbeatService(redis: redis, stats: configuration.stats, interval: configuration.heartbeatInterval, logger: logger) {
            // Finished conversations not yet read by the archivers' group.
            let groups = try await redis.send("XINFO", "GROUPS", .init(RedisKeys.finishedConversations)).array ?? []
            let lag = groups.first { $0.fieldMap["name"] == RedisKeys.archiverGroup }?.fieldMap["lag"].flatMap(Int.init) ?? 0
            configuration.stats.setStreamLag(lag)
        },
    ]
    if let address = configuration.metricsAddress {
        services.append(MonitoringRoutes.server(host: address.host, port: address.port, redis: redis, processID: configuration.archiverID, logger: logger))
    }
    return ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
}
