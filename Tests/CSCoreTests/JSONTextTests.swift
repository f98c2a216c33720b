import CSCore
import Foundation
import Testing

/// `JSONText`: the hand-rolled JSON writer behind every server frame.
@Suite("JSONText")
struct JSONTextTests {
    static func quoted(_ value: String) -> String {
        var json = JSONText()
        json.string(value)
        return json.text
    }

    /// `{"v":<value>}` parsed back; nil when it is not valid JSON.
    ///
    /// Validity is checked with `JSONSerialization`, the value read back with `JSONDecoder`:
    /// corelibs' `JSONSerialization` drops a U+FEFF at the start of a string value, which would
    /// hide what `JSONText` wrote.
    static func roundTrip(_ value: String) -> String? {
        var json = JSONText()
        json.raw("{")
        json.field("v", value, first: true)
        json.raw("}")
        let data = Data(json.text.utf8)
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else { return nil }
        return (try? JSONDecoder().decode([String: String].self, from: data))?["v"]
    }

    @Test func plainStringsAreQuotedAsTheyAre() {
        #expect(Self.quoted("") == #""""#)
        #expect(Self.quoted("hello") == #""hello""#)
        #expect(Self.quoted("héllo wörld 中文 👍") == "\"héllo wörld 中文 👍\"")
        // Characters JSON does not require escaping are left alone.
        #expect(Self.quoted("</script>/'&<>=\u{7F}") == "\"</script>/'&<>=\u{7F}\"")
    }

    @Test func requiredEscapes() {
        #expect(Self.quoted("a\"b") == #""a\"b""#)
        #expect(Self.quoted("a\\b") == #""a\\b""#)
        #expect(Self.quoted("\n\r\t") == #""\n\r\t""#)
        #expect(Self.quoted("\u{0}") == #""\u0000""#)
        #expect(Self.quoted("\u{8}\u{C}") == #""\u0008\u000c""#)
        #expect(Self.quoted("\u{1F}") == #""\u001f""#)
        #expect(Self.quoted("\u{1B}[31mred") == #""\u001b[31mred""#)
        #expect(Self.quoted(#"\"#) == #""\\""#)
        #expect(Self.quoted(#"\""#) == #""\\\"""#)
    }

    @Test func escapingKeepsNonASCIIExactly() {
        // The slow path (a quote forces escaping) must copy every other scalar unchanged.
        #expect(Self.quoted("\"👨‍👩‍👧\" e\u{301} 中") == "\"\\\"👨‍👩‍👧\\\" e\u{301} 中\"")
    }

    @Test func everyControlCharacterIsEscaped() {
        for value in UInt32(0)..<0x20 {
            let scalar = Unicode.Scalar(value)!
            let text = Self.quoted(String(Character(scalar)))
            #expect(!text.unicodeScalars.contains { $0.value < 0x20 }, "U+\(String(value, radix: 16)) left raw")
            #expect(Self.roundTrip(String(Character(scalar))) == String(Character(scalar)))
        }
    }

    /// A test argument shown escaped and short in test output (some values hold control characters).
    struct Sample: Sendable, CustomTestStringConvertible {
        var value: String
        var testDescription: String {
            let escaped = value.debugDescription
            return escaped.count <= 48 ? escaped : String(escaped.prefix(45)) + "…\""
        }
    }

    static let tricky: [Sample] = [String]([
        "",
        "plain",
        #"He said "hi""#,
        #"C:\Users\ann\new folder"#,
        "\\\"",
        "\"\\\"\\\\\"",
        "line1\nline2\r\nline3\ttab",
        String((0..<0x20).map { Character(Unicode.Scalar($0)!) }),
        "\u{7F}\u{80}\u{9F}\u{A0}",
        "👍🏽 👨‍👩‍👧 🇫🇷 😀",
        "e\u{301} vs \u{E9}",
        "</script><script>alert('x')</script>",
        "<!-- --> ]]> &amp; &#x27;",
        "\u{2028}\u{2029}",
        "\u{FEFF}BOM \u{FFFD} \u{10FFFF}",
        "{\"type\":\"message\"}",
        "\\u0000 is not a NUL",
        String(repeating: "\"\\\n", count: 2_000),
    ]).map(Sample.init)

    @Test(arguments: tricky)
    func roundTripsExactly(sample: Sample) throws {
        let value = sample.value
        let parsed = try #require(Self.roundTrip(value), "not valid JSON for \(value.debugDescription)")
        // Compare scalars, not Characters: String == would accept canonically equivalent text.
        #expect(Array(parsed.unicodeScalars) == Array(value.unicodeScalars))
    }

    @Test func keysAndFields() {
        var json = JSONText()
        json.raw("{")
        json.field("a", "x", first: true)
        json.field("n", 42)
        json.field("neg", -7)
        json.key("obj")
        json.raw("{")
        json.field("z", 0, first: true)
        json.raw("}")
        json.key("list")
        json.raw("[1,2]")
        json.raw("}")
        #expect(json.text == #"{"a":"x","n":42,"neg":-7,"obj":{"z":0},"list":[1,2]}"#)
        #expect((try? JSONSerialization.jsonObject(with: Data(json.text.utf8))) != nil)
    }

    @Test func largeIntegersAreExact() throws {
        var json = JSONText()
        json.raw("{")
        json.field("ts", 1_732_676_400_125, first: true)
        json.field("max", Int.max)
        json.field("min", Int.min)
        json.raw("}")
        #expect(json.text == #"{"ts":1732676400125,"max":9223372036854775807,"min":-9223372036854775808}"#)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.text.utf8)) as? [String: Any])
        #expect((object["ts"] as? NSNumber)?.int64Value == 1_732_676_400_125)
    }

    @Test func capacityDoesNotChangeTheOutput() {
        var small = JSONText(capacity: 0)
        var large = JSONText(capacity: 10_000)
        small.field("k", "v", first: true)
        large.field("k", "v", first: true)
        #expect(small.text == large.text)
        #expect(JSONText().text.isEmpty)
    }
}
