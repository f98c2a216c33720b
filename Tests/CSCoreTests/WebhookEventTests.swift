import CSCore
import CSServer
import CSWebhooks
import Foundation
import Testing

/// Webhook events and signatures: pure logic (docs/api.md "Webhooks").
@Suite("Webhook events")
struct WebhookEventTests {
    static let ann = Participant(id: "v_3q9x7k2m4n8p", role: .customer, name: "Ann \"A\"")
    static let conversationID = "v_3q9x7k2m4n8p.k7f2m9q1"

    static func object(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    @Test func committedFramesMapToTheirEventTypes() {
        let frames: [(CommittedFrame, WebhookEventType)] = [
            (.message(conversationID: Self.conversationID, clientMessageID: "m1", from: Self.ann, body: "hi", timestamp: 1), .message),
            (.queued(conversationID: Self.conversationID, skill: "default", reason: .new, agentsOnline: false, timestamp: 1), .queued),
            (.assigned(conversationID: Self.conversationID, agent: Self.ann, customer: Self.ann, timestamp: 1), .assigned),
            (.transferred(conversationID: Self.conversationID, from: Self.ann, to: nil, skill: "x", note: nil, timestamp: 1), .transferred),
            (.closed(conversationID: Self.conversationID, by: Self.ann, timestamp: 1), .closed),
        ]
        for (frame, type) in frames {
            #expect(WebhookEventType(committedFramePrefix: frame.prefix) == type, "\(frame.prefix)")
        }
        // Types no committed frame has, and garbage, map to nothing.
        #expect(WebhookEventType(committedFramePrefix: #"{"type":"conversation.opened","conversationId":"x","seq":"#) == nil)
        #expect(WebhookEventType(committedFramePrefix: #"{"type":"rating","#) == nil)
        #expect(WebhookEventType(committedFramePrefix: #"{"type":"typing","#) == nil)
        #expect(WebhookEventType(committedFramePrefix: #"{"type":"message"#) == nil)
        #expect(WebhookEventType(committedFramePrefix: "") == nil)
    }

    @Test func committedEventCarriesTheFrameAndAStableID() throws {
        let frame = CommittedFrame.message(conversationID: Self.conversationID, clientMessageID: "m1", from: Self.ann, body: "a \"b\"\n", timestamp: 7)
        let event = try #require(WebhookEvent.committed(frame, conversationID: Self.conversationID, seq: 12, timestamp: 99))
        #expect(event.id == Self.conversationID + ":12" && event.type == .message)
        let body = try Self.object(event.body)
        #expect(Set(body.keys) == ["id", "type", "conversationId", "seq", "ts", "data"])
        #expect(body["id"] as? String == event.id && body["seq"] as? Int == 12 && body["ts"] as? Int == 99)
        let data = try #require(body["data"] as? [String: Any])
        #expect(data["body"] as? String == "a \"b\"\n" && data["seq"] as? Int == 12 && data["type"] as? String == "message")
        // The same commit gives the same id whenever it is recorded.
        #expect(WebhookEvent.committed(frame, conversationID: Self.conversationID, seq: 12, timestamp: 100)?.id == event.id)
    }

    @Test func openedAndRatingEvents() throws {
        let state = ConversationState(id: Self.conversationID, customer: Self.ann, status: .new, skill: "billing")
        let opened = WebhookEvent.opened(state, timestamp: 5)
        #expect(opened.id == Self.conversationID + ":opened" && opened.type == .opened)
        let body = try Self.object(opened.body)
        #expect(body["seq"] is NSNull)
        let data = try #require(body["data"] as? [String: Any])
        #expect((data["customer"] as? [String: Any])?["name"] as? String == "Ann \"A\"" && data["skill"] as? String == "billing")

        let rating = WebhookEvent.rating(conversationID: Self.conversationID, entryID: "1700-3", frame: #"{"type":"rating","score":4}"#, timestamp: 9)
        #expect(rating.id == Self.conversationID + ":rating:1700-3")
        #expect(((try Self.object(rating.body))["data"] as? [String: Any])?["score"] as? Int == 4)
    }

    @Test func streamFieldsRoundTrip() throws {
        let event = WebhookEvent(id: "c.1:3", type: .closed, conversationID: "c.1", body: "{}")
        var fields: [String: String] = [:]
        for pair in stride(from: 0, to: event.fields.count, by: 2) { fields[event.fields[pair]] = event.fields[pair + 1] }
        #expect(WebhookEvent(fields: fields) == event)
        fields["t"] = "conversation.reopened"
        #expect(WebhookEvent(fields: fields) == nil)
        fields["t"] = "message"
        fields["b"] = nil
        #expect(WebhookEvent(fields: fields) == nil)
    }

    @Test func eventTypeLists() {
        #expect(WebhookEventType.parseList("message,conversation.closed") == [.closed, .message])
        #expect(WebhookEventType.parseList("message,message") == [.message])
        #expect(WebhookEventType.parseList("*") == WebhookEventType.allCases)
        #expect(WebhookEventType.parseList("") == nil)
        #expect(WebhookEventType.parseList("message,") == nil)
        #expect(WebhookEventType.parseList("closed") == nil)
    }

    @Test func endpointJSONRoundTrips() throws {
        let endpoint = WebhookEndpoint(
            id: "wh_abc", url: "https://crm.example.com/hooks/cs?x=1", types: [.message, .rating], secret: "whsec_0123456789abcdef",
            createdAt: 1, createdBy: "sue")
        #expect(WebhookEndpoint(json: endpoint.json) == endpoint)
        #expect(endpoint.json.contains(#""url":"https://crm.example.com/hooks/cs?x=1""#))
        #expect(WebhookEndpoint(json: #"{"id":"x"}"#) == nil)
        #expect(WebhookEndpoint(json: endpoint.json.replacingOccurrences(of: "\"rating\"", with: "\"bogus\"")) == nil)
    }

    // MARK: Signature

    /// Computed independently: `printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac whsec_test_secret_123`.
    static let opensslHex = "e89dcbfdce3392fb275033fb083d8c81e095a63bf687d9a2cd50e7d5f55e21f6"

    @Test func signatureIsHMACOverTimestampDotBody() throws {
        let signature = WebhookSignature(secret: "whsec_test_secret_123", timestamp: 1_700_000_000, body: Array(#"{"a":1}"#.utf8))
        #expect(signature.hex.count == 64 && signature.headerValue == "sha256=" + signature.hex)
        #expect(signature.hex == Self.opensslHex, "must equal openssl dgst -sha256 -hmac")
    }

    @Test func verificationRefusesTamperingWrongKeysAndOldTimestamps() {
        let body = Array(#"{"id":"c.1:2"}"#.utf8)
        let header = WebhookSignature(secret: "whsec_k1_0123456789", timestamp: 1_000, body: body).headerValue
        #expect(WebhookSignature.verify(secret: "whsec_k1_0123456789", timestamp: 1_000, body: body, headerValue: header, now: 1_100))
        #expect(!WebhookSignature.verify(secret: "whsec_k2_0123456789", timestamp: 1_000, body: body, headerValue: header, now: 1_100))
        #expect(!WebhookSignature.verify(secret: "whsec_k1_0123456789", timestamp: 1_001, body: body, headerValue: header, now: 1_100))
        #expect(!WebhookSignature.verify(secret: "whsec_k1_0123456789", timestamp: 1_000, body: body + [0x20], headerValue: header, now: 1_100))
        #expect(!WebhookSignature.verify(secret: "whsec_k1_0123456789", timestamp: 1_000, body: body, headerValue: header, now: 1_000 + 301))
        #expect(!WebhookSignature.verify(secret: "whsec_k1_0123456789", timestamp: 1_000, body: body, headerValue: "sha256=00", now: 1_000))
    }
}
