import CSCore
import Testing

/// Every branch of `ConversationRules.decide`: the dispatcher's whole decision table, without Redis.
@Suite("ConversationRules")
struct ConversationRulesTests {
    static let ann = Participant(id: "v_ann000000001", role: .customer, name: "Ann")
    static let bob = Participant(id: "v_bob000000001", role: .customer, name: "Bob")
    static let alice = Participant(id: "alice", role: .agent, name: "Alice")
    static let carol = Participant(id: "carol", role: .agent, name: "Carol")
    static let sam = Participant(id: "sam", role: .supervisor, name: "Sam")

    static let annConversationID = ann.id + ".k7f2m9q1"
    static let bobConversationID = bob.id + ".q1w2e3r4"

    static func conversation(
        _ id: String = annConversationID, customer: Participant = ann, agent: Participant? = nil,
        status: ConversationState.Status, skill: String = "default"
    ) -> ConversationState {
        ConversationState(id: id, customer: customer, agent: agent, status: status, skill: skill)
    }

    static func message(from user: Participant, conversationID: String = "", skill: String = "") -> InboundEntry {
        InboundEntry(
            kind: .message, userID: user.id, role: user.role, userName: user.name, clientMessageID: "c-000001",
            conversationID: conversationID, body: "Hello", skill: skill, gatewayID: "gw-1", connectionID: "gw-1.abc")
    }

    static func close(by user: Participant, conversationID: String = "") -> InboundEntry {
        InboundEntry(
            kind: .close, userID: user.id, role: user.role, userName: user.name, conversationID: conversationID,
            gatewayID: "gw-1", connectionID: "gw-1.abc")
    }

    static func assigned(_ conversationID: String = annConversationID, to agentID: String) -> InboundEntry {
        InboundEntry(kind: .assigned, conversationID: conversationID, agentID: agentID)
    }

    /// The error code of a `.reject`, nil for any other decision.
    static func rejection(_ decision: ConversationDecision) -> ChatError.Code? {
        if case .reject(let error) = decision { return error.code }
        return nil
    }

    // MARK: Customer messages without a conversation id

    @Test func customerWithoutConversationOpensOneWithDefaultSkill() {
        let decision = ConversationRules.decide(Self.message(from: Self.ann), conversation: nil)
        #expect(decision == .open(skill: "default"))
        #expect(ConversationRules.defaultSkill == "default")
    }

    @Test func customerWithoutConversationOpensOneWithTheRequestedSkill() {
        let decision = ConversationRules.decide(Self.message(from: Self.ann, skill: "billing"), conversation: nil)
        #expect(decision == .open(skill: "billing"))
    }

    @Test(arguments: [ConversationState.Status.new, .queued, .assigned])
    func customerWithoutIDWritesToTheOpenConversation(status: ConversationState.Status) {
        let agent = status == .assigned ? Self.alice : nil
        let open = Self.conversation(agent: agent, status: status)
        #expect(ConversationRules.decide(Self.message(from: Self.ann), conversation: open) == .commit(open))
    }

