import CSCore
import CSMonitoring
import CSRedis
import CSServer
import Logging
import NIOCore
import ServiceLifecycle

/// Composes a `cs-webhooks` process: the deliverer (lease, reading, lanes) and its heartbeat.
public func buildWebhooks(_ configuration: WebhookConfiguration, logger: Logger) -> ServiceGroup {
    var redisConfiguration = configuration.redis
    redisConfiguration.clientName = configuration.processID
    let redis = RedisClient(configuration: redisConfiguration, logger: logger)
    redis.register(WebhookFunctions.libraries)
    let client = WebhookPoster.makeClient(
        connectTimeout: .milliseconds(Int64(configuration.connectTimeoutMilliseconds)),
        readTimeout: .milliseconds(Int64(configuration.requestTimeoutMilliseconds)))
    let poster = WebhookPoster(
        client: client, policy: configuration.policy, requestTimeout: .milliseconds(Int64(configuration.requestTimeoutMilliseconds)),
        responseBodyLimit: configuration.responseBodyLimit)
    var services: [any Service] = [
        StartupCheck(redis: redis, partitions: nil, logger: logger),
        // Before the deliverer: services stop in reverse order, so the client outlives it.
        HTTPClientShutdown(client: client),
        WebhookDeliverer(configuration: configuration, redis: redis, poster: poster, logger: logger),
        HeartbeatService(redis: redis, stats: configuration.stats, interval: configuration.heartbeatInterval, logger: logger),
    ]
    if let address = configuration.metricsAddress {
        services.append(MonitoringRoutes.server(host: address.host, port: address.port, redis: redis, processID: configuration.processID, logger: logger))
    }
    return ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
}
