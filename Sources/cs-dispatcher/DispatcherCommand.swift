import ArgumentParser
import CSCore
import CSDispatcher
import CSMonitoring
import CSServer
import Logging

@main
struct DispatcherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cs-dispatcher",
        abstract: "Consumes the inbound streams, assigns agents and delivers messages through pub/sub.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var monitoring: MonitoringOptions

    @Option(name: .customLong("dispatcher-id"), help: "Unique id of this dispatcher (env CS_DISPATCHER_ID; default d-<host>-<pid>).")
    var dispatcherID: String = environment("CS_DISPATCHER_ID") ?? defaultProcessID("d")

    @Option(name: .customLong("lease-ms"), help: "Partition lease time in ms; a dead dispatcher's partitions move after it (env CS_LEASE_MS).")
    var leaseMilliseconds: Int = environment("CS_LEASE_MS").flatMap(Int.init) ?? 10_000

    @Option(name: .customLong("batch"), help: "Entries read per XREADGROUP (env CS_BATCH).")
    var batch: Int = environment("CS_BATCH").flatMap(Int.init) ?? 200

    @Option(name: .customLong("presence-grace-ms"), help: "Grace after an agent's last connection drops before their conversations are requeued (env CS_PRESENCE_GRACE_MS).")
    var presenceGraceMilliseconds: Int = environment("CS_PRESENCE_GRACE_MS").flatMap(Int.init) ?? 60_000

    @Option(name: .customLong("rating-window-seconds"), help: "How long after a close the customer may rate or change their rating (env CS_RATING_WINDOW_SECONDS).")
    var ratingWindowSeconds: Int = environment("CS_RATING_WINDOW_SECONDS").flatMap(Int.init) ?? 86_400

    @Option(name: .customLong("max-attempts"), help: "Failures of one inbound entry before it moves to the partition's dead letters, cs:{p<N>}:dead (env CS_MAX_ATTEMPTS).")
    var maxAttempts: Int = environment("CS_MAX_ATTEMPTS").flatMap(Int.init) ?? 5

    @Option(name: .customLong("skills"), help: "Comma-separated skills customers may ask for even while no agent has them; other unknown skills become `default` (env CS_SKILLS).")
    var skills: String = environment("CS_SKILLS") ?? ""

    @Option(name: .customLong("max-queues"), help: "Skill queues at most; a skill that would open one more becomes `default` (env CS_MAX_QUEUES).")
    var maxQueues: Int = environment("CS_MAX_QUEUES").flatMap(Int.init) ?? 1_000

    func validate() throws {
        guard (1...1_000).contains(maxAttempts) else { throw ValidationError("--max-attempts must be 1...1000") }
        guard ratingWindowSeconds >= 0 else { throw ValidationError("--rating-window-seconds must be >= 0") }
        guard presenceGraceMilliseconds >= 0 else { throw ValidationError("--presence-grace-ms must be >= 0") }
        guard leaseMilliseconds >= 1_000 else { throw ValidationError("--lease-ms must be at least 1000") }
        guard (1...10_000).contains(batch) else { throw ValidationError("--batch must be 1...10000") }
    }

    func run() async throws {
        // Metrics created before the bootstrap would report nowhere: bootstrap first.
        Monitoring.bootstrap()
        let stats = ProcessStats(role: "dispatcher", id: dispatcherID)
        common.bootstrapLogging(stats: stats)
        var logger = Logger(label: "cs-dispatcher")
        logger[metadataKey: "dispatcher"] = "\(dispatcherID)"
        var configuration = DispatcherConfiguration(
            redis: try common.redisConfiguration(clientName: dispatcherID), dispatcherID: dispatcherID, partitions: common.partitions)
        configuration.leaseMilliseconds = leaseMilliseconds
        configuration.batchSize = batch
        configuration.presenceGraceMilliseconds = presenceGraceMilliseconds
        configuration.ratingWindowMilliseconds = ratingWindowSeconds * 1000
        configuration.stats = stats
        configuration.heartbeatInterval = .milliseconds(monitoring.heartbeatMilliseconds)
        configuration.metricsAddress = monitoring.metricsPort.map { (monitoring.metricsHost, $0) }
        configuration.maxAttempts = maxAttempts
        let configuredSkills = skills.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if let invalid = configuredSkills.first(where: { !Identifier.isValid($0, maxLength: ClientFrame.Limits.maxSkillLength) }) {
            throw ValidationError("--skills: invalid skill \"\(invalid)\"")
        }
        guard maxQueues >= 1 else { throw ValidationError("--max-queues must be at least 1") }
        configuration.skillPolicy = SkillPolicy(configured: Set(configuredSkills), maxQueues: maxQueues)
        logger.notice("dispatcher starting", metadata: ["partitions": "\(common.partitions)", "leaseMs": "\(leaseMilliseconds)"])
        try await buildDispatcher(configuration, logger: logger).run()
    }
}
