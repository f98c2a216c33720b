import CSCore
import Testing

/// The lifecycle additions of `ConversationRules` and the frame header parser.
@Suite("Lifecycle rules")
struct LifecycleRulesTests {
    static let ann = Participant(id: "v_ann", role: .customer, name: "Ann")
    static let alice = Participant(id: "alice", role: .agent, name: "Alice")
    static let assigned = ConversationState(id: "v_ann.c1", customer: ann, agent: alice, status: .assigned, skill: "default")

    static func entry(_ kind: InboundEntry.Kind, user: String, role: ParticipantRole, agent: String = "", toAgent: String = "", toSkill: String = "", seq: Int = 0) -> InboundEntry {
        var entry = InboundEntry(kind: kind, userID: user, role: role, conversationID: "v_ann.c1", agentID: agent)
        entry.targetAgent = toAgent
        entry.targetSkill = toSkill
        entry.seq = seq
        return entry
    }

    @Test func assignedAgentAndSupervisorsTransfer() {
        #expect(ConversationRules.decide(Self.entry(.transfer, user: "alice", role: .agent, toAgent: "bob"), conversation: Self.assigned)
            == .transfer(Self.assigned, toAgent: "bob", toSkill: nil))
        #expect(ConversationRules.decide(Self.entry(.transfer, user: "sam", role: .supervisor, toSkill: "billing"), conversation: Self.assigned)
            == .transfer(Self.assigned, toAgent: nil, toSkill: "billing"))
    }

    @Test func othersCannotTransfer() {
        for (user, role) in [("bob", ParticipantRole.agent), ("v_ann", .customer)] {
            guard case .reject(let error) = ConversationRules.decide(Self.entry(.transfer, user: user, role: role, toAgent: "x"), conversation: Self.assigned) else {
                Issue.record("expected a rejection for \(user)")
                continue
            }
            #expect(error.code == .forbidden)
        }
        var closed = Self.assigned
        closed.status = .closed
        guard case .reject(let error) = ConversationRules.decide(Self.entry(.transfer, user: "alice", role: .agent, toAgent: "x"), conversation: closed) else {
            Issue.record("expected a rejection")
            return
        }
        #expect(error.code == .conversationClosed)
    }

    @Test func readReceiptsFromParticipantsOnly() {
        #expect(ConversationRules.decide(Self.entry(.read, user: "v_ann", role: .customer, seq: 4), conversation: Self.assigned) == .markRead(Self.assigned, seq: 4))
        #expect(ConversationRules.decide(Self.entry(.read, user: "alice", role: .agent, seq: 4), conversation: Self.assigned) == .markRead(Self.assigned, seq: 4))
        #expect(ConversationRules.decide(Self.entry(.read, user: "v_bob", role: .customer, seq: 4), conversation: Self.assigned) == .reject(ChatError(.forbidden, "not your conversation")))
    }

    @Test func requeueOnlyTakesFromTheAgentWhoHasIt() {
        #expect(ConversationRules.decide(Self.entry(.requeued, user: "", role: .customer, agent: "alice"), conversation: Self.assigned) == .announceRequeue(Self.assigned))
        #expect(ConversationRules.decide(Self.entry(.requeued, user: "", role: .customer, agent: "bob"), conversation: Self.assigned) == .ignore)
        #expect(ConversationRules.decide(Self.entry(.requeued, user: "", role: .customer, agent: "alice"), conversation: nil) == .ignore)
    }

    @Test func supervisorsReadEverythingAgentsOnlyTheirs() {
        #expect(ConversationRules.canRead(userID: "sam", role: .supervisor, Self.assigned))
        #expect(ConversationRules.canRead(userID: "alice", role: .agent, Self.assigned))
        #expect(!ConversationRules.canRead(userID: "bob", role: .agent, Self.assigned))
        #expect(ConversationRules.canRead(userID: "v_ann", role: .customer, Self.assigned))
        #expect(!ConversationRules.canRead(userID: "v_bob", role: .customer, Self.assigned))
    }

    @Test func headerOfCommittedFrames() {
        let message = CommittedFrame.message(conversationID: "v_ann.c1", clientMessageID: "c-1", from: Self.ann, body: "hi", timestamp: 1).render(seq: 42)
        #expect(CommittedFrameHeader.parse(Array(message.utf8)) == CommittedFrameHeader(conversationID: "v_ann.c1", seq: 42))
        let queued = CommittedFrame.queued(conversationID: "v_ann.c1", skill: "s", reason: .new, agentsOnline: false, timestamp: 1).render(seq: 7)
        #expect(CommittedFrameHeader.parse(Array(queued.utf8))?.seq == 7)
    }

    @Test func framesWithoutSeqHaveNoHeader() {
        for frame in [
            ServerFrame.ack(id: "c-1", acceptedID: "1-0"), ServerFrame.resumed(conversationID: "v_ann.c1", lastSeq: 3),
            ServerFrame.queuePosition(conversationID: "v_ann.c1", skill: "s", position: 1, estimatedWaitSeconds: nil, agentsOnline: true),
            ServerFrame.read(conversationID: "v_ann.c1", userID: "v_ann", role: .customer, seq: 3),
            ServerFrame.typing(conversationID: "v_ann.c1", from: Self.ann), #"{"type":"resync"}"#, "", "{", #"{"type":"message","conversationId":"a\"b","seq":1}"#,
        ] {
            #expect(CommittedFrameHeader.parse(Array(frame.utf8)) == nil, "\(frame)")
        }
    }

    @Test func transferFramesNeedExactlyOneTarget() throws {
        #expect(throws: ChatError.self) { try ClientFrame.decode(Array(#"{"type":"transfer","conversationId":"v_a.b"}"#.utf8)) }
        #expect(throws: ChatError.self) { try ClientFrame.decode(Array(#"{"type":"transfer","conversationId":"v_a.b","toAgent":"x","toSkill":"y"}"#.utf8)) }
        #expect(try ClientFrame.decode(Array(#"{"type":"transfer","conversationId":"v_a.b","toSkill":"y","note":"n"}"#.utf8))
            == .transfer(id: nil, conversationID: "v_a.b", toAgent: nil, toSkill: "y", note: "n"))
    }

    @Test func resumeReadPresenceTypingDecode() throws {
        #expect(try ClientFrame.decode(Array(#"{"type":"resume","conversations":[{"conversationId":"v_a.b","lastSeq":3}]}"#.utf8))
            == .resume([.init(conversationId: "v_a.b", lastSeq: 3)]))
        #expect(try ClientFrame.decode(Array(#"{"type":"read","conversationId":"v_a.b","seq":3}"#.utf8)) == .read(conversationID: "v_a.b", seq: 3))
        #expect(try ClientFrame.decode(Array(#"{"type":"presence","status":"away"}"#.utf8)) == .presence(.away))
        #expect(try ClientFrame.decode(Array(#"{"type":"typing","conversationId":"v_a.b"}"#.utf8)) == .typing(conversationID: "v_a.b"))
        #expect(throws: ChatError.self) { try ClientFrame.decode(Array(#"{"type":"presence","status":"busy"}"#.utf8)) }
        #expect(throws: ChatError.self) { try ClientFrame.decode(Array(#"{"type":"read","conversationId":"v_a.b","seq":0}"#.utf8)) }
    }
}
