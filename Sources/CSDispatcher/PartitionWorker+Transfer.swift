import CSCore
import CSRedis
import CSServer

extension PartitionWorker {
    /// Moves an assigned conversation to another agent or back to a skill's queue.
    func transfer(
        _ state: inout ConversationState, entry: InboundEntry, entryID: String, toAgent: String?, toSkill: String?,
        store: ConversationStore, now: Int
    ) async throws {
        let expected = entry.role == .agent ? entry.userID : nil
        var toSkill = toSkill
        if let requested = toSkill { toSkill = try await resolveSkill(requested) }
        // The entry id makes a retry of this entry (after a failure below) find its own move.
        let outcome = try await routing.transfer(
            conversationID: state.id, expectedAgent: expected, toAgent: toAgent, toSkill: toSkill, entryID: entryID)
        let note = entry.note.isEmpty ? nil : entry.note
        switch outcome {
        case .unavailable:
            try await reply(ChatError(.agentUnavailable, "the agent is offline, away or at capacity"), to: entry)
        case .notAssigned:
            try await reply(ChatError(.forbidden, "conversation is not assigned to you"), to: entry)
        case .moved(let fromID):
            let from = try await routing.agent(fromID)
            let to = try await routing.agent(toAgent ?? "")
            let history = try await store.recentFrames(of: state.id, count: configuration.assignmentHistory)
            let frame = CommittedFrame.transferred(conversationID: state.id, from: from, to: to, skill: nil, note: note, timestamp: now)
            let copy = CommittedFrame.transferred(
                conversationID: state.id, from: from, to: to, skill: nil, note: note, timestamp: now, history: history)
            try await store.append(
                frame, to: state, dedupID: "transfer:" + entryID, recipients: [state.customer.id, fromID],
                alternative: (copy.suffix, [to.id]))
            state.agent = to
            state.addHandler(to.id)
            try await store.save(state)
            // The previous agent has a free slot now.
            if try await drainFreedSlot() > 0 {
                try await QueuePositions.publishAll(routing: routing)
            }
        case .queued(let fromID):
            let from = try await routing.agent(fromID)
            let skill = toSkill ?? state.skill
            try await store.append(
                CommittedFrame.transferred(conversationID: state.id, from: from, to: nil, skill: skill, note: note, timestamp: now),
                to: state, dedupID: "transfer:" + entryID, recipients: [state.customer.id, fromID])
            state.agent = nil
            state.status = .queued
            state.skill = skill
            try await store.append(
                CommittedFrame.queued(conversationID: state.id, skill: skill, reason: .transfer, agentsOnline: true, timestamp: now),
                to: state, dedupID: "transfer-queued:" + entryID, recipients: state.recipients)
            try await store.save(state)
            try await drainFreedSlot()
            try await QueuePositions.publishAll(routing: routing)
        }
    }

    /// Stores a read position (it only moves forward) and shows it to the other participants.
    func markRead(_ state: ConversationState, entry: InboundEntry, seq: Int, store: ConversationStore) async throws {
        let stored = try await redis.callFunction(
            Self.raiseReadPosition, keys: [.init(RedisKeys.conversation(state.id))],
            arguments: [.init("read:" + entry.userID), .init(seq)])
        // What was stored, not what was sent: a read past the last seq counts as the last seq.
        guard let position = stored.int, position > 0 else { return }
        let others = state.recipients.filter { $0 != entry.userID }
        let frame = ServerFrame.read(conversationID: state.id, userID: entry.userID, role: entry.role, seq: position)
        guard !others.isEmpty else { return }
        try await redis.pipeline(others.map { ["PUBLISH", .init(RedisKeys.userChannel($0)), .init(frame)] }).checked()
    }

    /// KEYS = meta; ARGV = field, seq. Sets the field to seq, capped at the last seq, if that is
    /// higher than the field. Returns the position stored, or 0 when nothing changed.
    static let raiseReadPosition = RedisScript(
        "cs_raise_read_position",
        """
        local seq = tonumber(ARGV[2])
        local last = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
        if seq > last then seq = last end
        local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
        if seq <= current then return 0 end
        redis.call('HSET', KEYS[1], ARGV[1], seq)
        return seq
        """
    )
}
