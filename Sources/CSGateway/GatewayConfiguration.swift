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
    /// Bytes a connection may have waiting to be written (queued in the gateway, or written but not
    /// yet taken by the kernel) before it counts as a slow consumer. Keep it above NIO's
    /// high-water mark (64 KiB): below it, bytes waiting in the channel are not looked at.
    public var maxQueuedBytes: Int = 4 << 20
    /// How long presence entries live without a heartbeat; heartbeats come every third of it.
    public var presenceTTLMilliseconds: Int = 15_000
    public var pingIntervalSeconds: Int = 30
    /// Key for back-office systems calling the notification API (`X-Admin-Key`); nil disables it.
    public var adminKey: String?
    /// Pending TCP connections the listening socket queues (the kernel caps it at
    /// `net.core.somaxconn`). Too small a queue drops connection attempts during a reconnect
    /// storm, and each dropped one waits a second for its SYN to be retransmitted.
    public var listenBacklog: Int = 4_096
    /// How often the heartbeat hash `cs:{ops}:proc:<gatewayId>` is written.
    public var heartbeatInterval: Duration = .seconds(5)
    /// On SIGTERM, how long the gateway waits for its clients to go after telling them to (1001).
    public var drainTimeout: Duration = .seconds(10)
    /// Browser origins (`scheme://host[:port]`, lowercase, no trailing slash) allowed to open the
    /// WebSocket, besides the gateway's own origin and clients that send no `Origin`; `*` allows any.
    public var allowedOrigins: [String] = []
    /// Folder of the web pages (widget, agent console, dashboard); nil: the copy bundled with the
    /// executable (`customer-service_CSGateway.resources/Public` next to it).
    public var staticDirectory: String?
    /// Frames per second one WebSocket connection may send, sustained (token bucket; 0: no limit;
    /// docs/reliability.md). A frame over it gets `rate_limited` and is not processed
    /// (docs/protocol.md).
    public var rateLimitFramesPerSecond: Double = 20
    /// Frames a connection may send at once above the sustained rate; 3 × burst frames dropped
    /// within 10 s close the connection with 4008.
    public var rateLimitBurst: Int = 40
    /// New WebSocket connections per second per client address (0: no limit); over it the client
    /// gets `rate_limited` and close 4008 right after the upgrade.
    public var rateLimitConnectionsPerSecond: Double = 0
    /// New connections one address may open at once above `rateLimitConnectionsPerSecond`.
    public var rateLimitConnectionBurst: Int = 50
    /// Webhook endpoints may target private, loopback and link-local addresses
    /// (`--allow-private-webhook-targets`; `WebhookURLPolicy`). Off: such URLs are refused.
    public var allowPrivateWebhookTargets = false
    /// Address blocks (CIDR, e.g. `127.0.0.0/8`) never limited per address.
    public var rateLimitExempt: [String] = []
    /// Per client address, per minute (token buckets holding a minute's worth; 0: no limit):
    /// sign-in attempts (`POST /v1/agent/login`), visitor sessions (`POST /v1/visitor/session`)
    /// and offline messages (`POST /v1/offline-messages`). Over it: 429 `rate_limited` with
    /// `Retry-After`. In-process: each gateway counts on its own (docs/reliability.md).
    public var loginsPerMinute: Double = 20
    public var sessionsPerMinute: Double = 60
    public var offlineMessagesPerMinute: Double = 10
    /// Address blocks the per-address HTTP limits above never apply to. Loopback by default: a
    /// balancer on the same host (`make cluster`) gives every client its own address, and then
    /// limits per client itself (deploy/haproxy, `http_req_rate`).
    public var httpRateLimitExempt: [String] = ["127.0.0.0/8", "::1/128"]
    /// Failed sign-ins one agent id may have within `loginFailureWindow` (across all gateways:
    /// counted in Redis); then its sign-ins get 429 until the window ends.
    public var loginFailureLimit: Int = 10
    public var loginFailureWindow: Duration = .seconds(900)
    /// Password hashes (sign-in checks, new passwords) running or waiting at once (`PasswordWork`);
    /// more get 503 `unavailable` with `Retry-After`. The hashing itself runs on
    /// NIO's blocking pool (a thread per core), which bounds its CPU and scrypt memory; this bounds
    /// the line in front of it. Large enough for a shift start (hundreds of agents signing in
    /// within a second queue for a few seconds), small enough that a flood past it is refused at
    /// once instead of waiting minutes. 32 refused 200 agents signing in together.
    public var passwordHashingLimit: Int = 1_000
    /// An HTTP connection must send a complete request head within this time of opening, or of
    /// its previous response, else it is closed (slow or idle clients holding connections).
    public var httpHeaderTimeout: Duration = .seconds(10)
    /// Where `/metrics` (and `/healthz`, `/readyz`) are served for Prometheus: a port of its own,
    /// not the public one behind the balancer (docs/operations.md, "Monitoring"); nil: not served.
    public var metricsAddress: (host: String, port: Int)?
    /// Attachments (docs/operations.md, "Attachments"): the directory uploads are stored in (a
    /// volume shared by all gateways); nil: attachments are off.
    public var attachmentsDirectory: String?
    /// Largest upload in bytes: a larger `Content-Length` gets 413 before the body is read, a
    /// body that grows past it is cut off with 413.
    public var attachmentMaxBytes: Int = 10 << 20
    /// Uploads never sent in a message within this time are deleted (orphans).
    public var attachmentOrphanLifetime: Duration = .seconds(3_600)
    /// How long a download link stays valid.
    public var attachmentLinkLifetime: Duration = .seconds(300)
    /// Uploads per user per minute (0: no limit); over it: 429 `rate_limited`.
    public var attachmentUploadsPerMinute: Double = 30
    /// Test only: serve the echo WebSocket `/v1/test/echo` (Gateway+Echo.swift) for conformance tests.
    public var enableTestEcho: Bool = false

    public init(redis: RedisConfiguration, host: String, port: Int, gatewayID: String, jwtSecret: String, partitions: Int) {
        self.redis = redis
        self.host = host
        self.port = port
        self.gatewayID = gatewayID
        self.jwtSecret = jwtSecret
        self.partitions = partitions
    }
}
