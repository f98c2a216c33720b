import CSCore
import Testing

/// `ClientFrame.decode`: the gateway's only parser of untrusted input.
@Suite("ClientFrame")
struct ClientFrameTests {
    static func decode(_ text: String) throws(ChatError) -> ClientFrame {
        try ClientFrame.decode(Array(text.utf8))
    }

    /// The error a frame is refused with; nil when it decodes.
    static func failure(_ text: String) -> ChatError? {
        failure(bytes: Array(text.utf8))
    }

    static func failure(bytes: [UInt8]) -> ChatError? {
        do {
            _ = try ClientFrame.decode(bytes)
            return nil
        } catch {
            return error
        }
    }

    static func message(body: String) -> String {
        var json = JSONText()
        json.raw("{")
        json.field("type", "message", first: true)
        json.field("id", "c-000001")
        json.field("body", body)
        json.raw("}")
        return json.text
    }

    // MARK: Valid frames

    @Test func customerMessageWithoutConversation() throws {
        let frame = try Self.decode(#"{"type":"message","id":"c-000001","body":"Hello, my order has not arrived."}"#)
        #expect(frame == .message(id: "c-000001", conversationID: nil, body: "Hello, my order has not arrived.", skill: nil))
    }

    @Test func agentMessageWithConversation() throws {
        let frame = try Self.decode(
            #"{"type":"message","id":"a-000001","conversationId":"v_3q9x7k2m4n8p.k7f2m9q1","body":"Hi Ann, let me check."}"#)
        #expect(frame == .message(id: "a-000001", conversationID: "v_3q9x7k2m4n8p.k7f2m9q1", body: "Hi Ann, let me check.", skill: nil))
    }

    @Test func messageWithSkillAndExtraFieldsInAnyOrder() throws {
        let frame = try Self.decode(#"{"body":"hi","skill":"billing","future":{"x":[1,2]},"id":"c1._-X","type":"message"}"#)
        #expect(frame == .message(id: "c1._-X", conversationID: nil, body: "hi", skill: "billing"))
    }

    @Test func whitespaceAroundTheJSONIsAccepted() throws {
        let frame = try Self.decode(" \n\t{ \"type\" : \"ping\" }\r\n")
        #expect(frame == .ping(id: nil))
    }

    @Test func explicitNullsCountAsAbsent() throws {
        let frame = try Self.decode(#"{"type":"message","id":"c-1","body":"x","conversationId":null,"skill":null}"#)
        #expect(frame == .message(id: "c-1", conversationID: nil, body: "x", skill: nil))
        #expect(try Self.decode(#"{"type":"ping","id":null}"#) == .ping(id: nil))
    }

    @Test func bodyKeepsEscapesAndWhitespaceExactly() throws {
        let frame = try Self.decode(#"{"type":"message","id":"c-1","body":"  line1\nline2 \"q\" \\ \u00e9 \ud83d\udc4d  "}"#)
        #expect(frame == .message(id: "c-1", conversationID: nil, body: "  line1\nline2 \"q\" \\ é 👍  ", skill: nil))
    }

    @Test func whitespaceOnlyBodyIsAccepted() throws {
        // "1-4,000 characters after trimming nothing".
        #expect(try Self.decode(Self.message(body: " ")) == .message(id: "c-000001", conversationID: nil, body: " ", skill: nil))
    }

    @Test func pingWithAndWithoutID() throws {
        #expect(try Self.decode(#"{"type":"ping"}"#) == .ping(id: nil))
        #expect(try Self.decode(#"{"type":"ping","id":"p-1"}"#) == .ping(id: "p-1"))
    }

    @Test func closeFrames() throws {
        #expect(try Self.decode(#"{"type":"close"}"#) == .close(id: nil, conversationID: nil))
        #expect(
            try Self.decode(#"{"type":"close","id":"x-1","conversationId":"v_3q9x7k2m4n8p.k7f2m9q1"}"#)
                == .close(id: "x-1", conversationID: "v_3q9x7k2m4n8p.k7f2m9q1"))
    }

    @Test func decodesFromAnyByteCollection() throws {
        let text = #"{"type":"ping","id":"p-2"}"#
        #expect(try ClientFrame.decode(text.utf8) == .ping(id: "p-2"))
        #expect(try ClientFrame.decode(ArraySlice(Array(text.utf8))) == .ping(id: "p-2"))
    }

    // MARK: Not a JSON object → bad_request

    @Test(arguments: [
        // (A trailing comma, `{"type":"ping",}`, is tolerated by Foundation's parser: harmless.)
        "", " ", "{", "}", "{\"type\":\"ping\"", "{'type':'ping'}", "type=ping", "ping",
        "{\"type\":\"ping\"}{\"type\":\"ping\"}", "{\"type\" \"ping\"}", "{\"type\":\"pi\u{1}ng\"}",
    ])
    func malformedJSONIsBadRequest(text: String) {
        #expect(Self.failure(text)?.code == .badRequest)
    }

    @Test(arguments: ["[]", #"[{"type":"ping"}]"#, "42", "-1.5e3", #""ping""#, "true", "false", "null"])
    func nonObjectJSONIsBadRequest(text: String) {
        #expect(Self.failure(text)?.code == .badRequest)
    }

    @Test func invalidUTF8IsBadRequest() {
        let bytes: [UInt8] = Array(#"{"type":"message","id":"c-1","body":""#.utf8) + [0xC3, 0x28, 0xFF] + Array(#""}"#.utf8)
        #expect(Self.failure(bytes: bytes)?.code == .badRequest)
    }

    // MARK: type → unknown_type

    @Test(arguments: ["{}", #"{"id":"c-1","body":"hi"}"#, #"{"type":null}"#])
    func missingTypeIsUnknownType(text: String) {
        #expect(Self.failure(text)?.code == .unknownType)
    }

    @Test(arguments: ["", "MESSAGE", "Message", "msg", "ack", "hello", "pong", "error", "conversation.assigned", " ping", "ping "])
    func unknownTypeValueIsUnknownType(type: String) {
        #expect(Self.failure(#"{"type":"\#(type)","id":"c-1","body":"hi"}"#)?.code == .unknownType)
    }

    // MARK: Wrong field types → invalid_field naming the field

    @Test(arguments: [
        (#"{"type":5}"#, "type"),
        (#"{"type":["message"]}"#, "type"),
        (#"{"type":"message","id":1,"body":"hi"}"#, "id"),
        (#"{"type":"message","id":"c-1","body":42}"#, "body"),
        (#"{"type":"message","id":"c-1","body":["hi"]}"#, "body"),
        (#"{"type":"message","id":"c-1","body":{"text":"hi"}}"#, "body"),
        (#"{"type":"message","id":"c-1","body":true}"#, "body"),
        (#"{"type":"message","id":"c-1","body":"hi","conversationId":7}"#, "conversationId"),
        (#"{"type":"message","id":"c-1","body":"hi","skill":false}"#, "skill"),
        (#"{"type":"ping","id":{}}"#, "id"),
    ])
    func wrongFieldTypeIsInvalidField(text: String, field: String) {
        let error = Self.failure(text)
        #expect(error?.code == .invalidField)
        #expect(error?.message.hasPrefix(field) == true, "\(error?.message ?? "nil")")
    }

    // MARK: Required fields

    @Test func messageWithoutIDIsInvalidField() {
        let error = Self.failure(#"{"type":"message","body":"hi"}"#)
        #expect(error?.code == .invalidField)
        #expect(error?.message == "id is required")
    }

    @Test(arguments: [#"{"type":"message","id":"c-1"}"#, #"{"type":"message","id":"c-1","body":null}"#, #"{"type":"message","id":"c-1","body":""}"#])
    func messageWithoutBodyIsInvalidField(text: String) {
        let error = Self.failure(text)
        #expect(error?.code == .invalidField)
        #expect(error?.message == "body must be 1-4000 characters")
    }

    // MARK: Body limits (Unicode scalars)

    @Test func bodyLimitIsFourThousandScalars() throws {
        #expect(ClientFrame.Limits.maxBodyCharacters == 4_000)
        #expect(try Self.decode(Self.message(body: "a")) == .message(id: "c-000001", conversationID: nil, body: "a", skill: nil))
        let longest = String(repeating: "a", count: 4_000)
        #expect(try Self.decode(Self.message(body: longest)) == .message(id: "c-000001", conversationID: nil, body: longest, skill: nil))
        #expect(Self.failure(Self.message(body: longest + "a"))?.code == .invalidField)
        #expect(Self.failure(Self.message(body: ""))?.code == .invalidField)
    }

    @Test(arguments: ["é", "€", "中", "👍", "\u{0}", "\n"])
    func multiByteScalarsCountOnce(scalar: String) throws {
        #expect(scalar.unicodeScalars.count == 1)
        let longest = String(repeating: scalar, count: 4_000)
        #expect(try Self.decode(Self.message(body: longest)) == .message(id: "c-000001", conversationID: nil, body: longest, skill: nil))
        #expect(Self.failure(Self.message(body: longest + scalar))?.code == .invalidField)
    }

    @Test func composedCharactersCountTheirScalars() throws {
        // "é" as e + combining acute: 1 Character, 2 scalars.
        let decomposed = "e\u{301}"
        let fits = String(repeating: decomposed, count: 2_000)
        #expect(fits.count == 2_000 && fits.unicodeScalars.count == 4_000)
        #expect(try Self.decode(Self.message(body: fits)) == .message(id: "c-000001", conversationID: nil, body: fits, skill: nil))
        let tooLong = fits + decomposed
        #expect(tooLong.count == 2_001)
        #expect(Self.failure(Self.message(body: tooLong))?.code == .invalidField)

        // A skin-toned thumbs-up is 2 scalars; a family emoji is 5.
        let toned = "👍🏽", family = "👨‍👩‍👧"
        #expect(toned.unicodeScalars.count == 2 && family.unicodeScalars.count == 5)
        #expect(Self.failure(Self.message(body: String(repeating: toned, count: 2_000))) == nil)
        #expect(Self.failure(Self.message(body: String(repeating: toned, count: 2_000) + "a"))?.code == .invalidField)
        #expect(Self.failure(Self.message(body: String(repeating: family, count: 800))) == nil)
        #expect(Self.failure(Self.message(body: String(repeating: family, count: 801)))?.code == .invalidField)
    }

    @Test func escapedBodyIsMeasuredAfterDecoding() throws {
        // 4,000 "\u00e9" escapes are 24,000 bytes of JSON but 4,000 scalars.
        let escaped = String(repeating: #"\u00e9"#, count: 4_000)
        let frame = try Self.decode(#"{"type":"message","id":"c-1","body":"\#(escaped)"}"#)
        #expect(frame == .message(id: "c-1", conversationID: nil, body: String(repeating: "é", count: 4_000), skill: nil))
        #expect(Self.failure(#"{"type":"message","id":"c-1","body":"\#(escaped)\u00e9"}"#)?.code == .invalidField)
    }

    @Test func tooLongBodyErrorDoesNotEchoTheBody() {
        let body = "SECRET" + String(repeating: "x", count: 4_000)
        let error = Self.failure(Self.message(body: body))
        #expect(error?.code == .invalidField)
        #expect(error?.message.contains("SECRET") == false)
    }

    // MARK: Ids

    static let allowed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"

    @Test func idMayUseTheWholeCharset() throws {
        let id = String(Self.allowed.prefix(64))
        #expect(try Self.decode(#"{"type":"ping","id":"\#(id)"}"#) == .ping(id: id))
        for character in Self.allowed {
            #expect(try Self.decode(#"{"type":"ping","id":"\#(character)"}"#) == .ping(id: String(character)))
        }
    }

    @Test func idLengthIsOneToSixtyFour() throws {
        #expect(ClientFrame.Limits.maxIDLength == 64)
        let longest = String(repeating: "a", count: 64)
        #expect(try Self.decode(#"{"type":"message","id":"\#(longest)","body":"x"}"#) == .message(id: longest, conversationID: nil, body: "x", skill: nil))
        #expect(Self.failure(#"{"type":"message","id":"\#(longest)a","body":"x"}"#)?.code == .invalidField)
        #expect(Self.failure(#"{"type":"message","id":"","body":"x"}"#)?.code == .invalidField)
        #expect(Self.failure(#"{"type":"ping","id":""}"#)?.code == .invalidField)
        #expect(Self.failure(#"{"type":"close","id":""}"#)?.code == .invalidField)
    }

    @Test(arguments: [
        "a:b", "k5:1", "a{b}", "a b", "a/b", "a\\\\b", "a+b", "a@b", "a#b", "a,b", "é", "a\\u0000", "a\\n", "<script>", "a\\\"b", "😀", "a*", "~", "a%20",
    ])
    func idOutsideTheCharsetIsInvalidField(id: String) {
        let error = Self.failure(#"{"type":"message","id":"\#(id)","body":"x"}"#)
        #expect(error?.code == .invalidField)
        #expect(error?.message == "id must be 1-64 characters of [A-Za-z0-9._-]")
        #expect(Self.failure(#"{"type":"ping","id":"\#(id)"}"#)?.code == .invalidField)
    }

    @Test func conversationIDFollowsTheIDRules() {
        let longest = String(repeating: "c", count: 64)
        #expect(Self.failure(#"{"type":"message","id":"c-1","body":"x","conversationId":"\#(longest)"}"#) == nil)
        for bad in ["", "a b", "v_x.k/1", String(repeating: "c", count: 65)] {
            let error = Self.failure(#"{"type":"message","id":"c-1","body":"x","conversationId":"\#(bad)"}"#)
            #expect(error?.code == .invalidField)
            #expect(error?.message.hasPrefix("conversationId") == true)
            #expect(Self.failure(#"{"type":"close","conversationId":"\#(bad)"}"#)?.code == .invalidField)
        }
    }

    @Test func skillIsOneToThirtyTwoIDCharacters() throws {
        #expect(ClientFrame.Limits.maxSkillLength == 32)
        let longest = String(repeating: "s", count: 32)
        #expect(
            try Self.decode(#"{"type":"message","id":"c-1","body":"x","skill":"\#(longest)"}"#)
                == .message(id: "c-1", conversationID: nil, body: "x", skill: longest))
        for bad in ["", longest + "s", "bill ing", "bill,ing"] {
            let error = Self.failure(#"{"type":"message","id":"c-1","body":"x","skill":"\#(bad)"}"#)
            #expect(error?.code == .invalidField)
            #expect(error?.message.hasPrefix("skill") == true)
        }
    }

    // MARK: Hostile input

    @Test func moderatelyNestedUnknownFieldsAreIgnored() throws {
        let text = #"{"type":"ping","x":"# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100) + "}"
        #expect(try Self.decode(text) == .ping(id: nil))
    }

    @Test(arguments: [1_000, 10_000, 32_000])
    func deeplyNestedArraysAreBadRequest(depth: Int) {
        // 32,000 levels fit in one 64 KiB frame; the parser refuses them (its limit is 512) without crashing.
        let text = #"{"type":"ping","x":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        #expect(Self.failure(text)?.code == .badRequest)
    }

    @Test(arguments: [1_000, 10_000])
    func deeplyNestedObjectsAreBadRequest(depth: Int) {
        let text = #"{"type":"ping","x":"# + String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth) + "}"
        #expect(Self.failure(text)?.code == .badRequest)
    }

    @Test func unbalancedDeepNestingIsBadRequest() {
        let text = String(repeating: "[", count: 60_000)
        #expect(Self.failure(text)?.code == .badRequest)
        #expect(Self.failure(String(repeating: "{\"a\":", count: 10_000))?.code == .badRequest)
    }

    @Test func frameOfMaximumSizeDecodes() throws {
        // A frame near the 64 KiB limit of mostly unknown fields still parses.
        let padding = String(repeating: "p", count: ClientFrame.Limits.maxFrameBytes - 100)
        #expect(try Self.decode(#"{"type":"ping","pad":"\#(padding)"}"#) == .ping(id: nil))
    }

    @Test func duplicateKeysDoNotCrash() {
        let error = Self.failure(#"{"type":"ping","type":"message","id":"c-1","body":"x"}"#)
        #expect(error == nil || error?.code == .badRequest)
    }
}
