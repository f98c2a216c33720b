import CSCore
import CSRedis
import CSServer
import Logging

/// The parts of a running gateway that request handlers share.
struct GatewayContext: Sendable {
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
}