    @Test func customerWithoutIDWhoseLastConversationIsClosedOpensANewOne() {
        let closed = Self.conversation(agent: Self.alice, status: .closed, skill: "billing")
        // The new conversation takes the skill of the message, not of the closed conversation.
        #expect(ConversationRules.decide(Self.message(from: Self.ann), conversation: closed) == .open(skill: "default"))
        #expect(
            ConversationRules.decide(Self.message(from: Self.ann, skill: "sales"), conversation: closed) == .open(skill: "sales"))
    }

    @Test func skillOfAMessageToAnOpenConversationDoesNotReopen() {
        let open = Self.conversation(status: .queued, skill: "default")
        #expect(ConversationRules.decide(Self.message(from: Self.ann, skill: "sales"), conversation: open) == .commit(open))
    }

    // MARK: Customer messages naming a conversation

    @Test(arguments: [ConversationState.Status.new, .queued, .assigned])
    func customerWritesToOwnConversation(status: ConversationState.Status) {
        let own = Self.conversation(agent: status == .assigned ? Self.alice : nil, status: status)
        let entry = Self.message(from: Self.ann, conversationID: Self.annConversationID)
        #expect(ConversationRules.decide(entry, conversation: own) == .commit(own))
    }

    @Test func customerNamingOwnConversationThatDoesNotExistIsForbidden() {
        let entry = Self.message(from: Self.ann, conversationID: Self.annConversationID)
        #expect(ConversationRules.decide(entry, conversation: nil) == .reject(ConversationRules.notYours))
    }

    @Test func customerNamingOtherCustomersConversationIsForbidden() {
        let entry = Self.message(from: Self.ann, conversationID: Self.bobConversationID)
        let bobs = Self.conversation(Self.bobConversationID, customer: Self.bob, agent: Self.alice, status: .assigned)
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: bobs)) == .forbidden)
        // Forbidden is decided from the id alone: whether it exists is not revealed.
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: nil)) == .forbidden)
    }

    @Test func customerNamingAConversationWhoseRecordBelongsToSomeoneElseIsForbidden() {
        // The id embeds Ann, but the stored record says Bob (defence in depth).
        let entry = Self.message(from: Self.ann, conversationID: Self.annConversationID)
        let record = Self.conversation(Self.annConversationID, customer: Self.bob, status: .assigned)
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: record)) == .forbidden)
    }

    @Test(arguments: ["no-dot", ".k7f2m9q1", "v_ann000000001.", "v_bob000000001.k7f2m9q1"])
    func customerNamingAMalformedOrForeignIDIsForbidden(conversationID: String) {
        let entry = Self.message(from: Self.ann, conversationID: conversationID)
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: nil)) == .forbidden)
    }

    @Test func customerNamingOwnClosedConversationOpensANewOne() {
        let closed = Self.conversation(agent: Self.alice, status: .closed)
        let entry = Self.message(from: Self.ann, conversationID: Self.annConversationID, skill: "billing")
        #expect(ConversationRules.decide(entry, conversation: closed) == .open(skill: "billing"))
        let withoutSkill = Self.message(from: Self.ann, conversationID: Self.annConversationID)
        #expect(ConversationRules.decide(withoutSkill, conversation: closed) == .open(skill: "default"))
    }

    // MARK: Agent messages

    @Test func agentMessageWithoutConversationIDIsInvalid() {
        let open = Self.conversation(agent: Self.alice, status: .assigned)
        #expect(Self.rejection(ConversationRules.decide(Self.message(from: Self.alice), conversation: nil)) == .invalidField)
        // Even if the caller passed a conversation, an agent must name one.
        #expect(Self.rejection(ConversationRules.decide(Self.message(from: Self.alice), conversation: open)) == .invalidField)
    }

    @Test func agentMessageToUnknownConversationIsForbidden() {
        let entry = Self.message(from: Self.alice, conversationID: Self.annConversationID)
        #expect(ConversationRules.decide(entry, conversation: nil) == .reject(ConversationRules.notAssignedToYou))
    }

    /// A conversation that does not exist is answered exactly like someone else's, for every frame
    /// that names one, by a customer and by an agent: telling them apart would let a caller probe
    /// which conversation ids exist (docs/protocol.md, "Conversation ids").
    @Test(arguments: [InboundEntry.Kind.message, .close, .transfer, .read, .rate])
    func aMissingConversationIsAnsweredLikeSomeoneElses(kind: InboundEntry.Kind) {
        for user in [Self.bob, Self.carol] {
            var entry = InboundEntry(
                kind: kind, userID: user.id, role: user.role, userName: user.name, clientMessageID: "x-1",
                conversationID: Self.annConversationID, body: "hi", gatewayID: "gw-1", connectionID: "gw-1.abc")
            entry.seq = 1
            entry.score = 5
            entry.targetAgent = "alice"
            let annsWithAlice = Self.conversation(agent: Self.alice, status: kind == .rate ? .closed : .assigned)
            let missing = ConversationRules.decide(entry, conversation: nil, acceptedAt: 1)
            let notTheirs = ConversationRules.decide(entry, conversation: annsWithAlice, acceptedAt: 1)
            #expect(missing == notTheirs, "\(kind) by \(user.id)")
            #expect(Self.rejection(missing) == .forbidden, "\(kind) by \(user.id): \(missing)")
            // The gateway's answer for an id that names no customer is the same one.
            if kind != .rate { #expect(missing == .reject(ConversationRules.refusal(for: entry)), "\(kind) by \(user.id)") }
        }
    }

    @Test func agentMessageToOwnAssignedConversationCommits() {
        let assigned = Self.conversation(agent: Self.alice, status: .assigned)
        let entry = Self.message(from: Self.alice, conversationID: Self.annConversationID)
        #expect(ConversationRules.decide(entry, conversation: assigned) == .commit(assigned))
    }

    @Test func agentMessageToAnotherAgentsConversationIsForbidden() {
        let assigned = Self.conversation(agent: Self.carol, status: .assigned)
        let entry = Self.message(from: Self.alice, conversationID: Self.annConversationID)
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: assigned)) == .forbidden)
    }

    @Test(arguments: [ConversationState.Status.new, .queued, .closed])
    func agentMessageToAnUnassignedConversationIsForbidden(status: ConversationState.Status) {
        let unassigned = Self.conversation(status: status)
        let entry = Self.message(from: Self.alice, conversationID: Self.annConversationID)
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: unassigned)) == .forbidden)
    }

    @Test func agentMessageToOwnClosedConversationIsConversationClosed() {
        let closed = Self.conversation(agent: Self.alice, status: .closed)
        let entry = Self.message(from: Self.alice, conversationID: Self.annConversationID)
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: closed)) == .conversationClosed)
    }

    @Test func supervisorFollowsTheStaffRules() {
        let entry = Self.message(from: Self.sam, conversationID: Self.annConversationID)
        let toSam = Self.conversation(agent: Self.sam, status: .assigned)
        let toAlice = Self.conversation(agent: Self.alice, status: .assigned)
        #expect(ConversationRules.decide(entry, conversation: toSam) == .commit(toSam))
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: toAlice)) == .forbidden)
        #expect(Self.rejection(ConversationRules.decide(Self.message(from: Self.sam), conversation: nil)) == .invalidField)
    }

    @Test func agentCannotWriteAsTheCustomerByUsingTheCustomersID() {
        // An agent whose id happened to equal the customer's still takes the staff path.
        let impostor = Participant(id: Self.ann.id, role: .agent, name: "Impostor")
        let queued = Self.conversation(status: .queued)
        let entry = Self.message(from: impostor, conversationID: Self.annConversationID)
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: queued)) == .forbidden)
    }

    // MARK: Close

    @Test(arguments: [ConversationState.Status.new, .queued, .assigned])
    func customerClosesOwnConversation(status: ConversationState.Status) {
        let open = Self.conversation(agent: status == .assigned ? Self.alice : nil, status: status)
        #expect(ConversationRules.decide(Self.close(by: Self.ann), conversation: open) == .close(open))
        let named = Self.close(by: Self.ann, conversationID: Self.annConversationID)
        #expect(ConversationRules.decide(named, conversation: open) == .close(open))
    }

    @Test func customerCloseWithoutAnOpenConversationIsIgnored() {
        #expect(ConversationRules.decide(Self.close(by: Self.ann), conversation: nil) == .ignore)
    }

    @Test func closeOfAnUnknownNamedConversationIsForbidden() {
        let byCustomer = Self.close(by: Self.ann, conversationID: Self.annConversationID)
        let byAgent = Self.close(by: Self.alice, conversationID: Self.annConversationID)
        #expect(ConversationRules.decide(byCustomer, conversation: nil) == .reject(ConversationRules.notYours))
        #expect(ConversationRules.decide(byAgent, conversation: nil) == .reject(ConversationRules.notYours))
        #expect(ConversationRules.decide(Self.close(by: Self.alice), conversation: nil) == .reject(ConversationRules.notYours))
    }

    @Test func assignedAgentClosesTheConversation() {
        let assigned = Self.conversation(agent: Self.alice, status: .assigned)
        let entry = Self.close(by: Self.alice, conversationID: Self.annConversationID)
        #expect(ConversationRules.decide(entry, conversation: assigned) == .close(assigned))
    }

    @Test func strangerCustomerCannotClose() {
        let assigned = Self.conversation(agent: Self.alice, status: .assigned)
        let entry = Self.close(by: Self.bob, conversationID: Self.annConversationID)
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: assigned)) == .forbidden)
    }

    @Test func otherAgentCannotClose() {
        let assigned = Self.conversation(agent: Self.alice, status: .assigned)
        let entry = Self.close(by: Self.carol, conversationID: Self.annConversationID)
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: assigned)) == .forbidden)
    }

    @Test(arguments: [ConversationState.Status.new, .queued])
    func agentCannotCloseAnUnassignedConversation(status: ConversationState.Status) {
        let waiting = Self.conversation(status: status)
        let entry = Self.close(by: Self.alice, conversationID: Self.annConversationID)
        #expect(Self.rejection(ConversationRules.decide(entry, conversation: waiting)) == .forbidden)
    }

    @Test func repeatedCloseIsIgnored() {
        let closed = Self.conversation(agent: Self.alice, status: .closed)
        #expect(ConversationRules.decide(Self.close(by: Self.ann), conversation: closed) == .ignore)
        #expect(ConversationRules.decide(Self.close(by: Self.ann, conversationID: Self.annConversationID), conversation: closed) == .ignore)
        #expect(ConversationRules.decide(Self.close(by: Self.alice, conversationID: Self.annConversationID), conversation: closed) == .ignore)
    }

    @Test func closedConversationStillRefusesStrangers() {
        let closed = Self.conversation(agent: Self.alice, status: .closed)
        let byStranger = Self.close(by: Self.bob, conversationID: Self.annConversationID)
        let byOtherAgent = Self.close(by: Self.carol, conversationID: Self.annConversationID)
        #expect(Self.rejection(ConversationRules.decide(byStranger, conversation: closed)) == .forbidden)
        #expect(Self.rejection(ConversationRules.decide(byOtherAgent, conversation: closed)) == .forbidden)
    }

    // MARK: Drain assignments (`assigned` entries)

    @Test func assignmentOfAQueuedConversationIsAnnounced() {
        let queued = Self.conversation(status: .queued)
        #expect(ConversationRules.decide(Self.assigned(to: "alice"), conversation: queued) == .announceAssignment(queued, agentID: "alice"))
    }

    @Test func duplicateAssignmentToTheSameAgentIsIgnored() {
        // Already announced (by this entry processed before a crash, or by routing on a message).
        let assigned = Self.conversation(agent: Self.alice, status: .assigned)
        #expect(ConversationRules.decide(Self.assigned(to: "alice"), conversation: assigned) == .ignore)
        // Closed since then by the same agent: nothing is held any more, nothing to release.
        let closed = Self.conversation(agent: Self.alice, status: .closed)
        #expect(ConversationRules.decide(Self.assigned(to: "alice"), conversation: closed) == .ignore)
    }

    @Test func assignmentOfAConversationAssignedToSomeoneElseIsReleased() {
        let assigned = Self.conversation(agent: Self.carol, status: .assigned)
        #expect(
            ConversationRules.decide(Self.assigned(to: "alice"), conversation: assigned)
                == .releaseStaleAssignment(conversationID: Self.annConversationID, agentID: "alice"))
    }

    @Test func assignmentOfAClosedConversationIsReleased() {
        // Closed while it waited: the drain gave Alice a slot that nobody will use.
        let closed = Self.conversation(status: .closed)
        #expect(
            ConversationRules.decide(Self.assigned(to: "alice"), conversation: closed)
                == .releaseStaleAssignment(conversationID: Self.annConversationID, agentID: "alice"))
    }

    @Test func assignmentOfAnUnknownConversationIsReleased() {
        #expect(
            ConversationRules.decide(Self.assigned(Self.bobConversationID, to: "alice"), conversation: nil)
                == .releaseStaleAssignment(conversationID: Self.bobConversationID, agentID: "alice"))
    }

    @Test func assignmentOfANewConversationIsReleased() {
        // Only a queued conversation waits for a drain.
        let new = Self.conversation(status: .new)
        #expect(
            ConversationRules.decide(Self.assigned(to: "alice"), conversation: new)
                == .releaseStaleAssignment(conversationID: Self.annConversationID, agentID: "alice"))
    }

    // MARK: Rejections carry safe messages

    @Test func rejectionMessagesNeverEchoTheBody() {
        let secret = "my card number is 4111"
        let entry = InboundEntry(
            kind: .message, userID: Self.alice.id, role: .agent, userName: "Alice", clientMessageID: "a-1",
            conversationID: Self.annConversationID, body: secret)
        for conversation in [nil, Self.conversation(status: .queued), Self.conversation(agent: Self.alice, status: .closed)] {
            guard case .reject(let error) = ConversationRules.decide(entry, conversation: conversation) else {
                Issue.record("expected a rejection")
                continue
            }
            #expect(!error.message.contains(secret))
            #expect(!error.message.isEmpty)
        }
    }
}
