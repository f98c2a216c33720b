import CSCore
import CSRedis
import CSServer
import Hummingbird
import HummingbirdWebSocket
import Logging

/// Composes a gateway process: HTTP + WebSocket server, pub/sub delivery, subscriptions and
/// presence, all as services of one `ServiceGroup` (Hummingbird's `Application` runs them).
public func buildGateway(_ configuration: GatewayConfiguration, logger: Logger) async throws -> some ApplicationProtocol {
    var redisConfiguration = configuration.redis
    redisConfiguration.clientName = redisConfiguration.clientName ?? "\(configuration.gatewayID)"
    let redis = RedisClient(configuration: redisConfiguration, logger: logger)
    var subscriberConfiguration = configuration.redis
    subscriberConfiguration.clientName = "\(configuration.gatewayID)-sub"
    let subscriber = RedisSubscriber(configuration: subscriberConfiguration, logger: logger)

    let registry = ConnectionRegistry()
    let subscriptions = SubscriptionManager(subscriber: subscriber, logger: logger)
    let routing = RoutingClient(redis: redis)
    let presence = PresenceHeartbeat(routing: routing, registry: registry, ttlMilliseconds: configuration.presenceTTLMilliseconds, logger: logger)
    let context = GatewayContext(
        configuration: configuration, redis: redis, registry: registry, subscriptions: subscriptions, presence: presence,
        inbound: InboundPublisher(redis: redis, partitioner: Partitioner(count: configuration.partitions)),
        tokens: try await TokenService(secret: configuration.jwtSecret), agents: AgentDirectory(redis: redis),
        passwords: PasswordHasher(), routing: routing, views: ConversationViews(redis: redis, routing: routing), notifications: NotificationService(redis: redis), logger: logger
    )
    let router = Router(context: BasicWebSocketRequestContext.self)
    context.addHTTPRoutes(to: router)
    context.addWebSocketRoute(to: router)
    context.addConversationRoutes(to: router)
    context.addNotificationRoutes(to: router)
    context.addCannedResponseRoutes(to: router)
    context.addRatingRoutes(to: router)

    let startup = StartupCheck(redis: redis, partitions: configuration.partitions, logger: logger)
    return Application(
        router: router,
        server: .http1WebSocketUpgrade(
            webSocketRouter: router,
            configuration: .init(ws: .init(
                maxFrameSize: ClientFrame.Limits.maxFrameBytes,
                autoPing: .enabled(timePeriod: .seconds(configuration.pingIntervalSeconds)),
                validateUTF8: true))
        ),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: configuration.gatewayID,
            backlog: configuration.listenBacklog),
        services: [startup, subscriptions, DeliveryService(
                subscriber: subscriber, registry: registry, gatewayID: configuration.gatewayID,
                notifications: context.notifications, views: context.views, logger: logger), presence],
        onServerRunning: { channel in
            logger.notice("gateway listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")", "gateway": "\(configuration.gatewayID)"])
        },
        logger: logger
    )
}
