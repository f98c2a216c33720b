import CSCore
import CSRedis
import CSServer
import Logging
import ServiceLifecycle

/// Everything a notifier process needs to start.
public struct NotifierConfiguration: Sendable {
    public var redis: RedisConfiguration
    public var notifierID: String
    public var batchSize = 100
    public var blockMilliseconds = 1_000

    public init(redis: RedisConfiguration, notifierID: String) {
        self.redis = redis
        self.notifierID = notifierID
    }
}

/// Consumes `cs:{notify}:in` in the `notifiers` consumer group.
///
/// Announcements, reminders and targeted pushes arrive with the notifier feature; today each
/// request is logged and acknowledged, pending entries of a crashed notifier are claimed, and
/// acknowledged entries are trimmed, so the stream never grows without bound.
public struct NotifierService: Service {
    let configuration: NotifierConfiguration
    let logger: Logger

    public func run() async throws {
        var readerConfiguration = configuration.redis
        readerConfiguration.clientName = configuration.notifierID
        readerConfiguration.commandTimeout = .milliseconds(configuration.blockMilliseconds) + configuration.redis.commandTimeout
        let redis = RedisClient(configuration: readerConfiguration, logger: logger)
        let stream = RedisKeys.notifyStream
        let group = RedisKeys.notifierGroup
        var pendingFirst = true
        var backoff = Duration.milliseconds(100)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if pendingFirst {
                    do {
                        _ = try await redis.send("XGROUP", "CREATE", .init(stream), .init(group), "0", "MKSTREAM")
                    } catch let error as RedisError where error.redisErrorPrefix == "BUSYGROUP" {}
                    var cursor = "0-0"
                    repeat {
                        let reply = try await redis.send(
                            "XAUTOCLAIM", .init(stream), .init(group), .init(configuration.notifierID), "60000", .init(cursor),
                            "COUNT", "1000", "JUSTID")
                        cursor = reply.array?.first?.string ?? "0-0"
                    } while cursor != "0-0"
                }
                var command: [RedisArgument] = [
                    "XREADGROUP", "GROUP", .init(group), .init(configuration.notifierID), "COUNT", .init(configuration.batchSize),
                ]
                if !pendingFirst { command += ["BLOCK", .init(configuration.blockMilliseconds)] }
                command += ["STREAMS", .init(stream), pendingFirst ? "0" : ">"]
                let entries = try await redis.send(command).array?.first?.array?.last?.array ?? []
                if entries.isEmpty {
                    pendingFirst = false
                    continue
                }
                var ids: [RedisArgument] = []
                for entry in entries {
                    guard let parts = entry.array, let id = parts.first?.string else { continue }
                    let fields = parts.count > 1 ? parts[1].fieldMap : [:]
                    logger.info("notification request", metadata: ["entry": "\(id)", "kind": "\(fields["k"] ?? "?")"])
                    ids.append(.init(id))
                }
                _ = try await redis.send(["XACK", .init(stream), .init(group)] + ids)
                // Entries every consumer has acknowledged are of no further use.
                if let oldestPending = try await redis.send("XPENDING", .init(stream), .init(group)).array?.dropFirst().first?.string {
                    _ = try await redis.send("XTRIM", .init(stream), "MINID", "~", .init(oldestPending))
                } else if let last = ids.last {
                    _ = try await redis.send("XTRIM", .init(stream), "MINID", "~", last)
                }
                backoff = .milliseconds(100)
            } catch {
                logger.warning("notifier read failed; retrying", metadata: ["error": "\(error)"])
                pendingFirst = true
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
        await redis.close()
    }
}

/// Composes a notifier process.
public func buildNotifier(_ configuration: NotifierConfiguration, logger: Logger) -> ServiceGroup {
    ServiceGroup(
        configuration: .init(
            services: [NotifierService(configuration: configuration, logger: logger)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
}
