import ArgumentParser
import CSMonitoring
import CSNotifier
import CSServer
import Logging

@main
struct NotifierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cs-notifier", abstract: "Consumes notification requests and pushes them to users.")

    @OptionGroup var common: CommonOptions
    @OptionGroup var monitoring: MonitoringOptions

    @Option(name: .customLong("notifier-id"), help: "Unique id of this notifier (env CS_NOTIFIER_ID; default n-<host>-<pid>).")
    var notifierID: String = environment("CS_NOTIFIER_ID") ?? defaultProcessID("n")

    func run() async throws {
        // Metrics created before the bootstrap would report nowhere: bootstrap first.
        Monitoring.bootstrap()
        let stats = ProcessStats(role: "notifier", id: notifierID)
        common.bootstrapLogging(stats: stats)
        var logger = Logger(label: "cs-notifier")
        logger[metadataKey: "notifier"] = "\(notifierID)"
        var configuration = NotifierConfiguration(redis: try common.redisConfiguration(clientName: notifierID), notifierID: notifierID)
        configuration.stats = stats
        configuration.heartbeatInterval = .milliseconds(monitoring.heartbeatMilliseconds)
        configuration.metricsAddress = monitoring.metricsPort.map { (monitoring.metricsHost, $0) }
        logger.notice("notifier starting")
        try await buildNotifier(configuration, logger: logger).run()
    }
}
