import CSCore
import CSRedis
import CSServer
import Logging
import NIOCore

/// Consumes one inbound partition while this dispatcher holds its lease.
///
/// Entries are processed one at a time in stream order and acknowledged (XACK) only after their
/// effects are committed; entries a previous owner left pending are claimed and finished first.
struct PartitionWorker {
    let lease: PartitionLease
    let configuration: DispatcherConfiguration
    let redis: RedisClient
    let routing: RoutingClient
    /// The dispatcher's loop: the reader's replies arrive where the worker runs.
    let eventLoop: any EventLoop
    let logger: Logger
    /// Skills agents were seen with (`resolveSkill`).
    let agentSkills = KnownAgentSkills()

    private var stream: String { RedisKeys.inbound(partition: lease.partition) }

    func run() async {
        defer { lease.markFinished() }
        // Blocking reads get their own connection so they never stall the shared pipeline.
        var readerConfiguration = configuration.redis
        readerConfiguration.clientName = "\(configuration.dispatcherID)-p\(lease.partition)"
        readerConfiguration.commandTimeout = .milliseconds(configuration.blockMilliseconds) + configuration.redis.commandTimeout
        let reader = RedisClient(configuration: readerConfiguration, eventLoopGroup: eventLoop, logger: logger)
        let store = ConversationStore(redis: redis, configuration: configuration, fence: lease.token)
        var backoff = Duration.milliseconds(100)
        var recovering = true
        // Failures of entries that are about the entry (see `DeadLetters.isEntryFailure`), by
        // entry id; an entry leaves for the dead letters at `maxAttempts`.
        var failures: [String: Int] = [:]
        // Finished entries travel with the next read (one round trip for both).
        var acknowledgement = Acknowledgement()
        // A batch's last appends go out in the pipeline of the next read (`CarriedAppends`).
        var carried = CarriedAppends()
        logger.info("partition acquired")
        while lease.mayProcess && !Task.isCancelled {
            do {
                if recovering {
                    // Acknowledge first: XAUTOCLAIM would hand finished entries back to us.
                    try await send(&acknowledgement, with: [], on: reader)
                    try await claimPending(reader)
                }
                let sending = carried
                carried = CarriedAppends()
                let sentAt = nowMilliseconds()
                let (entries, carriedReplies) = try await read(
                    reader, pending: recovering, acknowledging: &acknowledgement, carrying: sending.pending.map(\.command))
                if !sending.pending.isEmpty {
                    // The appends ran before the read: settle them before anything newer. On a
                    // failure the entries just read stay pending and are read again.
                    var settled = AppendBatch()
                    do {
                        try await store.record(sending.pending, replies: carriedReplies, into: &settled, committedAt: sentAt)
                    } catch {
                        acknowledgement.add(settled.committed)
                        throw await settle(error, in: sending.entries, failures: &failures)
                    }
                    if !failures.isEmpty { for id in settled.committed { failures[id] = nil } }
                    acknowledgement.add(settled.committed)
                }
                if recovering && entries.isEmpty {
                    recovering = false
                    continue
                }
                var finished: Set<String> = []
                var batch = AppendBatch()
                var failure: (any Error)?
                for (id, fields) in entries {
                    guard lease.mayProcess else { break }
                    do {
                        if try await !process(id: id, fields: fields, store: store, batch: &batch) { finished.insert(id) }
                    } catch let batchFailure as AppendBatch.Failure {
                        failure = await settle(batchFailure, in: entries, failures: &failures)
                        break
                    } catch {
                        failure = await settle(error, entryID: id, fields: fields, failures: &failures)
                        if failure != nil { break }
                    }
                }
                if failure == nil && lease.mayProcess {
                    // Carrying is off: a carried append refused FENCED comes back with the read
                    // it rode with, which has already handed new entries to this consumer that
                    // is now giving the partition up, and the new owner does not claim them
                    // again until it recovers (found by the fencing failover test). Flushing
                    // first, as before, never reads after a refused write. Also: a read of the
                    // pending list would return carried entries again, and webhook events wait
                    // for the appends' seqs, which a blocking read would delay.
                    if Self.carriesAppends == false || recovering || batch.pending.contains(where: { $0.webhook != nil }) {
                        do {
                            try await store.flush(&batch)
                        } catch {
                            failure = await settle(error, in: entries, failures: &failures)
                        }
                    } else {
                        // Appends left at the end of the batch ride with the next read: one round
                        // trip (and one wake of this loop) per batch instead of two.
                        carried = CarriedAppends(pending: batch.takePending(), entries: entries)
                    }
                }
                finished.formUnion(batch.committed)
                if !failures.isEmpty { for id in finished { failures[id] = nil } }
                acknowledgement.add(entries.map(\.0).filter(finished.contains))
                if let failure { throw failure }
                backoff = .milliseconds(100)
            } catch {
                // Whatever was carried was not sent, or not settled: read again from the pending list.
                carried = CarriedAppends()
                if DeadLetters.isFenced(error) {
                    // A later owner has the partition (we stalled past our lease): stop writing.
                    logger.warning("partition taken over by a newer lease; giving it up", metadata: ["error": "\(error)"])
                    lease.requestStop()
                    break
                }
                // Nothing unfinished was acknowledged: re-read our pending entries after a pause.
                if !(error is EntryRetry) {
                    logger.warning("partition processing failed; retrying", metadata: ["error": "\(error)"])
                }
                recovering = true
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(2))
            }
        }
        if !carried.pending.isEmpty && !lease.isExpired {
            // Stopping (not expired): commit what the next read would have carried, then ack it.
            var batch = AppendBatch()
            for item in carried.pending { batch.add(entryID: item.entryID, acceptedAt: item.acceptedAt, command: item.command, webhook: item.webhook) }
            _ = try? await store.flush(&batch)
            acknowledgement.add(batch.committed)
        }
        do {
            try await send(&acknowledgement, with: [], on: reader)
        } catch {
            logger.warning("finished entries left unacknowledged; they will be processed again", metadata: ["error": "\(error)"])
        }
        await reader.close()
        logger.info("partition released", metadata: ["stopRequested": "\(lease.isStopRequested)"])
    }

    /// What a failed entry means for the batch: nil when it moved to the dead letters (go on with
    /// the next entry), else the error that stops the batch (its entries are read again).
    private func settle(_ error: any Error, entryID id: String, fields: [String: String]?, failures: inout [String: Int]) async -> (any Error)? {
        guard DeadLetters.isEntryFailure(error) else { return error }
        let isMalformed = error is MalformedInboundEntry
        let attempts = isMalformed ? 1 : failures[id, default: 0] + 1
        failures[id] = attempts
        guard isMalformed || attempts >= configuration.maxAttempts else {
            logger.warning(
                "inbound entry failed; retrying",
                metadata: [
                    "entry": "\(id)", "attempt": "\(attempts)", "maxAttempts": "\(configuration.maxAttempts)",
                    "error": "\(DeadLetters.describe(error, fields: fields))",
                ])
            return EntryRetry(underlying: error)
        }
        // Moved and acknowledged in one step.
        do {
            try await deadLetter(entryID: id, fields: fields, error: error, attempts: attempts)
        } catch {
            return error
        }
        failures[id] = nil
        return nil
    }

    /// A failed batch append (`AppendBatch.Failure`) names its own entry; the appends queued after
    /// it were dropped, so the batch always stops and its unacknowledged entries are read again.
    private func settle(_ error: any Error, in entries: [(String, [String: String]?)], failures: inout [String: Int]) async -> any Error {
        guard let failure = error as? AppendBatch.Failure else { return error }
        let fields = entries.first { $0.0 == failure.entryID }?.1
        return await settle(failure.underlying, entryID: failure.entryID, fields: fields, failures: &failures)
            ?? EntryRetry(underlying: failure.underlying)
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

    /// Our pending entries (`0`) while recovering, else new ones (`>`, blocking), sent in one
    /// pipeline after the acknowledgement of the entries finished before and the `carrying`
    /// commands (appends of the previous batch); returns the entries and the carried replies.
    private func read(
        _ reader: RedisClient, pending: Bool, acknowledging acknowledgement: inout Acknowledgement, carrying: [[RedisArgument]] = []
    ) async throws -> (entries: [(String, [String: String]?)], carried: [RESPValue]) {
        var command: [RedisArgument] = [
            "XREADGROUP", "GROUP", .init(RedisKeys.dispatcherGroup), .init(configuration.dispatcherID),
            "COUNT", .init(configuration.batchSize),
        ]
        if !pending { command += ["BLOCK", .init(configuration.blockMilliseconds)] }
        command += ["STREAMS", .init(stream), pending ? "0" : ">"]
        let replies = try await send(&acknowledgement, with: carrying + [command], on: reader)
        let carried = Array(replies.dropLast())
        let reply = replies.last
        if let error = reply?.redisError { throw error }
        guard let streams = reply?.array, let entries = streams.first?.array?.last?.array else { return ([], carried) }
        return (
            entries.compactMap { entry in
                guard let parts = entry.array, let id = parts.first?.string else { return nil }
                // A nil field list is an entry deleted while pending: acknowledge it and move on.
                return (id, parts.count > 1 && !parts[1].isNull ? parts[1].fieldMap : nil)
            }, carried
        )
    }

    /// Sends XACK (and, at most once a second, XTRIM) for the finished entries, followed by
    /// `commands` in the same pipeline; returns the replies to `commands`.
    @discardableResult
    private func send(
        _ acknowledgement: inout Acknowledgement, with commands: [[RedisArgument]], on reader: RedisClient
    ) async throws -> [RESPValue] {
        let acknowledging = acknowledgement.commands(stream: stream)
        guard !(acknowledging.isEmpty && commands.isEmpty) else { return [] }
        let replies = try await reader.pipeline(acknowledging + commands)
        for reply in replies.prefix(acknowledging.count) {
            if let error = reply.redisError { throw error }
        }
        acknowledgement.sent(trimmed: acknowledging.count > 1)
        return Array(replies.dropFirst(acknowledging.count))
    }
}

extension PartitionWorker {
    /// Whether a batch's last appends ride with the next read (`CarriedAppends`). Off until a
    /// fenced carried append can no longer leave freshly read entries with a consumer that quits.
    static let carriesAppends = false
}

/// Appends queued at the end of a batch, sent ahead of the next read in its pipeline, with the
/// batch's entries (their fields, for a dead letter should one fail).
struct CarriedAppends {
    var pending: [AppendBatch.Pending] = []
    var entries: [(String, [String: String]?)] = []
}
