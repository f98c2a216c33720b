import ArgumentParser
import CSArchive
import CSMonitoring
import CSServer
import Logging

@main
struct ArchiverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cs-archiver", abstract: "Copies finished conversations from Redis to PostgreSQL, then lets Redis expire them.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var monitoring: MonitoringOptions

    @Option(name: .customLong("archiver-id"), help: "Unique id of this archiver (env CS_ARCHIVER_ID; default a-<host>-<pid>).")
    var archiverID: String = environment("CS_ARCHIVER_ID") ?? defaultProcessID("a")

    @Option(name: .customLong("database-url"), help: "PostgreSQL URL, postgres://user:password@host:port/database[?sslmode=require] (env CS_DATABASE_URL).")
    var databaseURL: String = environment("CS_DATABASE_URL") ?? "postgres://cs@127.0.0.1:5432/cs"

    @Option(name: .customLong("hot-window-seconds"), help: "How long after its close an archived conversation stays in Redis (env CS_HOT_WINDOW_SECONDS; default 8 days: the default rating window of 24 h plus 7 days). Never less than its rating window.")
    var hotWindowSeconds: Int = environment("CS_HOT_WINDOW_SECONDS").flatMap(Int.init) ?? RetentionPolicy.defaultHotWindowMilliseconds / 1000

    @Option(name: .customLong("claim-idle-ms"), help: "Take over entries another archiver left unacknowledged this long (env CS_ARCHIVER_CLAIM_IDLE_MS).")
    var claimIdleMilliseconds: Int = environment("CS_ARCHIVER_CLAIM_IDLE_MS").flatMap(Int.init) ?? 30_000

    @Option(name: .customLong("transaction-timeout-ms"), help: "How long one conversation's transaction may take, waiting for a connection included; then the round is retried (env CS_ARCHIVER_TRANSACTION_TIMEOUT_MS).")
    var transactionTimeoutMilliseconds: Int = environment("CS_ARCHIVER_TRANSACTION_TIMEOUT_MS").flatMap(Int.init) ?? 30_000

    @Option(name: .customLong("batch"), help: "Stream entries read at once (each conversation is its own transaction).")
    var batch: Int = 20

    @Option(name: .customLong("migrate"), help: "Apply missing schema migrations at start (true), or only check them (false: a role without CREATE; run cs-admin db migrate). Env CS_ARCHIVER_MIGRATE.")
    var migrate: Bool = environment("CS_ARCHIVER_MIGRATE").map { $0 != "false" } ?? true

    func validate() throws {
        guard hotWindowSeconds >= 0 else { throw ValidationError("--hot-window-seconds must be >= 0") }
        guard claimIdleMilliseconds >= 100 else { throw ValidationError("--claim-idle-ms must be >= 100") }
        guard transactionTimeoutMilliseconds >= 100 else { throw ValidationError("--transaction-timeout-ms must be >= 100") }
        guard (1...1000).contains(batch) else { throw ValidationError("--batch must be 1...1000") }
        let url: PostgresURL
        do { url = try PostgresURL(databaseURL) } catch { throw ValidationError("--database-url: \(error)") }
        if let password = url.password, let problem = ExampleSecrets.problem(password, name: "the password of --database-url") {
            throw ValidationError(problem)
        }
    }

    func run() async throws {
        Monitoring.bootstrap()
        let stats = ProcessStats(role: "archiver", id: archiverID)
        common.bootstrapLogging(stats: stats)
        var logger = Logger(label: "cs-archiver")
        logger[metadataKey: "archiver"] = "\(archiverID)"
        let url = try PostgresURL(databaseURL)
        var configuration = ArchiverConfiguration(redis: try common.redisConfiguration(clientName: archiverID), postgres: url, archiverID: archiverID)
        configuration.stats = stats
        configuration.retention = RetentionPolicy(hotWindowMilliseconds: hotWindowSeconds * 1000)
        configuration.claimIdleMilliseconds = claimIdleMilliseconds
        configuration.batchSize = batch
        configuration.transactionTimeoutMilliseconds = transactionTimeoutMilliseconds
        configuration.migrate = migrate
        configuration.heartbeatInterval = .milliseconds(monitoring.heartbeatMilliseconds)
        configuration.metricsAddress = monitoring.metricsPort.map { (monitoring.metricsHost, $0) }
        logger.notice("archiver starting", metadata: ["database": "\(url)", "hotWindowSeconds": "\(hotWindowSeconds)"])
        try await buildArchiver(configuration, logger: logger).run()
    }
}
