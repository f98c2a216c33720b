import CSCore
import CSRedis
import CSServer

/// Webhook events of what a partition owner commits (docs/redis-keys.md "Webhooks"). Each is
/// recorded right after its commit and before the inbound entry is acknowledged, so an owner that
/// dies in between leaves the entry pending and the next owner records it again (same id): at
/// least once, and in commit order per conversation (one owner at a time writes a conversation).
extension ConversationStore {
    /// A committed frame's event type when some endpoint wants it; nil (a memory read, no Redis)
    /// otherwise.
    func wantedWebhook(_ frame: CommittedFrame) -> WebhookEventType? {
        let wanted = configuration.webhooks
        guard wanted.wantsAny, let type = WebhookEventType(committedFramePrefix: frame.prefix), wanted.wants(type) else { return nil }
        return type
    }

    /// Records the event of a frame just committed with `seq`, if wanted. The first frame of a
    /// conversation (seq 1: its `conversation.queued` or `conversation.assigned`, appended right
    /// after the conversation was created) also records `conversation.opened` before it: an entry
    /// processed again after a crash appends (deduplicated) seq 1 again, so `opened` is recorded
    /// at least once too, which an event at creation time would not be.
    func recordWebhook(_ frame: CommittedFrame, state: ConversationState, seq: Int) async throws {
        guard configuration.webhooks.wantsAny else { return }
        var events: [WebhookEvent] = []
        let now = nowMilliseconds()
        if seq == 1 && configuration.webhooks.wants(.opened) { events.append(.opened(state, timestamp: state.createdAt ?? now)) }
        if wantedWebhook(frame) != nil, let event = WebhookEvent.committed(frame, conversationID: state.id, seq: seq, timestamp: now) {
            events.append(event)
        }
        try await WebhookWanted.record(events, on: redis)
    }

    /// The events of a flushed batch's committed appends (`seqs` in the order of `pending`),
    /// recorded in one pipeline; nothing when none has an event.
    func recordWebhooks(of pending: [AppendBatch.Pending], seqs: [Int]) async throws {
        var events: [WebhookEvent] = []
        let now = nowMilliseconds()
        for (index, item) in pending.enumerated() {
            guard let webhook = item.webhook, index < seqs.count,
                let event = WebhookEvent.committed(webhook.frame, conversationID: webhook.conversationID, seq: seqs[index], timestamp: now)
            else { continue }
            events.append(event)
        }
        try await WebhookWanted.record(events, on: redis)
    }
}
