import CSCore
import CSRedis

/// Everything a gateway process needs to start.
public struct GatewayConfiguration: Sendable {
    public var redis: RedisConfiguration
    public var host: String
    public var port: Int
    public var gatewayID: String
    public var jwtSecret: String
    public var partitions: Int
    /// Frames a connection may have waiting to be written before it counts as a slow consumer.
    public var maxQueuedFrames: Int = 1_024
    /// How long presence entries live without a heartbeat; heartbeats come every third of it.
    public var presenceTTLMilliseconds: Int = 15_000
    public var pingIntervalSeconds: Int = 30
    /// Key for back-office systems calling the notification API (`X-Admin-Key`); nil disables it.
    public var adminKey: String?
    /// Pending TCP connections the listening socket queues (the kernel caps it at
    /// `net.core.somaxconn`). Too small a queue drops connection attempts during a reconnect
    /// storm, and each dropped one waits a second for its SYN to be retransmitted.
    public var listenBacklog: Int = 4_096

    public init(redis: RedisConfiguration, host: String, port: Int, gatewayID: String, jwtSecret: String, partitions: Int) {
        self.redis = redis
        self.host = host
        self.port = port
        self.gatewayID = gatewayID
        self.jwtSecret = jwtSecret
        self.partitions = partitions
    }
}
