import CSCore
import CSRedis
import CSServer
import Logging

/// Consumes one inbound partition while this dispatcher holds its lease.
///
/// Entries are processed one at a time in stream order and acknowledged (XACK) only after their
/// effects are committed; entries a previous owner left pending are claimed and finished first.
struct PartitionWorker {
    let lease: PartitionLease
    let configuration: DispatcherConfiguration
    let redis: RedisClient
    let routing: RoutingClient
    let logger: Logger

    private var stream: String { RedisKeys.inbound(partition: lease.partition) }

    func run() async {
        defer { lease.markFinished() }
        // Blocking reads get their own connection so they never stall the shared pipeline.
        var readerConfiguration = configuration.redis
        readerConfiguration.clientName = "\(configuration.dispatcherID)-p\(lease.partition)"
        readerConfiguration.commandTimeout = .milliseconds(configuration.blockMilliseconds) + configuration.redis.commandTimeout
        let reader = RedisClient(configuration: readerConfiguration, logger: logger)
        let store = ConversationStore(redis: redis, configuration: configuration)
        var backoff = Duration.milliseconds(100)
        var recovering = true
        // Failures of entries that are about the entry (see `DeadLetters.isEntryFailure`), by
        // entry id; an entry leaves for the dead letters at `maxAttempts`.
        var failures: [String: Int] = [:]
        logger.info("partition acquired")
        while lease.mayProcess && !Task.isCancelled {
            do {
                if recovering {
                    try await claimPending(reader)
                }
                let entries = try await read(reader, pending: recovering)
                if recovering && entries.isEmpty {
                    recovering = false
                    continue
                }
                var done: [RedisArgument] = []
                var failure: (any Error)?
                for (id, fields) in entries {
                    guard lease.mayProcess else { break }
                    do {
                        try await process(id: id, fields: fields, store: store)
                        if !failures.isEmpty { failures[id] = nil }
                        done.append(.init(id))
                    } catch let error where DeadLetters.isEntryFailure(error) {
                        let attempts = error is MalformedInboundEntry ? 1 : failures[id, default: 0] + 1
                        failures[id] = attempts
                        guard error is MalformedInboundEntry || attempts >= configuration.maxAttempts else {
                            logger.warning(
                                "inbound entry failed; retrying",
                                metadata: [
                                    "entry": "\(id)", "attempt": "\(attempts)", "maxAttempts": "\(configuration.maxAttempts)",
                                    "error": "\(DeadLetters.describe(error, fields: fields))",
                                ])
                            failure = EntryRetry(underlying: error)
                            break
                        }
                        // Moved and acknowledged in one step; the next entries go on.
                        do {
                            try await deadLetter(entryID: id, fields: fields, error: error, attempts: attempts)
                        } catch {
                            failure = error
                            break
                        }
                        failures[id] = nil
                    } catch {
                        failure = error
                        break
                    }
                }
                // Acknowledge what is finished even when a later entry failed: only that entry
                // and the ones after it are read again.
                if let last = done.last {
                    _ = try await redis.pipeline([
                        ["XACK", .init(stream), .init(RedisKeys.dispatcherGroup)] + done,
                        ["XTRIM", .init(stream), "MINID", "~", last],
                    ])
                }
                if let failure { throw failure }
                backoff = .milliseconds(100)
            } catch {
                // Nothing unfinished was acknowledged: re-read our pending entries after a pause.
                if !(error is EntryRetry) {
                    logger.warning("partition processing failed; retrying", metadata: ["error": "\(error)"])
                }
                recovering = true
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
        await reader.close()
        logger.info("partition released", metadata: ["stopRequested": "\(lease.isStopRequested)"])
    }

    /// An entry failed below `maxAttempts` (already logged): read it again after the backoff.
    private struct EntryRetry: Error {
        let underlying: any Error
    }

    /// Creates the group if needed and takes over entries another consumer read but never acked.
    private func claimPending(_ reader: RedisClient) async throws {
        do {
            _ = try await reader.send("XGROUP", "CREATE", .init(stream), .init(RedisKeys.dispatcherGroup), "0", "MKSTREAM")
        } catch let error as RedisError where error.redisErrorPrefix == "BUSYGROUP" {}
        var cursor = "0-0"
        repeat {
            let reply = try await reader.send(
                "XAUTOCLAIM", .init(stream), .init(RedisKeys.dispatcherGroup), .init(configuration.dispatcherID), "0",
                .init(cursor), "COUNT", "1000", "JUSTID")
            cursor = reply.array?.first?.string ?? "0-0"
        } while cursor != "0-0"
    }

    /// Our pending entries (`0`) while recovering, else new ones (`>`, blocking).
    private func read(_ reader: RedisClient, pending: Bool) async throws -> [(String, [String: String]?)] {
        var command: [RedisArgument] = [
            "XREADGROUP", "GROUP", .init(RedisKeys.dispatcherGroup), .init(configuration.dispatcherID),
            "COUNT", .init(configuration.batchSize),
        ]
        if !pending { command += ["BLOCK", .init(configuration.blockMilliseconds)] }
        command += ["STREAMS", .init(stream), pending ? "0" : ">"]
        let reply = try await reader.send(command)
        guard let streams = reply.array, let entries = streams.first?.array?.last?.array else { return [] }
        return entries.compactMap { entry in
            guard let parts = entry.array, let id = parts.first?.string else { return nil }
            // A nil field list is an entry deleted while pending: acknowledge it and move on.
            return (id, parts.count > 1 && !parts[1].isNull ? parts[1].fieldMap : nil)
        }
    }
}
