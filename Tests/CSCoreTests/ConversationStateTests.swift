import CSCore
import Testing

/// `ConversationState` and the `cs:{c:<id>}:meta` hash it mirrors.
@Suite("ConversationState")
struct ConversationStateTests {
    static let ann = Participant(id: "v_3q9x7k2m4n8p", role: .customer, name: "Ann")
    static let alice = Participant(id: "alice", role: .agent, name: "Alice")

    static func map(_ state: ConversationState) -> [String: String] {
        Dictionary(state.fields, uniquingKeysWith: { first, _ in first })
    }

    @Test func fieldsOfAnAssignedConversation() {
        let state = ConversationState(id: "v_3q9x7k2m4n8p.k7f2m9q1", customer: Self.ann, agent: Self.alice, status: .assigned, skill: "billing")
        #expect(state.fields.map(\.0) == ["customer", "customerName", "agent", "agentName", "status", "skill", "handlers"])
        #expect(state.fields.map(\.1) == ["v_3q9x7k2m4n8p", "Ann", "alice", "Alice", "assigned", "billing", ""])
        #expect(ConversationState(id: state.id, fields: Self.map(state)) == state)
        #expect(state.recipients == ["v_3q9x7k2m4n8p", "alice"])
    }

    @Test(arguments: [ConversationState.Status.new, .queued, .closed])
    func unassignedConversationRoundTrips(status: ConversationState.Status) {
        let state = ConversationState(id: "v_a.b", customer: Self.ann, status: status, skill: "default")
        #expect(Self.map(state)["agent"] == "")
        #expect(ConversationState(id: "v_a.b", fields: Self.map(state)) == state)
        #expect(state.recipients == ["v_3q9x7k2m4n8p"])
    }

    @Test func statusNamesArePinned() {
        #expect([ConversationState.Status.new, .queued, .assigned, .closed].map(\.rawValue) == ["new", "queued", "assigned", "closed"])
    }

    @Test func extraMetaFieldsAreIgnored() {
        var fields = Self.map(ConversationState(id: "v_a.b", customer: Self.ann, agent: Self.alice, status: .closed, skill: "default"))
        fields["seq"] = "12"
        fields["createdAt"] = "1732676400124"
        fields["closedAt"] = "1732676500000"
        #expect(ConversationState(id: "v_a.b", fields: fields)?.status == .closed)
    }

    @Test func defaultsForMissingOptionalFields() {
        let state = ConversationState(id: "v_a.b", fields: ["customer": "v_a", "status": "queued"])
        #expect(state == ConversationState(id: "v_a.b", customer: Participant(id: "v_a", role: .customer, name: ""), status: .queued, skill: "default"))
    }

    @Test(arguments: [
        [:],
        ["status": "queued"],
        ["customer": "", "status": "queued"],
        ["customer": "v_a"],
        ["customer": "v_a", "status": "open"],
        ["customer": "v_a", "status": ""],
    ] as [[String: String]])
    func hashesThatDoNotDescribeAConversation(fields: [String: String]) {
        #expect(ConversationState(id: "v_a.b", fields: fields) == nil)
    }
}
