import ArgumentParser
import CSCore
import CSMonitoring
import CSServer
import CSWebhooks
import Logging

@main
struct WebhooksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cs-webhooks", abstract: "Posts signed webhook events to the registered endpoints (docs/operations.md \"Webhooks\").")

    @OptionGroup var common: CommonOptions
    @OptionGroup var monitoring: MonitoringOptions

    @Option(name: .customLong("webhooks-id"), help: "Unique id of this process (env CS_WEBHOOKS_ID; default w-<host>-<pid>).")
    var processID: String = environment("CS_WEBHOOKS_ID") ?? defaultProcessID("w")

    @Flag(name: .customLong("allow-private-targets"), help: "Deliver to private, loopback and link-local addresses (refused by default).")
    var allowPrivateTargets = false

    @Option(name: .customLong("retry-for-seconds"), help: "How long a failing delivery is retried before its dead letter (env CS_WEBHOOK_RETRY_SECONDS).")
    var retryForSeconds: Int = environment("CS_WEBHOOK_RETRY_SECONDS").flatMap(Int.init) ?? 86_400

    @Option(name: .customLong("retry-base-ms"), help: "First retry delay; doubles per failure.")
    var retryBaseMilliseconds: Int = 1_000

    @Option(name: .customLong("retry-cap-ms"), help: "Longest retry delay.")
    var retryCapMilliseconds: Int = 600_000

    @Option(name: .customLong("pause-after-seconds"), help: "An endpoint with no success for this long while failing is paused (env CS_WEBHOOK_PAUSE_AFTER_SECONDS).")
    var pauseAfterSeconds: Int = environment("CS_WEBHOOK_PAUSE_AFTER_SECONDS").flatMap(Int.init) ?? 3_600

    @Option(name: .customLong("lease-ms"), help: "Lease of the delivering process; a standby takes over this long after it died.")
    var leaseMilliseconds: Int = 10_000

    @Option(name: .customLong("connect-timeout-ms"), help: "Connect timeout of a delivery.")
    var connectTimeoutMilliseconds: Int = 5_000

    @Option(name: .customLong("request-timeout-ms"), help: "Timeout of a whole delivery request.")
    var requestTimeoutMilliseconds: Int = 10_000

    func validate() throws {
        guard Identifier.isValid(processID) else { throw ValidationError("--webhooks-id must be 1-64 characters of [A-Za-z0-9._-]") }
        guard retryForSeconds >= 0, pauseAfterSeconds >= 1 else { throw ValidationError("--retry-for-seconds >= 0, --pause-after-seconds >= 1") }
        guard retryBaseMilliseconds >= 1, retryCapMilliseconds >= retryBaseMilliseconds else { throw ValidationError("1 <= --retry-base-ms <= --retry-cap-ms") }
        guard leaseMilliseconds >= 1_000 else { throw ValidationError("--lease-ms must be at least 1000") }
        guard connectTimeoutMilliseconds >= 100, requestTimeoutMilliseconds >= 100 else { throw ValidationError("timeouts must be at least 100 ms") }
    }

    func run() async throws {
        Monitoring.bootstrap()
        let stats = ProcessStats(role: "webhooks", id: processID)
        common.bootstrapLogging(stats: stats)
        var logger = Logger(label: "cs-webhooks")
        logger[metadataKey: "webhooks"] = "\(processID)"
        var configuration = WebhookConfiguration(redis: try common.redisConfiguration(clientName: processID), processID: processID)
        configuration.stats = stats
        configuration.policy = WebhookURLPolicy(allowPrivateTargets: allowPrivateTargets)
        configuration.retry = WebhookRetryPolicy(
            baseMilliseconds: retryBaseMilliseconds, capMilliseconds: retryCapMilliseconds, giveUpAfterMilliseconds: retryForSeconds * 1_000)
        configuration.pauseAfterMilliseconds = pauseAfterSeconds * 1_000
        configuration.leaseMilliseconds = leaseMilliseconds
        configuration.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        configuration.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        configuration.heartbeatInterval = .milliseconds(monitoring.heartbeatMilliseconds)
        configuration.metricsAddress = monitoring.metricsPort.map { (monitoring.metricsHost, $0) }
        logger.notice("cs-webhooks starting")
        try await buildWebhooks(configuration, logger: logger).run()
    }
}
