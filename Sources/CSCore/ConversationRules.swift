/// What the dispatcher does with one inbound entry, decided from the conversation's state alone.
///
/// Pure logic with no I/O, so every rule is unit-tested without Redis; `PartitionWorker` carries
/// the decision out.
public enum ConversationDecision: Sendable, Equatable {
    /// Tell the sending connection; commit nothing.
    case reject(ChatError)
    /// Open a new conversation for the customer, route it, then commit the message.
    case open(skill: String)
    /// Commit the message to the conversation.
    case commit(ConversationState)
    /// Close the conversation and free the agent's capacity.
    case close(ConversationState)
    /// Announce that a queue drain gave the conversation to `agentID`.
    case announceAssignment(ConversationState, agentID: String)
    /// A drain assigned a conversation that no longer waits: give the agent's capacity back.
    case releaseStaleAssignment(conversationID: String, agentID: String)
    /// Hand the conversation to `toAgent`, or to the head of `toSkill`'s queue.
    case transfer(ConversationState, toAgent: String?, toSkill: String?)
    /// Store the participant's read position and tell the others.
    case markRead(ConversationState, seq: Int)
    /// The agent lost the conversation (grace expired or signed off): tell everyone it waits again.
    case announceRequeue(ConversationState)
    /// Record the customer's rating of the closed conversation (new, or replacing theirs).
    case rate(ConversationState)
    /// Nothing to do (a repeated close, a repeated assignment).
    case ignore
}

public enum ConversationRules {
    /// The skill used when a customer names none.
    public static let defaultSkill = "default"

    /// Decides what to do with `entry`.
    ///
    /// - Parameters:
    ///   - conversation: the conversation the entry names, or for a customer entry that names
    ///     none, the customer's open conversation; nil when there is none.
    ///   - acceptedAt: when the gateway accepted the entry (ms; the time in its stream entry id),
    ///     so that a rating processed again after a crash is judged the same way.
    public static func decide(_ entry: InboundEntry, conversation: ConversationState?, acceptedAt: Int = 0) -> ConversationDecision {
        switch entry.kind {
        case .message: return decideMessage(entry, conversation)
        case .close: return decideClose(entry, conversation)
        case .assigned: return decideAssigned(entry, conversation)
        case .transfer: return decideTransfer(entry, conversation)
        case .read: return decideRead(entry, conversation)
        case .rate: return decideRate(entry, conversation, acceptedAt: acceptedAt)
        case .requeued:
            guard let conversation, conversation.status == .assigned, conversation.agent?.id == entry.agentID else { return .ignore }
            return .announceRequeue(conversation)
        }
    }

    /// The answer for a conversation the sender may not touch, whether it exists or not: telling
    /// "no such conversation" from "not yours" would let anyone probe which ids exist
    /// (docs/protocol.md, "Conversation ids"). The wording stays as it was for each role.
    public static let notYours = ChatError(.forbidden, "not your conversation")
    public static let notAssignedToYou = ChatError(.forbidden, "conversation is not assigned to you")

    /// That answer for `entry`, also where a gateway refuses it before it reaches a dispatcher
    /// (a conversation id that names no customer).
    public static func refusal(for entry: InboundEntry) -> ChatError {
        entry.kind == .transfer || (entry.role.isStaff && entry.kind == .message) ? notAssignedToYou : notYours
    }

    private static func decideMessage(_ entry: InboundEntry, _ conversation: ConversationState?) -> ConversationDecision {
        if entry.role == .customer {
            if !entry.conversationID.isEmpty {
                guard Identifier.customerID(ofConversation: entry.conversationID) == entry.userID else { return .reject(notYours) }
                guard let conversation, conversation.customer.id == entry.userID else { return .reject(notYours) }
                if conversation.status == .closed { return .open(skill: skill(of: entry)) }
                return .commit(conversation)
            }
            guard let conversation, conversation.status != .closed else { return .open(skill: skill(of: entry)) }
            return .commit(conversation)
        }
        guard !entry.conversationID.isEmpty else {
            return .reject(ChatError(.invalidField, "conversationId is required"))
        }
        guard let conversation, conversation.agent?.id == entry.userID else { return .reject(notAssignedToYou) }
        guard conversation.status == .assigned else {
            return .reject(ChatError(.conversationClosed, "conversation is closed"))
        }
        return .commit(conversation)
    }

    private static func decideClose(_ entry: InboundEntry, _ conversation: ConversationState?) -> ConversationDecision {
        guard let conversation else {
            if entry.role == .customer && entry.conversationID.isEmpty { return .ignore }
            return .reject(notYours)
        }
        guard isParticipant(entry, conversation) else { return .reject(notYours) }
        return conversation.status == .closed ? .ignore : .close(conversation)
    }

    private static func decideAssigned(_ entry: InboundEntry, _ conversation: ConversationState?) -> ConversationDecision {
        guard let conversation, conversation.status == .queued else {
            if conversation?.agent?.id == entry.agentID { return .ignore }
            return .releaseStaleAssignment(conversationID: entry.conversationID, agentID: entry.agentID)
        }
        return .announceAssignment(conversation, agentID: entry.agentID)
    }

    private static func decideTransfer(_ entry: InboundEntry, _ conversation: ConversationState?) -> ConversationDecision {
        guard let conversation, entry.role.isStaff, isParticipant(entry, conversation) else { return .reject(notAssignedToYou) }
        guard conversation.status == .assigned else {
            if conversation.status == .closed { return .reject(ChatError(.conversationClosed, "conversation is closed")) }
            return .reject(ChatError(.forbidden, "only an assigned conversation can be transferred"))
        }
        return .transfer(
            conversation, toAgent: entry.targetAgent.isEmpty ? nil : entry.targetAgent,
            toSkill: entry.targetSkill.isEmpty ? nil : entry.targetSkill)
    }

    private static func decideRead(_ entry: InboundEntry, _ conversation: ConversationState?) -> ConversationDecision {
        guard let conversation, isParticipant(entry, conversation) else { return .reject(notYours) }
        return .markRead(conversation, seq: entry.seq)
    }

    private static func decideRate(_ entry: InboundEntry, _ conversation: ConversationState?, acceptedAt: Int) -> ConversationDecision {
        guard entry.role == .customer else { return .reject(ChatError(.forbidden, "only the customer rates a conversation")) }
        guard let conversation, conversation.customer.id == entry.userID else { return .reject(notYours) }
        guard conversation.status == .closed else { return .reject(ChatError(.conversationOpen, "the conversation is not closed yet")) }
        // Conversations closed before ratings existed have no window: nothing to rate.
        guard let rateUntil = conversation.rateUntil, acceptedAt <= rateUntil else {
            return .reject(ChatError(.ratingFinal, "the rating window of this conversation has ended"))
        }
        return .rate(conversation)
    }

    /// The customer, the assigned agent, or any supervisor.
    public static func isParticipant(_ entry: InboundEntry, _ conversation: ConversationState) -> Bool {
        canRead(userID: entry.userID, role: entry.role, conversation)
    }

    /// Whether a user may read a conversation: its customer, its assigned agent, or a supervisor.
    public static func canRead(userID: String, role: ParticipantRole, _ conversation: ConversationState) -> Bool {
        switch role {
        case .customer: conversation.customer.id == userID
        case .agent: conversation.agent?.id == userID
        case .supervisor: true
        }
    }

    private static func skill(of entry: InboundEntry) -> String {
        entry.skill.isEmpty ? defaultSkill : entry.skill
    }
}
