import CSCore
import CSRedis
import CSMonitoring
import CSServer
import Logging
import NIOPosix
import ServiceLifecycle

/// Composes a dispatcher process: the partition owner loop and the queue drainer in one group.
public func buildDispatcher(_ configuration: DispatcherConfiguration, logger: Logger) -> ServiceGroup {
    var redisConfiguration = configuration.redis
    redisConfiguration.clientName = redisConfiguration.clientName ?? configuration.dispatcherID
    // All of the partition owners' Redis work on one event loop: see `EventLoopTaskExecutor`.
    let executor = EventLoopTaskExecutor(eventLoop: MultiThreadedEventLoopGroup.singleton.next())
    let redis = RedisClient(configuration: redisConfiguration, eventLoopGroup: executor.eventLoop, logger: logger)
    redis.register(DispatcherFunctions.libraries)
    let routing = RoutingClient(redis: redis)
    var services: [any Service] = [
        StartupCheck(redis: redis, partitions: configuration.partitions, logger: logger),
        Dispatcher(configuration: configuration, redis: redis, routing: routing, executor: executor, logger: logger),
        QueueDrainer(routing: routing, configuration: configuration, logger: logger),
        WebhookWantedRefresher(wanted: configuration.webhooks, redis: redis, interval: configuration.webhookRefreshInterval, logger: logger),
        HeartbeatService(redis: redis, stats: configuration.stats, interval: configuration.heartbeatInterval, logger: logger) {
            try await DispatcherHeartbeat.collect(redis: redis, configuration: configuration)
        },
    ]
    if let address = configuration.metricsAddress {
        services.append(MonitoringRoutes.server(host: address.host, port: address.port, redis: redis, processID: configuration.dispatcherID, logger: logger))
    }
    return ServiceGroup(
        configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
}
