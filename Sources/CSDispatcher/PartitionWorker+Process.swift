import CSCore
import CSRedis
import CSServer
import Logging

extension PartitionWorker {
    /// Carries out what `ConversationRules` decides for one entry. Every step is idempotent, so
    /// an entry processed again after a crash commits nothing twice.
    ///
    /// A chat message to an assigned conversation only queues its append in `batch` and returns
    /// true (deferred); anything else first flushes the batch, so effects keep the stream's order.
    func process(id entryID: String, fields: [String: String]?, store: ConversationStore, batch: inout AppendBatch) async throws -> Bool {
        guard let fields else {
            // Deleted (XDEL) while pending: nothing left to process or to keep; it is acknowledged.
            logger.warning("skipping deleted inbound entry", metadata: ["entry": "\(entryID)"])
            return false
        }
        // Undecodable: the caller moves it to the dead letters at once (no retry can fix it),
        // after what came before it, like every entry that is not a deferred append.
        guard let entry = InboundEntry(fields: fields) else {
            try await store.flush(&batch)
            throw MalformedInboundEntry()
        }
        let conversation: ConversationState?
        if entry.conversationID.isEmpty && entry.role == .customer {
            conversation = try await store.openConversation(ofCustomer: entry.userID)
        } else if entry.conversationID.isEmpty {
            conversation = nil
        } else {
            conversation = try await store.conversation(entry.conversationID)
        }
        let now = nowMilliseconds()
        let acceptedAt = entryID.split(separator: "-").first.flatMap { Int($0) } ?? now
        configuration.stats.messageIn()
        let decision = ConversationRules.decide(entry, conversation: conversation, acceptedAt: acceptedAt)
        if case .commit(let state) = decision, state.status == .assigned, !(entry.role.isStaff && state.firstResponseAt == nil) {
            store.appendLater(
                messageFrame(entry, in: state, now: now), to: state, dedupID: messageDedupID(entry), recipients: state.recipients,
                entryID: entryID, acceptedAt: acceptedAt, batch: &batch)
            return true
        }
        try await store.flush(&batch)
        defer {
            // Accepted by a gateway → committed here (the gateway's Redis clock against ours).
            if entry.kind == .message { configuration.stats.latency.recordMilliseconds(max(0, nowMilliseconds() - acceptedAt)) }
        }
        switch decision {
        case .reject(let error):
            if try await isCommittedRetry(entry, entryID: entryID, conversation: conversation, store: store) { break }
            try await reply(error, to: entry)
        case .open(let requested):
            if try await isCommittedRetry(entry, entryID: entryID, conversation: conversation, store: store) { break }
            // Invented skills do not get queues of their own (issue 21): see `SkillPolicy`.
            let skill = try await resolveSkill(requested)
            let customer = Participant(id: entry.userID, role: .customer, name: entry.userName)
            var state = ConversationState(
                id: Identifier.newConversationID(customerID: entry.userID), customer: customer, status: .new, skill: skill)
            state.createdAt = now
            try await store.create(state)
            try await store.countDaily(["opened": 1], now: now)
            try await route(&state, entryID: entryID, store: store, now: now)
            try await commitMessage(entry, to: state, store: store, now: now)
        case .commit(var state):
            if state.status == .new || state.status == .queued { try await route(&state, entryID: entryID, store: store, now: now) }
            try await commitMessage(entry, to: state, store: store, now: now)
        case .close(var state):
            let wasQueued = state.status != .assigned
            try await routing.release(conversationID: state.id)
            let by = Participant(id: entry.userID, role: entry.role, name: entry.userName)
            let rateUntil = now + configuration.ratingWindowMilliseconds
            let (isNew, _) = try await store.append(
                CommittedFrame.closed(conversationID: state.id, by: by, timestamp: now, rateUntil: rateUntil), to: state, dedupID: "close",
                recipients: state.recipients)
            state.status = .closed
            state.closedAt = now
            state.rateUntil = rateUntil
            try await store.save(state)
            if isNew { try await store.countDaily(["closed": 1], now: now) }
            try await store.clearOpen(customerID: state.customer.id, ifIs: state.id)
            try await store.announceFinished(state.id, kind: "closed", at: now)
            if wasQueued {
                try await QueuePositions.publish(skill: state.skill, routing: routing)
            } else if try await drainFreedSlot() > 0 {
                try await QueuePositions.publishAll(routing: routing)
            }
        case .announceAssignment(var state, let agentID):
            try await announce(&state, agent: agentID, dedupID: "assign:" + entryID, store: store, now: now)
        case .releaseStaleAssignment(let conversationID, let agentID):
            try await routing.release(conversationID: conversationID, expectedAgent: agentID)
        case .transfer(var state, let toAgent, let toSkill):
            try await transfer(&state, entry: entry, entryID: retryKey(entry, entryID: entryID), toAgent: toAgent, toSkill: toSkill, store: store, now: now)
        case .markRead(let state, let seq):
            try await markRead(state, entry: entry, seq: seq, store: store)
        case .announceRequeue(var state):
            let previous = state.agent
            state.agent = nil
            state.status = .queued
            try await store.append(
                CommittedFrame.queued(conversationID: state.id, skill: state.skill, reason: .agentUnavailable, agentsOnline: true, timestamp: now),
                to: state, dedupID: "requeue:" + entryID, recipients: state.recipients + (previous.map { [$0.id] } ?? []))
            try await store.save(state)
            try await QueuePositions.publish(skill: state.skill, routing: routing)
        case .rate(let state):
            try await rate(state, entry: entry, entryID: entryID)
        case .ignore:
            break
        }
        return false
    }

