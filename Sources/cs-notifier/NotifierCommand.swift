import ArgumentParser
import CSNotifier
import CSServer
import Logging

@main
struct NotifierCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cs-notifier", abstract: "Consumes notification requests and pushes them to users.")

    @OptionGroup var common: CommonOptions

    @Option(name: .customLong("notifier-id"), help: "Unique id of this notifier (env CS_NOTIFIER_ID; default n-<host>-<pid>).")
    var notifierID: String = environment("CS_NOTIFIER_ID") ?? defaultProcessID("n")

    func run() async throws {
        common.bootstrapLogging()
        var logger = Logger(label: "cs-notifier")
        logger[metadataKey: "notifier"] = "\(notifierID)"
        let configuration = NotifierConfiguration(redis: try common.redisConfiguration(clientName: notifierID), notifierID: notifierID)
        logger.notice("notifier starting")
        try await buildNotifier(configuration, logger: logger).run()
    }
}
