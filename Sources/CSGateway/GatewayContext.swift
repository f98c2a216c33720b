import CSCore
import CSRedis
import CSServer
import Logging

/// The parts of a running gateway that request handlers share.
///
/// A class, not a struct: every connection holds it.
final class GatewayContext: Sendable {
    let configuration: GatewayConfiguration
    let redis: RedisClient
    let registry: ConnectionRegistry
    let subscriptions: SubscriptionManager
    let presence: PresenceHeartbeat
    let inbound: InboundPublisher
    let tokens: TokenService
    let agents: AgentDirectory
    let passwords: PasswordHasher
    let routing: RoutingClient
    let views: ConversationViews
    let notifications: NotificationService
    let logger: Logger
    /// Counters for the heartbeat and `/metrics`.
    let stats: ProcessStats
    /// Set once a graceful shutdown starts.
    let drain: DrainState
    /// New connections per client address (`--rate-limit-connections-per-second`).
    let connectionLimiter: GatewayConnectionLimiter
    /// Handles WebSocket clients' messages in short-lived tasks.
    let sessionPool: SessionPool
    /// Which browser origins may open the WebSocket (`--allowed-origins`).
    let webSocketOrigins: OriginPolicy
    /// Staff tokens against their accounts (revocation).
    let staffCheck: StaffAccountCheck
    /// Password hashing, bounded (`passwordHashingLimit`).
    let passwordWork: PasswordWork
    /// Failed sign-ins per agent id (Redis).
    let loginFailures: LoginFailures
    /// Per-address HTTP limits: sign-ins, visitor sessions, offline messages.
    let loginLimiter: AddressRateLimiter
    let sessionLimiter: AddressRateLimiter
    let offlineMessageLimiter: AddressRateLimiter
    /// Where uploads go (`--attachments-dir`); nil: attachments are off (503 `unavailable`).
    let attachments: (any AttachmentStore)?
    /// Signs and checks download links.
    let attachmentLinks: AttachmentLinks
    /// Uploads per user per minute (`--attachment-uploads-per-minute`).
    let attachmentUploadLimiter: AddressRateLimiter

    init(
        configuration: GatewayConfiguration, redis: RedisClient, registry: ConnectionRegistry, subscriptions: SubscriptionManager,
        presence: PresenceHeartbeat, inbound: InboundPublisher, tokens: TokenService, agents: AgentDirectory, passwords: PasswordHasher,
        routing: RoutingClient, views: ConversationViews, notifications: NotificationService, logger: Logger, stats: ProcessStats,
        drain: DrainState, connectionLimiter: GatewayConnectionLimiter, sessionPool: SessionPool,
        attachments: (any AttachmentStore)? = nil
    ) {
        self.configuration = configuration
        self.redis = redis
        self.registry = registry
        self.subscriptions = subscriptions
        self.presence = presence
        self.inbound = inbound
        self.tokens = tokens
        self.agents = agents
        self.passwords = passwords
        self.routing = routing
        self.views = views
        self.notifications = notifications
        self.logger = logger
        self.stats = stats
        self.drain = drain
        self.connectionLimiter = connectionLimiter
        self.sessionPool = sessionPool
        webSocketOrigins = OriginPolicy(allowedOrigins: configuration.allowedOrigins)
        staffCheck = StaffAccountCheck(agents: agents)
        passwordWork = PasswordWork(hasher: passwords, limit: configuration.passwordHashingLimit)
        loginFailures = LoginFailures(
            redis: redis, lockout: LoginLockout(maxFailures: configuration.loginFailureLimit, window: configuration.loginFailureWindow))
        let exempt = configuration.httpRateLimitExempt
        loginLimiter = AddressRateLimiter(perMinute: configuration.loginsPerMinute, exempt: exempt)
        sessionLimiter = AddressRateLimiter(perMinute: configuration.sessionsPerMinute, exempt: exempt)
        offlineMessageLimiter = AddressRateLimiter(perMinute: configuration.offlineMessagesPerMinute, exempt: exempt)
        self.attachments = attachments
        attachmentLinks = AttachmentLinks(secret: configuration.jwtSecret, lifetime: configuration.attachmentLinkLifetime / .seconds(1))
        // Keyed by user id, not address: no exemption applies.
        attachmentUploadLimiter = AddressRateLimiter(perMinute: configuration.attachmentUploadsPerMinute, exempt: [], scope: "by you")
    }
}