    /// Records a conversation's routing: assigned to an agent now, or waiting in its skill's queue.
    /// Repeats give the same answer (the assign script is idempotent), so this also repairs a
    /// conversation whose assignment was decided but not yet announced.
    private func route(_ state: inout ConversationState, entryID: String, store: ConversationStore, now: Int) async throws {
        switch try await routing.assign(conversationID: state.id, skill: state.skill) {
        case .assigned(let agentID):
            try await announce(&state, agent: agentID, dedupID: "assign:" + entryID, store: store, now: now)
        case .queued(let agentsOnline):
            guard state.status == .new else { return }
            try await store.append(
                CommittedFrame.queued(conversationID: state.id, skill: state.skill, reason: .new, agentsOnline: agentsOnline, timestamp: now),
                to: state, dedupID: "queued", recipients: state.recipients)
            state.status = .queued
            try await store.save(state)
            try await QueuePositions.publish(skill: state.skill, routing: routing)
        }
    }

    func announce(_ state: inout ConversationState, agent agentID: String, dedupID: String, store: ConversationStore, now: Int) async throws {
        // A repeated route of an assigned conversation finds the same agent: nothing to announce.
        if state.status == .assigned && state.agent?.id == agentID { return }
        let agent = try await routing.agent(agentID)
        let history = try await store.recentFrames(of: state.id, count: configuration.assignmentHistory)
        let frame = CommittedFrame.assigned(conversationID: state.id, agent: agent, customer: state.customer, timestamp: now)
        let agentCopy = CommittedFrame.assigned(conversationID: state.id, agent: agent, customer: state.customer, timestamp: now, history: history)
        try await store.append(
            frame, to: state, dedupID: dedupID, recipients: [state.customer.id], alternative: (agentCopy.suffix, [agentID]))
        state.agent = agent
        state.status = .assigned
        state.addHandler(agent.id)
        try await store.save(state)
        try await store.recordFirst(.assignment, of: &state, now: now)
    }

    private func messageFrame(_ entry: InboundEntry, in state: ConversationState, now: Int) -> CommittedFrame {
        let from = Participant(id: entry.userID, role: entry.role, name: entry.userName)
        return CommittedFrame.message(
            conversationID: state.id, clientMessageID: entry.clientMessageID, from: from, body: entry.body, timestamp: now,
            email: entry.email.isEmpty ? nil : entry.email, attachment: entry.attachment)
    }

    /// A retry of a message (same client message id from the same user) commits nothing new.
    func messageDedupID(_ entry: InboundEntry) -> String { "m:" + entry.userID + ":" + entry.clientMessageID }

    private func commitMessage(_ entry: InboundEntry, to state: ConversationState, store: ConversationStore, now: Int) async throws {
        try await store.append(messageFrame(entry, in: state, now: now), to: state, dedupID: messageDedupID(entry), recipients: state.recipients)
        if entry.role.isStaff && state.firstResponseAt == nil {
            var state = state
            try await store.recordFirst(.response, of: &state, now: now)
        }
    }

    /// Sends an error to the one connection that sent the entry.
    func reply(_ error: ChatError, to entry: InboundEntry) async throws {
        guard !entry.gatewayID.isEmpty, !entry.connectionID.isEmpty else { return }
        let frame = ServerFrame.error(
            error, id: entry.clientMessageID.isEmpty ? nil : entry.clientMessageID,
            conversationID: entry.conversationID.isEmpty ? nil : entry.conversationID)
        _ = try await redis.send("PUBLISH", .init(RedisKeys.gatewayChannel(entry.gatewayID)), .init(entry.connectionID + " " + frame))
        let level: Logger.Level = error.code == .forbidden ? .warning : .info
        logger.log(level: level, "rejected entry", metadata: ["code": "\(error.code.rawValue)", "user": "\(entry.userID)"])
    }

    var partitioner: Partitioner { Partitioner(count: configuration.partitions) }

    /// Drains the queues after this entry freed an agent's slot; returns how many were assigned.
    /// Assignments whose entries Redis refused were given back to their queues (see
    /// `QueueDrainer.drainOnce`) and the drainer's next round retries them: not this entry's fault.
    @discardableResult
    func drainFreedSlot() async throws -> Int {
        do {
            return try await QueueDrainer.drainOnce(routing: routing, partitioner: partitioner)
        } catch let refused as QueueDrainer.EntriesRefused {
            logger.error("\(refused)")
            return 0
        }
    }
}
