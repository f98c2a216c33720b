import CSCore
import CSMonitoring
import CSRedis
import CSServer
import Hummingbird
import Logging
import NIOPosix
import ServiceLifecycle

/// Composes a gateway process: HTTP + WebSocket server, pub/sub delivery, subscriptions,
/// presence and heartbeat (services of Hummingbird's `Application`), and the connection drain,
/// in one `ServiceGroup` that stops gracefully on SIGTERM or SIGINT.
///
/// `stats` receives the process's counters (the caller creates it first so that logging can
/// record errors into it); a fresh one is used when nil.
public func buildGateway(_ configuration: GatewayConfiguration, logger: Logger, stats: ProcessStats? = nil) async throws -> ServiceGroup {
    let stats = stats ?? ProcessStats(role: "gateway", id: configuration.gatewayID)
    var redisConfiguration = configuration.redis
    redisConfiguration.clientName = redisConfiguration.clientName ?? "\(configuration.gatewayID)"
    let redis = RedisClient(configuration: redisConfiguration, logger: logger)
    redis.register(GatewayFunctions.libraries)
    // The chat hot path's connections, one per event loop of the server (`RedisLanes`).
    let lanes = RedisLanes(configuration: redisConfiguration, group: MultiThreadedEventLoopGroup.singleton, logger: logger)
    var subscriberConfiguration = configuration.redis
    subscriberConfiguration.clientName = "\(configuration.gatewayID)-sub"
    // Deliveries are read on the pub/sub connection's own loop: see `DeliveryService.executor`.
    let deliveryExecutor = EventLoopTaskExecutor(eventLoop: MultiThreadedEventLoopGroup.singleton.next())
    let subscriber = RedisSubscriber(configuration: subscriberConfiguration, eventLoopGroup: deliveryExecutor.eventLoop, logger: logger)

    let registry = ConnectionRegistry()
    let subscriptions = SubscriptionManager(subscriber: subscriber, logger: logger)
    let routing = RoutingClient(redis: redis)
    let presence = PresenceHeartbeat(routing: routing, registry: registry, ttlMilliseconds: configuration.presenceTTLMilliseconds, logger: logger)
    let attachments: (any AttachmentStore)? = if let directory = configuration.attachmentsDirectory {
        try await DirectoryAttachmentStore(directory: directory)
    } else {
        nil
    }
    let context = GatewayContext(
        configuration: configuration, redis: redis, registry: registry, subscriptions: subscriptions, presence: presence,
        inbound: InboundPublisher(lanes: lanes, partitioner: Partitioner(count: configuration.partitions)),
        tokens: try await TokenService(secret: configuration.jwtSecret), agents: AgentDirectory(redis: redis),
        passwords: PasswordHasher(), routing: routing, views: ConversationViews(redis: redis, routing: routing), notifications: NotificationService(redis: redis), logger: logger,
        stats: stats, drain: DrainState(), connectionLimiter: GatewayConnectionLimiter(configuration), sessionPool: SessionPool(),
        attachments: attachments
    )
    let router = Router(context: GatewayRequestContext.self)
    context.addWidgetCORS(to: router)
    context.addHTTPRoutes(to: router)
    context.addWebSocketRoute(to: router)
    context.addConversationRoutes(to: router)
    context.addNotificationRoutes(to: router)
    context.addCannedResponseRoutes(to: router)
    context.addWebhookRoutes(to: router)
    context.addRatingRoutes(to: router)
    context.addAgentRoutes(to: router)
    context.addAttachmentRoutes(to: router)
    context.addStaticRoutes(to: router)

    let startup = StartupCheck(redis: redis, partitions: configuration.partitions, logger: logger)
    var monitoring: [any Service] = []
    if let address = configuration.metricsAddress {
        monitoring.append(MonitoringRoutes.server(
            host: address.host, port: address.port, redis: redis, processID: configuration.gatewayID, logger: logger))
    }
    let application = Application(
        router: router,
        // `/v1/ws` upgrades become task-free channel handlers (GatewayServerChannel).
        server: GatewayServerChannel.builder(gateway: context),
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: configuration.gatewayID,
            backlog: configuration.listenBacklog),
        services: [startup, subscriptions, context.sessionPool, DeliveryService(
                subscriber: subscriber, executor: deliveryExecutor, registry: registry, gatewayID: configuration.gatewayID,
                notifications: context.notifications, views: context.views, logger: logger), presence,
            HeartbeatService(redis: redis, stats: stats, interval: configuration.heartbeatInterval, logger: logger)]
            + (attachments.map { [AttachmentSweep(store: $0, lifetime: configuration.attachmentOrphanLifetime, logger: logger)] } ?? []),
        onServerRunning: { channel in
            logger.notice("gateway listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")", "gateway": "\(configuration.gatewayID)"])
        },
        logger: logger
    )
    // Shut down in reverse order: the drain (1001 to every client) before the server.
    let drain = ConnectionDrainService(registry: registry, drain: context.drain, timeout: configuration.drainTimeout, logger: logger)
    return ServiceGroup(
        configuration: .init(services: monitoring + [application, drain], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
}
