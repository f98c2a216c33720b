import CSCore
import CSRedis
import CSServer
import Logging
import ServiceLifecycle

/// Composes a dispatcher process: the partition owner loop and the queue drainer in one group.
public func buildDispatcher(_ configuration: DispatcherConfiguration, logger: Logger) -> ServiceGroup {
    var redisConfiguration = configuration.redis
    redisConfiguration.clientName = redisConfiguration.clientName ?? configuration.dispatcherID
    let redis = RedisClient(configuration: redisConfiguration, logger: logger)
    let routing = RoutingClient(redis: redis)
    let services: [any Service] = [
        StartupCheck(redis: redis, partitions: configuration.partitions, logger: logger),
        Dispatcher(configuration: configuration, redis: redis, routing: routing, logger: logger),
        QueueDrainer(routing: routing, configuration: configuration, logger: logger),
    ]
    return ServiceGroup(
        configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
}
