import CSCore
import CSRedis
import CSServer

extension ConversationStore {
    /// Queues the append of `frame` in `batch` instead of sending it now (see `AppendBatch`).
    func appendLater(
        _ frame: CommittedFrame, to state: ConversationState, dedupID: String, recipients: [String],
        entryID: String, acceptedAt: Int, batch: inout AppendBatch
    ) {
        let (keys, arguments) = appendArguments(frame, to: state, dedupID: dedupID, recipients: recipients, alternative: nil)
        batch.add(
            entryID: entryID, acceptedAt: acceptedAt, command: ConversationScripts.append.callCommand(keys: keys, arguments: arguments),
            webhook: wantedWebhook(frame) == nil ? nil : (frame, state.id))
    }

    /// Sends the batch's queued appends as one pipeline and moves their entries to `committed`.
    ///
    /// - Throws: `AppendBatch.Failure` for the first append that failed (those before it are
    ///   committed, those after it are dropped from the batch and processed again later).
    func flush(_ batch: inout AppendBatch) async throws {
        let pending = batch.takePending()
        guard !pending.isEmpty else { return }
        let replies: [RESPValue]
        do {
            replies = try await redis.pipeline(pending.map(\.command))
        } catch {
            throw AppendBatch.Failure(entryID: pending[0].entryID, underlying: error)
        }
        try await record(pending, replies: replies, into: &batch)
    }

    /// Reads the replies of `pending` appends, sent in one pipeline in order (by `flush`, or ahead
    /// of a read, `PartitionWorker`): moves their entries to `batch.committed` up to the first that
    /// failed.
    ///
    /// `committedAt` (ms) is when they were sent, for the commit latency: a read that carried them
    /// may block long after they ran.
    ///
    /// - Throws: `AppendBatch.Failure` for the first append that failed.
    func record(
        _ pending: [AppendBatch.Pending], replies: [RESPValue], into batch: inout AppendBatch, committedAt: Int? = nil
    ) async throws {
        var replies = replies
        // Redis lost its functions (a FUNCTION FLUSH, or it came back without its data): every
        // append from the first missing one on failed and none of those ran (one pipeline is
        // never interleaved with other commands), so load the library and resend them.
        if let first = replies.firstIndex(where: { $0.redisError?.isMissingFunction == true }) {
            do {
                if try await redis.reloadFunctions(for: ConversationScripts.append) {
                    replies = Array(replies[..<first]) + (try await redis.pipeline(pending[first...].map(\.command)))
                }
            } catch {
                throw AppendBatch.Failure(entryID: pending[first].entryID, underlying: error)
            }
        }
        let now = committedAt ?? nowMilliseconds()
        var seqs: [Int] = []
        var failure: AppendBatch.Failure?
        for (item, reply) in zip(pending, replies) {
            do {
                let (isNew, seq) = try Self.appendResult(reply)
                if isNew { configuration.stats.messageOut() }
                seqs.append(seq)
            } catch {
                failure = AppendBatch.Failure(entryID: item.entryID, underlying: error)
                break
            }
            configuration.stats.latency.recordMilliseconds(max(0, now - item.acceptedAt))
        }
        // Webhook events of the committed appends, before any of them is acknowledged.
        var committed = seqs.count
        do {
            try await recordWebhooks(of: pending, seqs: seqs)
        } catch {
            let first = pending.prefix(seqs.count).firstIndex { $0.webhook != nil } ?? 0
            committed = first
            failure = AppendBatch.Failure(entryID: pending[first].entryID, underlying: error)
        }
        batch.committed.append(contentsOf: pending.prefix(committed).map(\.entryID))
        if let failure { throw failure }
    }
}
