import CSCore
import CSRedis
import CSServer

/// Retried frames. A client that got no `ack` resends a frame with the same client message id;
/// gateways do not look retries up (issue 17: that check cost a script, three commands and a key
/// per message), so a retry is a second inbound entry, and this owner commits it at most once:
///
/// - a message to a conversation that is open: the conversation's dedup table (`m:<user>:<id>`);
/// - a message whose conversation was closed since its first copy was committed, or that opened
///   a conversation closed since: `isCommittedRetry` (the rules would open a new conversation);
/// - a transfer whose first copy moved the conversation: its dedup id carries the client message
///   id (`retryKey`), so the retry, refused because the sender no longer holds the conversation,
///   is recognised and answered by nothing (the first copy's frames were the answer);
/// - a close of a closed conversation and a repeated rating change nothing by themselves.
extension PartitionWorker {
    /// What names an entry's effects for a retry: the client message id when the frame had one,
    /// else the entry id. `c:` never begins an entry id (`<ms>-<n>`), and ids hold no `:`.
    func retryKey(_ entry: InboundEntry, entryID: String) -> String {
        entry.clientMessageID.isEmpty ? entryID : "c:" + entry.userID + ":" + entry.clientMessageID
    }

    /// True when `entry`, which the rules would answer by opening a conversation (or refuse), is a
    /// retry of a frame already committed: nothing more is done for it.
    func isCommittedRetry(_ entry: InboundEntry, entryID: String, conversation: ConversationState?, store: ConversationStore) async throws -> Bool {
        guard !entry.clientMessageID.isEmpty else { return false }
        switch entry.kind {
        case .message:
            if let conversation, try await store.hasCommitted(dedupID: messageDedupID(entry), in: conversation.id) { return true }
            guard entry.role == .customer else { return false }
            // The message that opens a conversation is remembered by its client message id, with
            // the entry it came in (`SET … NX GET`: nil when this call set it). The same entry
            // read again after a crash goes on opening; another entry is a retry.
            let key = RedisKeys.openingMessage(customerID: entry.userID, clientMessageID: entry.clientMessageID)
            let reply = try await redis.send("SET", .init(key), .init(entryID), "NX", "GET", "EX", .init(configuration.dedupTTLSeconds))
            guard let first = reply.string else { return false }
            return first != entryID
        case .transfer:
            guard let conversation else { return false }
            return try await store.hasCommitted(dedupID: "transfer:" + retryKey(entry, entryID: entryID), in: conversation.id)
        default:
            return false
        }
    }
}
