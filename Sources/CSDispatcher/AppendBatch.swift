import CSCore
import CSRedis

/// Appends of one partition batch waiting to go to Redis together: plain chat messages to
/// assigned conversations need no answer before the next entry, so their append scripts are
/// sent as one pipeline (one flush, one round trip) instead of one round trip each.
///
/// Order is kept: commands of one pipeline run in Redis in the order written, and every step that
/// is not a deferred append flushes the batch first (`ConversationStore.flush(_:)`). What is left
/// at the end of a batch is sent then (`CarriedAppends`, sending it with the next read, is off:
/// see `PartitionWorker.carriesAppends`).
struct AppendBatch {
    struct Pending {
        let entryID: String
        let acceptedAt: Int
        let command: [RedisArgument]
        /// The frame whose webhook event is recorded once its seq is known (`ConversationStore+Webhooks`).
        var webhook: (frame: CommittedFrame, conversationID: String)? = nil
    }

    /// An append of the batch failed. Appends before it are committed (in `committed`); the ones
    /// after it were discarded unacknowledged, so they are read and processed again (their
    /// dedup ids make that safe).
    struct Failure: Error {
        let entryID: String
        let underlying: any Error
    }

    private(set) var pending: [Pending] = []
    /// Entry ids whose appends are committed and that may be acknowledged.
    var committed: [String] = []

    mutating func add(
        entryID: String, acceptedAt: Int, command: [RedisArgument], webhook: (frame: CommittedFrame, conversationID: String)? = nil
    ) {
        pending.append(Pending(entryID: entryID, acceptedAt: acceptedAt, command: command, webhook: webhook))
    }

    /// Hands the pending appends to the sender, leaving the batch empty.
    mutating func takePending() -> [Pending] {
        defer { pending.removeAll(keepingCapacity: true) }
        return pending
    }
}
