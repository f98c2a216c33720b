import CSCore
import Testing

/// `InboundEntry`: the field map gateways XADD and dispatchers read back (docs/redis-keys.md).
@Suite("InboundEntry")
struct InboundEntryTests {
    static func map(_ entry: InboundEntry) -> [String: String] {
        Dictionary(entry.fields, uniquingKeysWith: { first, _ in first })
    }

    static let fullMessage = InboundEntry(
        kind: .message, userID: "v_3q9x7k2m4n8p", role: .customer, userName: "Ann \"the\" customer\n",
        clientMessageID: "c-000001", conversationID: "v_3q9x7k2m4n8p.k7f2m9q1", body: "Hello 👍 </script> \\ \u{0}",
        skill: "billing", gatewayID: "gw-1", connectionID: "gw-1.7f3a9c2e")

    @Test func kindsHaveShortStableNames() {
        #expect(InboundEntry.Kind.message.rawValue == "msg")
        #expect(InboundEntry.Kind.close.rawValue == "close")
        #expect(InboundEntry.Kind.assigned.rawValue == "assigned")
    }

    @Test func messageFieldsInOrder() {
        let fields = Self.fullMessage.fields
        #expect(fields.map(\.0) == ["k", "u", "r", "n", "cid", "c", "b", "s", "g", "cn"])
        #expect(fields.map(\.1) == [
            "msg", "v_3q9x7k2m4n8p", "customer", "Ann \"the\" customer\n", "c-000001", "v_3q9x7k2m4n8p.k7f2m9q1",
            "Hello 👍 </script> \\ \u{0}", "billing", "gw-1", "gw-1.7f3a9c2e",
        ])
    }

    @Test func messageRoundTrips() {
        #expect(InboundEntry(fields: Self.map(Self.fullMessage)) == Self.fullMessage)
    }

    @Test(arguments: [ParticipantRole.customer, .agent, .supervisor])
    func roleRoundTrips(role: ParticipantRole) {
        var entry = Self.fullMessage
        entry.role = role
        #expect(Self.map(entry)["r"] == role.rawValue)
        #expect(InboundEntry(fields: Self.map(entry))?.role == role)
    }

    @Test func emptyValuesAreOmitted() {
        let entry = InboundEntry(kind: .message, userID: "v_a", role: .agent, clientMessageID: "c-1", body: "x")
        #expect(entry.fields.map(\.0) == ["k", "u", "r", "cid", "b"])
        #expect(InboundEntry(fields: Self.map(entry)) == entry)
    }

    @Test func closeRoundTrips() {
        let minimal = InboundEntry(kind: .close, userID: "v_a", gatewayID: "gw-1", connectionID: "gw-1.x")
        #expect(minimal.fields.map(\.0) == ["k", "u", "r", "g", "cn"])
        #expect(InboundEntry(fields: Self.map(minimal)) == minimal)
        let full = InboundEntry(
            kind: .close, userID: "alice", role: .agent, userName: "Alice", clientMessageID: "x-1", conversationID: "v_a.b",
            gatewayID: "gw-2", connectionID: "gw-2.y")
        #expect(InboundEntry(fields: Self.map(full)) == full)
    }

    @Test func assignedRoundTripsWithoutUserOrRole() {
        let entry = InboundEntry(kind: .assigned, conversationID: "v_a.b", agentID: "alice")
        // No acting user, so no role field either.
        #expect(entry.fields.map(\.0) == ["k", "c", "a"])
        #expect(entry.fields.map(\.1) == ["assigned", "v_a.b", "alice"])
        #expect(InboundEntry(fields: Self.map(entry)) == entry)
    }

    @Test func missingRoleMeansCustomer() {
        let entry = InboundEntry(fields: ["k": "msg", "u": "v_a", "cid": "c-1", "b": "x"])
        #expect(entry?.role == .customer)
        #expect(entry?.conversationID == "")
        #expect(entry?.skill == "")
    }

    @Test func unknownFieldsAreIgnored() {
        var fields = Self.map(Self.fullMessage)
        fields["future"] = "value"
        #expect(InboundEntry(fields: fields) == Self.fullMessage)
    }

    @Test(arguments: [
        [:],
        ["u": "v_a", "cid": "c-1", "b": "x"],
        ["k": "", "u": "v_a", "cid": "c-1", "b": "x"],
        ["k": "message", "u": "v_a", "cid": "c-1", "b": "x"],
        ["k": "MSG", "u": "v_a", "cid": "c-1", "b": "x"],
        ["k": "msg", "cid": "c-1", "b": "x"],
        ["k": "msg", "u": "", "cid": "c-1", "b": "x"],
        ["k": "msg", "u": "v_a", "b": "x"],
        ["k": "msg", "u": "v_a", "cid": "c-1"],
        ["k": "msg", "u": "v_a", "cid": "c-1", "b": ""],
        ["k": "close"],
        ["k": "close", "c": "v_a.b"],
        ["k": "assigned", "c": "v_a.b"],
        ["k": "assigned", "a": "alice"],
        ["k": "assigned", "c": "", "a": "alice"],
    ] as [[String: String]])
    func invalidEntriesAreRejected(fields: [String: String]) {
        #expect(InboundEntry(fields: fields) == nil)
    }
}
