import CSCore
import CSRedis
import CSServer

/// Everything a `cs-webhooks` process needs (docs/operations.md "Webhooks").
public struct WebhookConfiguration: Sendable {
    public var redis: RedisConfiguration
    public var processID: String
    /// Private, loopback and link-local targets allowed (`--allow-private-targets`).
    public var policy = WebhookURLPolicy()
    public var retry = WebhookRetryPolicy()
    /// An endpoint with no delivery succeeding for this long (while it had deliveries to make)
    /// is paused (reason `failing`); its deliveries then go to its dead letters.
    public var pauseAfterMilliseconds: Int = 3_600_000
    /// The delivering process' lease; a standby takes over this long after the holder died.
    public var leaseMilliseconds: Int = 10_000
    public var connectTimeoutMilliseconds: Int = 5_000
    /// The whole request, connect to last byte read (also the read timeout).
    public var requestTimeoutMilliseconds: Int = 10_000
    /// Bytes of a receiver's answer read at most (the rest is dropped with the connection).
    public var responseBodyLimit: Int = 64 * 1024
    /// Events read per XREADGROUP.
    public var batchSize: Int = 200
    /// Events read and not yet finished, at most (reading pauses above it).
    public var maxInFlight: Int = 20_000
    /// How often the registrations are read again.
    public var endpointRefreshMilliseconds: Int = 2_000

    public var stats: ProcessStats
    public var heartbeatInterval: Duration = .seconds(5)
    public var metricsAddress: (host: String, port: Int)?

    public init(redis: RedisConfiguration, processID: String) {
        self.redis = redis
        self.processID = processID
        stats = ProcessStats(role: "webhooks", id: processID)
    }
}

/// The Redis functions `cs-webhooks` calls; its ACL user may `FCALL` exactly these.
public enum WebhookFunctions {
    public static let libraries = [WebhookScripts.library]
}
