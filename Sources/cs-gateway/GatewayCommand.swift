import ArgumentParser
import CSCore
import Foundation
import CSGateway
import CSMonitoring
import CSServer
import Hummingbird
import Logging

@main
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cs-gateway",
        abstract: "Holds client WebSocket connections and publishes what clients send to Redis streams.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var attachments: AttachmentOptions

    @Option(help: "Listen address (env CS_HOST).")
    var host: String = environment("CS_HOST") ?? "127.0.0.1"

    @Option(help: "Listen port (env CS_PORT).")
    var port: Int = environment("CS_PORT").flatMap(Int.init) ?? 8080

    @Option(name: .customLong("gateway-id"), help: "Unique id of this gateway (env CS_GATEWAY_ID; default gw-<host>-<pid>).")
    var gatewayID: String = environment("CS_GATEWAY_ID") ?? defaultProcessID("gw")

    @Option(name: .customLong("jwt-secret"), help: "HMAC secret for agent and visitor tokens, the same on every gateway (env CS_JWT_SECRET).")
    var jwtSecret: String = environment("CS_JWT_SECRET") ?? ""

    @Option(name: .customLong("presence-ttl-ms"), help: "How long an agent stays present without a heartbeat; heartbeats every third of it (env CS_PRESENCE_TTL_MS).")
    var presenceTTLMilliseconds: Int = environment("CS_PRESENCE_TTL_MS").flatMap(Int.init) ?? 15_000

    @Option(name: .customLong("admin-key"), help: "Key back-office systems send as X-Admin-Key to the notification API; at least 32 bytes (env CS_ADMIN_KEY; unset: supervisors only).")
    var adminKey: String? = environment("CS_ADMIN_KEY")

    @Option(name: .customLong("allowed-origins"), help: "Comma-separated browser origins allowed to open the WebSocket besides the gateway's own, e.g. https://shop.example.com (env CS_ALLOWED_ORIGINS; * allows any).")
    var allowedOrigins: String = environment("CS_ALLOWED_ORIGINS") ?? ""

    @Option(name: .customLong("static-dir"), help: "Folder of the web pages to serve (env CS_STATIC_DIR; default: the copy bundled with the executable).")
    var staticDirectory: String? = environment("CS_STATIC_DIR")

    @Flag(name: .customLong("allow-private-webhook-targets"), help: "Accept webhook URLs that target private, loopback or link-local addresses (refused by default: docs/api.md \"Webhooks\").")
    var allowPrivateWebhookTargets = false

    @Flag(name: .customLong("enable-test-echo"), help: .hidden)
    var enableTestEcho = false

    @Option(name: .customLong("rate-limit-frames-per-second"), help: "Frames per second one WebSocket connection may send, sustained; over it: rate_limited, and close 4008 after 3 x burst dropped within 10 s (env CS_RATE_LIMIT_FRAMES_PER_SECOND; 0: no limit).")
    var rateLimitFramesPerSecond: Double = environment("CS_RATE_LIMIT_FRAMES_PER_SECOND").flatMap(Double.init) ?? 20

    @Option(name: .customLong("rate-limit-burst"), help: "Frames a connection may send at once above the sustained rate (env CS_RATE_LIMIT_BURST).")
    var rateLimitBurst: Int = environment("CS_RATE_LIMIT_BURST").flatMap(Int.init) ?? 40

    @Option(name: .customLong("rate-limit-connections-per-second"), help: "New WebSocket connections per second per client address; over it: rate_limited and close 4008 (env CS_RATE_LIMIT_CONNECTIONS_PER_SECOND; 0: no limit, the default: behind a load balancer every client has its address, so limit there).")
    var rateLimitConnectionsPerSecond: Double = environment("CS_RATE_LIMIT_CONNECTIONS_PER_SECOND").flatMap(Double.init) ?? 0

    @Option(name: .customLong("rate-limit-connection-burst"), help: "New connections one address may open at once above the per-second rate (env CS_RATE_LIMIT_CONNECTION_BURST).")
    var rateLimitConnectionBurst: Int = environment("CS_RATE_LIMIT_CONNECTION_BURST").flatMap(Int.init) ?? 50

    @Option(name: .customLong("rate-limit-exempt"), help: "Comma-separated address blocks never limited per address, e.g. 127.0.0.0/8,::1 (env CS_RATE_LIMIT_EXEMPT).")
    var rateLimitExempt: String = environment("CS_RATE_LIMIT_EXEMPT") ?? ""

    @Option(name: .customLong("rate-limit-logins-per-minute"), help: "Sign-in attempts per minute per client address; over it: 429 rate_limited (env CS_RATE_LIMIT_LOGINS_PER_MINUTE; 0: no limit).")
    var loginsPerMinute: Double = environment("CS_RATE_LIMIT_LOGINS_PER_MINUTE").flatMap(Double.init) ?? 20

    @Option(name: .customLong("rate-limit-sessions-per-minute"), help: "Visitor sessions (POST /v1/visitor/session) per minute per client address (env CS_RATE_LIMIT_SESSIONS_PER_MINUTE; 0: no limit).")
    var sessionsPerMinute: Double = environment("CS_RATE_LIMIT_SESSIONS_PER_MINUTE").flatMap(Double.init) ?? 60

    @Option(name: .customLong("rate-limit-offline-messages-per-minute"), help: "Offline messages per minute per client address (env CS_RATE_LIMIT_OFFLINE_MESSAGES_PER_MINUTE; 0: no limit).")
    var offlineMessagesPerMinute: Double = environment("CS_RATE_LIMIT_OFFLINE_MESSAGES_PER_MINUTE").flatMap(Double.init) ?? 10

    @Option(name: .customLong("rate-limit-http-exempt"), help: "Comma-separated address blocks the per-address HTTP limits never apply to; 'none' for none (env CS_RATE_LIMIT_HTTP_EXEMPT; default loopback: 127.0.0.0/8,::1/128).")
    var httpRateLimitExempt: String = environment("CS_RATE_LIMIT_HTTP_EXEMPT") ?? "127.0.0.0/8,::1/128"

    @Option(name: .customLong("login-failure-limit"), help: "Failed sign-ins one agent id may have in 15 minutes before its sign-ins get 429 until they end, counted across gateways (env CS_LOGIN_FAILURE_LIMIT).")
    var loginFailureLimit: Int = environment("CS_LOGIN_FAILURE_LIMIT").flatMap(Int.init) ?? 10

    @Option(name: .customLong("http-header-timeout-seconds"), help: "An HTTP connection that sends no complete request head within this time of opening or of its previous response is closed (env CS_HTTP_HEADER_TIMEOUT_SECONDS; 1 to 600).")
    var httpHeaderTimeoutSeconds: Int = environment("CS_HTTP_HEADER_TIMEOUT_SECONDS").flatMap(Int.init) ?? 10

    @Option(name: .customLong("metrics-port"), help: "Serve /metrics, /healthz and /readyz on this port, apart from the public one (env CS_METRICS_PORT; default: off).")
    var metricsPort: Int? = environment("CS_METRICS_PORT").flatMap(Int.init)

    @Option(name: .customLong("metrics-host"), help: "Address for --metrics-port (env CS_METRICS_HOST).")
    var metricsHost: String = environment("CS_METRICS_HOST") ?? "127.0.0.1"

    private var httpRateLimitExemptList: [String] {
        httpRateLimitExempt == "none" ? [] : Self.list(httpRateLimitExempt)
    }

    private static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private var rateLimitExemptList: [String] {
        rateLimitExempt.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func validate() throws {
        guard rateLimitFramesPerSecond >= 0, rateLimitFramesPerSecond.isFinite, rateLimitConnectionsPerSecond >= 0, rateLimitConnectionsPerSecond.isFinite else {
            throw ValidationError("--rate-limit-frames-per-second and --rate-limit-connections-per-second must be >= 0 (0: no limit)")
        }
        guard (1...3_600).contains(pingIntervalSeconds) else { throw ValidationError("--ping-interval-seconds must be 1 to 3600") }
        guard rateLimitBurst >= 1, rateLimitConnectionBurst >= 1 else { throw ValidationError("--rate-limit-burst and --rate-limit-connection-burst must be >= 1") }
        for block in rateLimitExemptList where CIDRBlock(block) == nil {
            throw ValidationError("--rate-limit-exempt: '\(block)' is not an address block like 127.0.0.0/8 or ::1/128")
        }
        for block in httpRateLimitExemptList where CIDRBlock(block) == nil {
            throw ValidationError("--rate-limit-http-exempt: '\(block)' is not an address block like 127.0.0.0/8 or ::1/128")
        }
        for rate in [loginsPerMinute, sessionsPerMinute, offlineMessagesPerMinute] where !(rate >= 0 && rate.isFinite) {
            throw ValidationError("--rate-limit-logins-per-minute, -sessions-per-minute and -offline-messages-per-minute must be >= 0 (0: no limit)")
        }
        if let metricsPort, !(0...65_535).contains(metricsPort) { throw ValidationError("--metrics-port must be 0...65535") }
        guard loginFailureLimit >= 1 else { throw ValidationError("--login-failure-limit must be >= 1") }
        guard (1...600).contains(httpHeaderTimeoutSeconds) else { throw ValidationError("--http-header-timeout-seconds must be 1 to 600") }
        var isDirectory: ObjCBool = false
        if let staticDirectory, !(FileManager.default.fileExists(atPath: staticDirectory, isDirectory: &isDirectory) && isDirectory.boolValue) {
            throw ValidationError("--static-dir: \(staticDirectory) is not a folder")
        }
        for origin in originList where origin != "*" && GatewayConfiguration.normalizedOrigin(origin) == nil {
            throw ValidationError("--allowed-origins: '\(origin)' is not an origin like https://shop.example.com")
        }
        if let adminKey, adminKey.utf8.count < 32 { throw ValidationError("--admin-key must be at least 32 bytes") }
        if let adminKey, let problem = ExampleSecrets.problem(adminKey, name: "--admin-key (CS_ADMIN_KEY)") { throw ValidationError(problem) }
        if let problem = ExampleSecrets.problem(jwtSecret, name: "--jwt-secret (CS_JWT_SECRET)") { throw ValidationError(problem) }
        guard (100...600_000).contains(heartbeatMilliseconds) else { throw ValidationError("--heartbeat-ms must be 100...600000") }
        guard presenceTTLMilliseconds >= 300 else { throw ValidationError("--presence-ttl-ms must be at least 300") }
        guard jwtSecret.utf8.count >= 32 else {
            throw ValidationError("--jwt-secret (or CS_JWT_SECRET) must be at least 32 bytes (e.g. openssl rand -hex 32)")
        }
    }

    private var originList: [String] {
        allowedOrigins.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    @Option(name: .customLong("ping-interval-seconds"), help: "A WebSocket client silent this long gets a ping; silent for another interval, it is disconnected (env CS_PING_INTERVAL_SECONDS; 1 to 3600).")
    var pingIntervalSeconds: Int = environment("CS_PING_INTERVAL_SECONDS").flatMap(Int.init) ?? 30

    @Option(name: .customLong("heartbeat-ms"), help: "How often the heartbeat hash cs:{ops}:proc:<id> is written (env CS_HEARTBEAT_MS).")
    var heartbeatMilliseconds: Int = environment("CS_HEARTBEAT_MS").flatMap(Int.init) ?? 5_000

    func run() async throws {
        // Metrics created before the bootstrap would report nowhere: bootstrap first.
        Monitoring.bootstrap()
        let stats = ProcessStats(role: "gateway", id: gatewayID)
        common.bootstrapLogging(stats: stats)
        var logger = Logger(label: "cs-gateway")
        logger[metadataKey: "gateway"] = "\(gatewayID)"
        var configuration = GatewayConfiguration(
            redis: try common.redisConfiguration(clientName: gatewayID), host: host, port: port, gatewayID: gatewayID,
            jwtSecret: jwtSecret, partitions: common.partitions)
        configuration.presenceTTLMilliseconds = presenceTTLMilliseconds
        configuration.adminKey = adminKey
        configuration.allowedOrigins = originList.map { $0 == "*" ? "*" : GatewayConfiguration.normalizedOrigin($0) ?? $0 }
        configuration.staticDirectory = staticDirectory
        configuration.heartbeatInterval = .milliseconds(heartbeatMilliseconds)
        configuration.rateLimitFramesPerSecond = rateLimitFramesPerSecond
        configuration.rateLimitBurst = rateLimitBurst
        configuration.rateLimitConnectionsPerSecond = rateLimitConnectionsPerSecond
        configuration.rateLimitConnectionBurst = rateLimitConnectionBurst
        configuration.rateLimitExempt = rateLimitExemptList
        configuration.loginsPerMinute = loginsPerMinute
        configuration.sessionsPerMinute = sessionsPerMinute
        configuration.offlineMessagesPerMinute = offlineMessagesPerMinute
        configuration.httpRateLimitExempt = httpRateLimitExemptList
        configuration.loginFailureLimit = loginFailureLimit
        configuration.httpHeaderTimeout = .seconds(httpHeaderTimeoutSeconds)
        configuration.metricsAddress = metricsPort.map { (metricsHost, $0) }
        configuration.enableTestEcho = enableTestEcho
        configuration.allowPrivateWebhookTargets = allowPrivateWebhookTargets
        configuration.pingIntervalSeconds = pingIntervalSeconds
        attachments.apply(to: &configuration)
        try await buildGateway(configuration, logger: logger, stats: stats).run()
    }
}
