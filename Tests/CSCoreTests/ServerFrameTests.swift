import CSCore
import Foundation
import Testing

/// Every server frame builder: valid JSON, the documented fields, the documented examples byte for byte.
@Suite("ServerFrame")
struct ServerFrameTests {
    static let ann = Participant(id: "v_3q9x7k2m4n8p", role: .customer, name: "Ann")
    static let alice = Participant(id: "alice", role: .agent, name: "Alice")
    static let conversationID = "v_3q9x7k2m4n8p.k7f2m9q1"

    static func object(_ text: String) throws -> [String: Any] {
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try #require(parsed as? [String: Any], "not a JSON object: \(text)")
    }

    static func keys(_ object: [String: Any]) -> Set<String> { Set(object.keys) }

    // MARK: Direct frames

    @Test func helloMatchesTheProtocolExample() throws {
        let text = ServerFrame.hello(connectionID: "gw-1.7f3a9c2e", participant: Self.ann, gatewayID: "gw-1", pingIntervalSeconds: 30)
        #expect(
            text
                == #"{"type":"hello","connectionId":"gw-1.7f3a9c2e","userId":"v_3q9x7k2m4n8p","role":"customer","name":"Ann","gatewayId":"gw-1","pingIntervalSeconds":30}"#
        )
        let object = try Self.object(text)
        #expect(Self.keys(object) == ["type", "connectionId", "userId", "role", "name", "gatewayId", "pingIntervalSeconds"])
        #expect(object["pingIntervalSeconds"] as? Int == 30)
    }

    @Test(arguments: [ParticipantRole.customer, .agent, .supervisor])
    func helloCarriesTheRole(role: ParticipantRole) throws {
        let participant = Participant(id: "u1", role: role, name: #"Name "with" \ quotes"#)
        let object = try Self.object(ServerFrame.hello(connectionID: "c", participant: participant, gatewayID: "g", pingIntervalSeconds: 5))
        #expect(object["role"] as? String == role.rawValue)
        #expect(object["name"] as? String == #"Name "with" \ quotes"#)
    }

    @Test func ackMatchesTheProtocolExample() throws {
        let text = ServerFrame.ack(id: "c-000001", acceptedID: "1732676400123-0")
        #expect(text == #"{"type":"ack","id":"c-000001","acceptedId":"1732676400123-0"}"#)
        #expect(Self.keys(try Self.object(text)) == ["type", "id", "acceptedId"])
    }

    @Test func pong() throws {
        #expect(ServerFrame.pong(id: nil) == #"{"type":"pong"}"#)
        #expect(ServerFrame.pong(id: "p-1") == #"{"type":"pong","id":"p-1"}"#)
        #expect(try Self.object(ServerFrame.pong(id: nil))["type"] as? String == "pong")
        #expect(try Self.object(ServerFrame.pong(id: "p-1"))["id"] as? String == "p-1")
    }

    @Test func errorMatchesTheProtocolExample() throws {
        let text = ServerFrame.error(ChatError(.invalidField, "body must be 1-4000 characters"), id: "c-000001")
        #expect(text == #"{"type":"error","code":"invalid_field","message":"body must be 1-4000 characters","id":"c-000001"}"#)
    }

    @Test func errorOptionalFields() throws {
        let bare = try Self.object(ServerFrame.error(ChatError(.unauthorized, "invalid token")))
        #expect(Self.keys(bare) == ["type", "code", "message"])
        let full = try Self.object(ServerFrame.error(ChatError(.forbidden, "not your conversation"), id: "c-9", conversationID: Self.conversationID))
        #expect(Self.keys(full) == ["type", "code", "message", "id", "conversationId"])
        #expect(full["code"] as? String == "forbidden")
        #expect(full["conversationId"] as? String == Self.conversationID)
        let onlyConversation = try Self.object(ServerFrame.error(ChatError(.notFound, "no such conversation"), conversationID: "x.y"))
        #expect(Self.keys(onlyConversation) == ["type", "code", "message", "conversationId"])
    }

    @Test(arguments: ChatError.Code.allCases)
    func errorCodeIsTheStableRawValue(code: ChatError.Code) throws {
        let object = try Self.object(ServerFrame.error(ChatError(code, "m\n\"x\"")))
        #expect(object["code"] as? String == code.rawValue)
        #expect(object["message"] as? String == "m\n\"x\"")
    }

    @Test func errorCodesArePinned() {
        // Part of the public protocol: never rename one.
        #expect(ChatError.Code.allCases.map(\.rawValue) == [
            "bad_request", "unknown_type", "invalid_field", "unauthorized", "invalid_credentials", "forbidden",
            "not_found", "conversation_closed", "conversation_open", "rating_final", "agent_unavailable", "unknown_users", "unavailable", "rate_limited", "too_large", "unsupported_type", "internal",
            "webhook_url_refused", "limit_reached",
        ])
        #expect(ChatError(.forbidden, "nope").description == "forbidden: nope")
    }

    @Test func closeCodesArePinned() {
        let codes: [(ChatCloseCode, UInt16)] = [
            (.normal, 1000), (.goingAway, 1001), (.unsupportedData, 1003), (.invalidPayload, 1007), (.tooLarge, 1009),
            (.internalError, 1011), (.unauthorized, 4001), (.rateLimited, 4008), (.slowConsumer, 4009),
        ]
        for (code, value) in codes { #expect(code.rawValue == value) }
    }

    // MARK: Committed frames

    @Test func renderInsertsTheSeq() {
        let frame = CommittedFrame(prefix: #"{"seq":"#, suffix: "}")
        #expect(frame.render(seq: 1) == #"{"seq":1}"#)
        #expect(frame.render(seq: 0) == #"{"seq":0}"#)
        #expect(frame.render(seq: 1_234_567_890) == #"{"seq":1234567890}"#)
        #expect(CommittedFrame(prefix: "a", suffix: "b").render(seq: 42) == "a42b")
        #expect(CommittedFrame(prefix: "", suffix: "").render(seq: 7) == "7")
    }

    @Test func prefixEndsAtTheSeqAndSuffixStartsAfterIt() {
        let frames = [
            CommittedFrame.message(conversationID: Self.conversationID, clientMessageID: "c-1", from: Self.ann, body: "x", timestamp: 1),
            CommittedFrame.queued(conversationID: Self.conversationID, skill: "default", reason: .new, agentsOnline: true, timestamp: 1),
            CommittedFrame.assigned(conversationID: Self.conversationID, agent: Self.alice, customer: Self.ann, timestamp: 1),
            CommittedFrame.closed(conversationID: Self.conversationID, by: Self.ann, timestamp: 1),
        ]
        for frame in frames {
            #expect(frame.prefix.hasSuffix(#","seq":"#))
            #expect(frame.suffix.hasPrefix(","))
            #expect(frame.suffix.hasSuffix("}"))
            // The Lua append script concatenates prefix .. seq .. suffix; the same as render.
            #expect(frame.render(seq: 12) == frame.prefix + "12" + frame.suffix)
        }
    }

    @Test func messageMatchesTheProtocolExample() throws {
        let frame = CommittedFrame.message(
            conversationID: Self.conversationID, clientMessageID: "c-000001", from: Self.ann, body: "Hello, my order has not arrived.",
            timestamp: 1_732_676_400_125)
        let text = frame.render(seq: 3)
        #expect(
            text
                == #"{"type":"message","conversationId":"v_3q9x7k2m4n8p.k7f2m9q1","seq":3,"id":"c-000001","from":{"id":"v_3q9x7k2m4n8p","role":"customer","name":"Ann"},"body":"Hello, my order has not arrived.","ts":1732676400125}"#
        )
        let object = try Self.object(text)
        #expect(Self.keys(object) == ["type", "conversationId", "seq", "id", "from", "body", "ts"])
        #expect(object["seq"] as? Int == 3)
        let from = try #require(object["from"] as? [String: Any])
        #expect(Self.keys(from) == ["id", "role", "name"])
    }

    struct DecodedMessage: Decodable {
        struct From: Decodable {
            var id: String
            var role: String
            var name: String
        }
        var type: String
        var conversationId: String
        var seq: Int
        var id: String
        var from: From
        var body: String
        var ts: Int
    }

    @Test(arguments: JSONTextTests.tricky)
    func messageBodyAndNamesRoundTrip(sample: JSONTextTests.Sample) throws {
        let value = sample.value
        let sender = Participant(id: "alice", role: .agent, name: value)
        let text = CommittedFrame.message(
            conversationID: Self.conversationID, clientMessageID: "a-1", from: sender, body: value, timestamp: 5
        ).render(seq: 9)
        _ = try Self.object(text)
        // Read back with JSONDecoder (see JSONTextTests.roundTrip on JSONSerialization and U+FEFF).
        let message = try JSONDecoder().decode(DecodedMessage.self, from: Data(text.utf8))
        #expect(Array(message.body.unicodeScalars) == Array(value.unicodeScalars))
        #expect(Array(message.from.name.unicodeScalars) == Array(value.unicodeScalars))
        #expect(message.from.role == "agent" && message.from.id == "alice")
        #expect(message.type == "message" && message.conversationId == Self.conversationID && message.seq == 9 && message.id == "a-1")
        #expect(message.ts == 5)
    }

    @Test func queuedMatchesTheProtocolExample() throws {
        let text = CommittedFrame.queued(
            conversationID: Self.conversationID, skill: "default", reason: .new, agentsOnline: true, timestamp: 1_732_676_400_124
        ).render(seq: 1)
        #expect(text == #"{"type":"conversation.queued","conversationId":"v_3q9x7k2m4n8p.k7f2m9q1","seq":1,"skill":"default","reason":"new","agentsOnline":true,"ts":1732676400124}"#)
        #expect(Self.keys(try Self.object(text)) == ["type", "conversationId", "seq", "skill", "reason", "agentsOnline", "ts"])
    }

    @Test func assignedMatchesTheProtocolExample() throws {
        let frame = CommittedFrame.assigned(conversationID: Self.conversationID, agent: Self.alice, customer: Self.ann, timestamp: 1_732_676_400_124)
        let text = frame.render(seq: 2)
        #expect(
            text
                == #"{"type":"conversation.assigned","conversationId":"v_3q9x7k2m4n8p.k7f2m9q1","seq":2,"agent":{"id":"alice","name":"Alice"},"customer":{"id":"v_3q9x7k2m4n8p","name":"Ann"},"ts":1732676400124}"#
        )
        let object = try Self.object(text)
        #expect(Self.keys(object) == ["type", "conversationId", "seq", "agent", "customer", "ts"])
        #expect(object["history"] == nil)
    }

    @Test func assignedWithHistoryMatchesTheProtocolExample() throws {
        let earlier = CommittedFrame.message(
            conversationID: Self.conversationID, clientMessageID: "c-000001", from: Self.ann, body: "Hello", timestamp: 1_732_676_400_120
        ).render(seq: 1)
        let frame = CommittedFrame.assigned(
            conversationID: Self.conversationID, agent: Self.alice, customer: Self.ann, timestamp: 1_732_676_400_124, history: [earlier])
        let text = frame.render(seq: 2)
        #expect(
            text
                == #"{"type":"conversation.assigned","conversationId":"v_3q9x7k2m4n8p.k7f2m9q1","seq":2,"agent":{"id":"alice","name":"Alice"},"customer":{"id":"v_3q9x7k2m4n8p","name":"Ann"},"ts":1732676400124,"history":[{"type":"message","conversationId":"v_3q9x7k2m4n8p.k7f2m9q1","seq":1,"id":"c-000001","from":{"id":"v_3q9x7k2m4n8p","role":"customer","name":"Ann"},"body":"Hello","ts":1732676400120}]}"#
        )
        let history = try #require(try Self.object(text)["history"] as? [[String: Any]])
        #expect(history.count == 1)
        #expect(history[0]["body"] as? String == "Hello")
    }

    @Test func assignedHistoryVariants() throws {
        let empty = CommittedFrame.assigned(conversationID: "a.b", agent: Self.alice, customer: Self.ann, timestamp: 1, history: [])
        #expect((try Self.object(empty.render(seq: 1))["history"] as? [Any])?.isEmpty == true)

        let frames = (1...50).map { seq in
            CommittedFrame.message(conversationID: "a.b", clientMessageID: "c-\(seq)", from: Self.ann, body: "m\"\(seq)\n", timestamp: seq)
                .render(seq: seq)
        }
        let full = CommittedFrame.assigned(conversationID: "a.b", agent: Self.alice, customer: Self.ann, timestamp: 1, history: frames)
        let history = try #require(try Self.object(full.render(seq: 51))["history"] as? [[String: Any]])
        #expect(history.map { $0["seq"] as? Int } == (1...50).map { $0 })
        #expect(history.last?["body"] as? String == "m\"50\n")
        // Without history the customer's copy shares the prefix: one numbering for both copies.
        let customerCopy = CommittedFrame.assigned(conversationID: "a.b", agent: Self.alice, customer: Self.ann, timestamp: 1)
        #expect(customerCopy.prefix == full.prefix)
    }

    @Test func closedFrame() throws {
        let text = CommittedFrame.closed(conversationID: Self.conversationID, by: Self.alice, timestamp: 1_732_676_500_000).render(seq: 7)
        #expect(
            text
                == #"{"type":"conversation.closed","conversationId":"v_3q9x7k2m4n8p.k7f2m9q1","seq":7,"by":{"id":"alice","role":"agent","name":"Alice"},"ts":1732676500000}"#
        )
        let object = try Self.object(text)
        #expect(Self.keys(object) == ["type", "conversationId", "seq", "by", "ts"])
        #expect((object["by"] as? [String: Any])?["role"] as? String == "agent")
    }

    @Test func conversationIDAndSkillAreEscapedToo() throws {
        // Ids are validated upstream, but the builders must never emit invalid JSON whatever they get.
        let weird = "a\"b\\c\n</script>"
        for text in [
            CommittedFrame.queued(conversationID: weird, skill: weird, reason: .agentUnavailable, agentsOnline: false, timestamp: 1).render(seq: 1),
            CommittedFrame.closed(conversationID: weird, by: Participant(id: weird, role: .customer, name: weird), timestamp: 1).render(seq: 1),
            ServerFrame.ack(id: weird, acceptedID: weird),
            ServerFrame.pong(id: weird),
            ServerFrame.hello(connectionID: weird, participant: Participant(id: weird, role: .agent, name: weird), gatewayID: weird, pingIntervalSeconds: 1),
        ] {
            let object = try Self.object(text)
            #expect(object.values.contains { ($0 as? String) == weird })
        }
    }
}
