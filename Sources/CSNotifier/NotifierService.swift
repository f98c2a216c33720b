import CSCore
import CSRedis
import CSServer
import Logging
import ServiceLifecycle

/// Consumes `cs:{notify}:in` in the `notifiers` consumer group: stores, schedules, cancels and
/// fans out notifications. Every step is idempotent; an entry is acknowledged only after its
/// work is done, and entries a dead notifier left pending are taken over.
struct NotifierService: Service {
    let configuration: NotifierConfiguration
    let redis: RedisClient
    let logger: Logger

    func run() async throws {
        var readerConfiguration = configuration.redis
        readerConfiguration.clientName = configuration.notifierID + "-read"
        readerConfiguration.commandTimeout = .milliseconds(configuration.blockMilliseconds) + configuration.redis.commandTimeout
        let reader = RedisClient(configuration: readerConfiguration, logger: logger)
        let stream = RedisKeys.notifyStream
        let group = RedisKeys.notifierGroup
        var pendingFirst = true
        var groupReady = false
        var lastClaim = ContinuousClock.now
        var backoff = Duration.milliseconds(100)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                if !groupReady {
                    do {
                        _ = try await reader.send("XGROUP", "CREATE", .init(stream), .init(group), "0", "MKSTREAM")
                    } catch let error as RedisError where error.redisErrorPrefix == "BUSYGROUP" {}
                    groupReady = true
                }
                if pendingFirst || ContinuousClock.now - lastClaim > .milliseconds(configuration.claimIdleMilliseconds) {
                    // Claimed entries join our pending list: read it before new ones.
                    if try await claimAbandoned(reader) > 0 { pendingFirst = true }
                    lastClaim = .now
                }
                var command: [RedisArgument] = [
                    "XREADGROUP", "GROUP", .init(group), .init(configuration.notifierID), "COUNT", .init(configuration.batchSize),
                ]
                if !pendingFirst { command += ["BLOCK", .init(configuration.blockMilliseconds)] }
                command += ["STREAMS", .init(stream), pendingFirst ? "0" : ">"]
                let entries = try await reader.send(command).array?.first?.array?.last?.array ?? []
                if entries.isEmpty {
                    pendingFirst = false
                    continue
                }
                var done: [RedisArgument] = []
                for entry in entries {
                    guard let parts = entry.array, let id = parts.first?.string else { continue }
                    try await process(parts.count > 1 ? parts[1].fieldMap : [:])
                    done.append(.init(id))
                }
                _ = try await redis.send(["XACK", .init(stream), .init(group)] + done)
                try await trim()
                backoff = .milliseconds(100)
            } catch {
                logger.warning("notifier round failed; retrying", metadata: ["error": "\(error)"])
                pendingFirst = true
                groupReady = false
                try? await cancelWhenGracefulShutdown { [backoff] in try await Task.sleep(for: backoff) }
                backoff = min(backoff * 2, .seconds(2))
            }
        }
        await reader.close()
    }

    /// Takes over entries idle longer than the claim time (their notifier died mid-work);
    /// returns how many.
    private func claimAbandoned(_ reader: RedisClient) async throws -> Int {
        let stream = RedisKeys.notifyStream
        var cursor = "0-0"
        var claimed = 0
        repeat {
            let reply = try await reader.send(
                "XAUTOCLAIM", .init(stream), .init(RedisKeys.notifierGroup), .init(configuration.notifierID),
                .init(configuration.claimIdleMilliseconds), .init(cursor), "COUNT", "1000", "JUSTID")
            cursor = reply.array?.first?.string ?? "0-0"
            claimed += (reply.array?.count ?? 0) > 1 ? reply.array?[1].array?.count ?? 0 : 0
        } while cursor != "0-0"
        if claimed > 0 { logger.notice("took over notification work left by another notifier", metadata: ["entries": "\(claimed)"]) }
        return claimed
    }

    /// Entries every consumer read and acknowledged are of no further use: trim below the
    /// oldest pending entry, or below the group's last-delivered id when nothing is pending
    /// (never past it: entries after it have not been read yet).
    private func trim() async throws {
        let summary = try await redis.send("XPENDING", .init(RedisKeys.notifyStream), .init(RedisKeys.notifierGroup)).array ?? []
        var floor: String?
        if summary.count > 1, let oldest = summary[1].string {
            floor = oldest
        } else {
            let groups = try await redis.send("XINFO", "GROUPS", .init(RedisKeys.notifyStream)).array ?? []
            for group in groups where group.fieldMap["name"] == RedisKeys.notifierGroup {
                floor = group.fieldMap["last-delivered-id"]
            }
        }
        if let floor { _ = try await redis.send("XTRIM", .init(RedisKeys.notifyStream), "MINID", "~", .init(floor)) }
    }
}
