@testable import CSCore
import Foundation
import PropertyBased
import Synchronization
import Testing

/// Property-based fuzzing of `ClientFrame.decode`, the gateway's parser of untrusted input
/// (docs/reliability.md, "Fuzzing"). Every property runs `CS_FUZZ_ITERATIONS` times (default
/// 20,000); a failure prints the input and the seed to reproduce it (`.fixedSeed(...)`).
@Suite("ClientFrame fuzzing")
struct ClientFrameFuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["CS_FUZZ_ITERATIONS"] ?? "") ?? 20_000

    /// The only outcomes allowed: a frame, or one of the three client-error codes with a message.
    static func check(_ bytes: [UInt8]) -> ClientFrame? {
        do {
            let frame = try ClientFrame.decode(bytes)
            // Whatever decodes is valid: encoding it and decoding again gives the same frame.
            let again = try? ClientFrame.decode(Array(FrameFuzz.encode(frame).utf8))
            #expect(again == frame, "decoded \(frame) does not round-trip from \(FrameFuzz.show(bytes))")
            return frame
        } catch {
            #expect([.badRequest, .unknownType, .invalidField].contains(error.code), "\(error) for \(FrameFuzz.show(bytes))")
            #expect(!error.message.isEmpty)
            // The error never echoes the input (bodies are private).
            #expect(error.message.utf8.count < 120, "long error message \(error.message)")
            // The id the error frame carries is a valid id or none.
            if let id = ClientFrame.idOfInvalidFrame(bytes) { #expect(Identifier.isValid(id)) }
            return nil
        }
    }

    @Test("random bytes decode to a frame or a client error")
    func randomBytes() async {
        await propertyCheck(count: Self.iterations, input: FrameFuzz.randomBytes) { bytes in
            _ = Self.check(bytes)
        }
    }

    @Test("mutated valid frames decode to a valid frame or a client error")
    func mutatedFrames() async {
        await propertyCheck(count: Self.iterations, input: FrameFuzz.mutatedFrame) { bytes in
            _ = Self.check(bytes)
        }
    }

    /// The flat scanner is a shortcut only: wherever it answers, Foundation's decoder gives the
    /// same fields (and so the same frame or error).
    static func checkScannerAgreesWithFoundation(_ bytes: [UInt8]) -> Bool {
        guard let fast = bytes.withUnsafeBytes({ FlatFrameScanner.scan($0) }) else { return false }
        let reference: ClientFrame.Raw
        do {
            reference = try ClientFrame.decodeWithFoundation(bytes)
        } catch {
            Issue.record("scanner accepted what Foundation refuses (\(error)): \(FrameFuzz.show(bytes))")
            return true
        }
        #expect(fast == reference, "\(FrameFuzz.show(bytes))")
        return true
    }

    @Test("the flat scanner agrees with Foundation's decoder wherever it answers")
    func scannerAgreesWithFoundation() async {
        let answered = Mutex(0)
        await propertyCheck(count: Self.iterations, input: FrameFuzz.mutatedFrame) { bytes in
            if Self.checkScannerAgreesWithFoundation(bytes) { answered.withLock { $0 += 1 } }
        }
        await propertyCheck(count: Self.iterations, input: FrameFuzz.validFrame) { frame in
            if Self.checkScannerAgreesWithFoundation(Array(FrameFuzz.encode(frame).utf8)) { answered.withLock { $0 += 1 } }
        }
        for text in [
            #"{"type":"message","id":"c-1","conversationId":"v_a.k1","body":"Hello"}"#,
            " {\"type\" : \"ping\" } \n", #"{}"#, #"{"type":"message","body":"Grüße 👋"}"#,
        ] {
            #expect(Self.checkScannerAgreesWithFoundation(Array(text.utf8)), "scanner should answer \(text)")
        }
        for text in [
            #"{"type":"message","body":"a\"b"}"#, #"{"type":"ping","type":"ping"}"#, #"{"type":"read","seq":3}"#,
            #"{"type":"ping","extra":"x"}"#, #"{"type":"ping"} x"#, #"{"type":null}"#, "{\"body\":\"a\u{1}b\"}",
        ] {
            #expect(Array(text.utf8).withUnsafeBytes { FlatFrameScanner.scan($0) } == nil, "scanner must leave \(text) to Foundation")
        }
        #expect(answered.withLock { $0 } > Self.iterations / 10, "the properties above exercise the scanner")
    }

    @Test("random valid frames round-trip: encode, decode, equal")
    func roundTrip() async {
        await propertyCheck(count: Self.iterations, input: FrameFuzz.validFrame) { frame in
            let text = FrameFuzz.encode(frame)
            do {
                let decoded = try ClientFrame.decode(Array(text.utf8))
                #expect(decoded == frame, "\(text)")
            } catch {
                Issue.record("valid frame refused with \(error): \(text)")
            }
        }
    }

    /// Pathological inputs the random generators reach rarely, checked every run.
    @Test("deep nesting, huge numbers, many keys, NUL bytes, long ids")
    func pathologicalInputs() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(Self.check(Array(deep.utf8)) == nil)
        let deepObject = #"{"type":"message","id":"c-1","body":"x","x":"# + String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000) + "}"
        _ = Self.check(Array(deepObject.utf8))
        let deepInFrame = #"{"type":"ping","x":"# + String(repeating: "[", count: 30_000) + String(repeating: "]", count: 30_000) + "}"
        _ = Self.check(Array(deepInFrame.utf8))
        let manyKeys = #"{"type":"ping","# + (0..<10_000).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + "}"
        #expect(Self.check(Array(manyKeys.utf8)) == .ping(id: nil))
        for number in ["1e400", "-1e400", "123456789012345678901234567890", "9223372036854775808", "-9223372036854775809", "1.5", "-0", "0x10", "NaN", "Infinity"] {
            _ = Self.check(Array(#"{"type":"read","conversationId":"v_a.b","seq":\#(number)}"#.utf8))
            _ = Self.check(Array(#"{"type":"rate","id":"r-1","conversationId":"v_a.b","score":\#(number)}"#.utf8))
            _ = Self.check(Array(#"{"type":"resume","conversations":[{"conversationId":"v_a.b","lastSeq":\#(number)}]}"#.utf8))
        }
        #expect(Self.check(Array(#"{"type":"message","id":"c\u0000","body":"x"}"#.utf8)) == nil)
        #expect(Self.check(Array(#"{"type":"message","id":"c-1","body":"a\u0000b"}"#.utf8)) == .message(id: "c-1", conversationID: nil, body: "a\u{0}b", skill: nil))
        #expect(Self.check(Array(#"{"type":"message","id":"\#(String(repeating: "a", count: 65))","body":"x"}"#.utf8)) == nil)
        #expect(Self.check(Array(#"{"type":"message","id":"\#(String(repeating: "a", count: 64))","body":"x"}"#.utf8)) != nil)
        let points = (0..<21).map { #"{"conversationId":"v_a.c\#($0)","lastSeq":0}"# }.joined(separator: ",")
        #expect(Self.check(Array(#"{"type":"resume","conversations":[\#(points)]}"#.utf8)) == nil)
        // A byte-order mark, a duplicated key, a lone surrogate: any outcome but a crash.
        _ = Self.check([0xEF, 0xBB, 0xBF] + Array(#"{"type":"ping"}"#.utf8))
        _ = Self.check(Array(#"{"type":"ping","type":"message"}"#.utf8))
        _ = Self.check(Array(#"{"type":"message","id":"c-1","body":"\ud800"}"#.utf8))
        #expect(Self.check([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]) == nil)
    }
}

/// Generators and an encoder for client frames.
enum FrameFuzz {
    typealias RNG = any SeededRandomNumberGenerator

    static let idCharacters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
    /// Text that stresses the decoder: quotes, escapes, controls, NUL, emoji, RTL overrides,
    /// combining marks, non-characters.
    static let textPieces: [String] = [
        "a", "Z", " ", "é", "ß", "中", "😀", "👩‍👩‍👧", "\u{202E}", "\u{200F}", "\u{0301}", "\u{FEFF}", "\u{FFFD}", "\u{10FFFF}",
        "\"", "\\", "/", "\n", "\r", "\t", "\u{0}", "\u{1F}", "\u{7F}", "<script>", "${x}", "%s", "{", "}", "[", "]",
    ]
    /// Byte soup biased towards JSON structure.
    static let jsonBytes: [UInt8] = Array(#"{}[]":,.-+0123456789eEtruefalsnl \"\\/ubnrt"#.utf8) + [0, 0x0A, 0x80, 0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80, 0xFF, 0xED, 0xA0]
    static let types = ["message", "close", "ping", "resume", "typing", "read", "presence", "notification.ack", "notification.read", "transfer", "rate", "ack", "hello", "", "MESSAGE"]

    static func int(_ range: ClosedRange<Int>, _ rng: inout RNG) -> Int { Int.random(in: range, using: &rng) }
    static func chance(_ p: Double, _ rng: inout RNG) -> Bool { Double.random(in: 0..<1, using: &rng) < p }

    static func id(_ rng: inout RNG, maxLength: Int = 64) -> String {
        let length = chance(0.05, &rng) ? maxLength : int(1...min(12, maxLength), &rng)
        return String((0..<length).map { _ in idCharacters[int(0...idCharacters.count - 1, &rng)] })
    }

    static func text(_ rng: inout RNG, scalars: ClosedRange<Int>) -> String {
        if chance(0.02, &rng) {
            // Exactly at the upper limit.
            return String(repeating: "é", count: scalars.upperBound)
        }
        var result = ""
        let pieces = int(scalars.lowerBound...min(scalars.upperBound, scalars.lowerBound + 20), &rng)
        while result.unicodeScalars.count < pieces {
            let piece = textPieces[int(0...textPieces.count - 1, &rng)]
            guard result.unicodeScalars.count + piece.unicodeScalars.count <= scalars.upperBound else { break }
            result += piece
        }
        if result.unicodeScalars.count < scalars.lowerBound { result += String(repeating: "x", count: scalars.lowerBound - result.unicodeScalars.count) }
        return result
    }

    static func frame(_ rng: inout RNG) -> ClientFrame {
        func optionalID(_ rng: inout RNG, maxLength: Int = 64) -> String? { chance(0.5, &rng) ? id(&rng, maxLength: maxLength) : nil }
        switch int(0...9, &rng) {
        case 0:
            return .message(id: id(&rng), conversationID: optionalID(&rng), body: text(&rng, scalars: 1...4000), skill: optionalID(&rng, maxLength: 32))
        case 1: return .close(id: optionalID(&rng), conversationID: optionalID(&rng))
        case 2: return .ping(id: optionalID(&rng))
        case 3:
            let count = chance(0.1, &rng) ? 20 : int(0...3, &rng)
            return .resume((0..<count).map { _ in .init(conversationId: id(&rng), lastSeq: chance(0.1, &rng) ? Int.max : int(0...1_000_000, &rng)) })
        case 4: return .typing(conversationID: id(&rng))
        case 5: return .read(conversationID: id(&rng), seq: chance(0.1, &rng) ? Int.max : int(1...1_000_000, &rng))
        case 6: return .presence([.online, .away, .offline][int(0...2, &rng)])
        case 7: return .notificationReceipt(id: id(&rng), read: chance(0.5, &rng))
        case 8:
            let toAgent = chance(0.5, &rng)
            return .transfer(
                id: optionalID(&rng), conversationID: id(&rng), toAgent: toAgent ? id(&rng) : nil, toSkill: toAgent ? nil : id(&rng, maxLength: 32),
                note: chance(0.5, &rng) ? text(&rng, scalars: 1...500) : nil)
        default:
            return .rate(id: id(&rng), conversationID: id(&rng), score: int(1...5, &rng), comment: chance(0.5, &rng) ? text(&rng, scalars: 1...1000) : nil)
        }
    }

    /// The JSON a well-behaved client sends for `frame`, with the keys in a random-free fixed order.
    static func encode(_ frame: ClientFrame) -> String {
        var json = JSONText()
        json.raw("{")
        func optional(_ key: String, _ value: String?) { if let value { json.field(key, value) } }
        switch frame {
        case .message(let id, let conversationID, let body, let skill):
            json.field("type", "message", first: true); json.field("id", id); optional("conversationId", conversationID)
            json.field("body", body); optional("skill", skill)
        case .attachmentMessage(let id, let conversationID, let body, let attachmentID):
            json.field("type", "message", first: true); json.field("id", id); json.field("conversationId", conversationID)
            json.field("body", body); json.key("attachment"); json.raw("{"); json.field("id", attachmentID, first: true); json.raw("}")
        case .close(let id, let conversationID):
            json.field("type", "close", first: true); optional("id", id); optional("conversationId", conversationID)
        case .ping(let id):
            json.field("type", "ping", first: true); optional("id", id)
        case .resume(let points):
            json.field("type", "resume", first: true)
            json.key("conversations")
            json.raw("[" + points.map { point in
                var item = JSONText()
                item.raw("{"); item.field("conversationId", point.conversationId, first: true); item.field("lastSeq", point.lastSeq); item.raw("}")
                return item.text
            }.joined(separator: ",") + "]")
        case .typing(let conversationID):
            json.field("type", "typing", first: true); json.field("conversationId", conversationID)
        case .read(let conversationID, let seq):
            json.field("type", "read", first: true); json.field("conversationId", conversationID); json.field("seq", seq)
        case .presence(let status):
            json.field("type", "presence", first: true); json.field("status", status.rawValue)
        case .notificationReceipt(let id, let read):
            json.field("type", read ? "notification.read" : "notification.ack", first: true); json.field("id", id)
        case .transfer(let id, let conversationID, let toAgent, let toSkill, let note):
            json.field("type", "transfer", first: true); optional("id", id); json.field("conversationId", conversationID)
            optional("toAgent", toAgent); optional("toSkill", toSkill); optional("note", note)
        case .rate(let id, let conversationID, let score, let comment):
            json.field("type", "rate", first: true); json.field("id", id); json.field("conversationId", conversationID)
            json.field("score", score); optional("comment", comment)
        }
        json.raw("}")
        return json.text
    }

    /// JSON fragments spliced into frames: wrong types, extremes, structure.
    static let fragments: [String] = [
        "null", "true", "false", "0", "-1", "1.5", "1e400", "-0", "123456789012345678901234567890", "[]", "{}", "[[[[[]]]]]",
        #""""#, #""\u0000""#, #""\ud800""#, #""\uZZZZ""#, #""😀""#, #""\u202e""#, ",", ":", "\"", "{", "}", "[", "]",
        #""type":"message""#, #""type":"ping""#, #""id":"c-1""#, #""body":"x""#, #""conversationId":"v_a.b""#,
        #""seq":1"#, #""score":5"#, #""conversations":[]"#, #""status":"away""#, #""toAgent":"bob""#,
    ]

    static func mutate(_ text: String, _ rng: inout RNG) -> [UInt8] {
        var bytes = Array(text.utf8)
        for _ in 0..<int(1...4, &rng) {
            let position = bytes.isEmpty ? 0 : int(0...bytes.count, &rng)
            switch int(0...7, &rng) {
            case 0 where !bytes.isEmpty:  // flip a byte
                bytes[min(position, bytes.count - 1)] = UInt8.random(in: 0...255, using: &rng)
            case 1:  // insert a fragment
                bytes.insert(contentsOf: Array(fragments[int(0...fragments.count - 1, &rng)].utf8), at: position)
            case 2 where !bytes.isEmpty:  // delete a range
                let end = min(bytes.count, position + int(1...8, &rng))
                bytes.removeSubrange(min(position, bytes.count - 1)..<end)
            case 3:  // truncate
                bytes = Array(bytes.prefix(position))
            case 4 where !bytes.isEmpty:  // duplicate a range
                let start = min(position, bytes.count - 1)
                let end = min(bytes.count, start + int(1...16, &rng))
                bytes.insert(contentsOf: bytes[start..<end], at: end)
            case 5:  // replace the value of a key with a fragment
                if let colon = bytes[min(position, bytes.count)...].firstIndex(of: UInt8(ascii: ":")) {
                    let end = bytes[(colon + 1)...].firstIndex { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "}") } ?? bytes.count
                    bytes.replaceSubrange((colon + 1)..<end, with: Array(fragments[int(0...fragments.count - 1, &rng)].utf8))
                }
            case 6:  // wrap in nesting
                let depth = int(1...64, &rng)
                bytes = Array(repeating: UInt8(ascii: "["), count: depth) + bytes + Array(repeating: UInt8(ascii: "]"), count: depth)
            default:  // another type
                if let range = text.range(of: #""type":""#), let end = text[range.upperBound...].firstIndex(of: "\"") {
                    var replaced = text
                    replaced.replaceSubrange(range.upperBound..<end, with: types[int(0...types.count - 1, &rng)])
                    bytes = Array(replaced.utf8)
                }
            }
        }
        return bytes
    }

    static func show(_ bytes: [UInt8]) -> String {
        let text = String(decoding: bytes.prefix(300), as: UTF8.self)
        return bytes.count > 300 ? text + "… (\(bytes.count) bytes)" : text
    }

    static let validFrame = Generator<ClientFrame, Shrink.None<ClientFrame>> { rng in frame(&rng) }
    static let mutatedFrame = Generator<[UInt8], Shrink.None<[UInt8]>> { rng in mutate(encode(frame(&rng)), &rng) }
    static let randomBytes = Generator<[UInt8], Shrink.None<[UInt8]>> { rng in
        let length = int(0...256, &rng)
        let soup = chance(0.5, &rng)
        return (0..<length).map { _ in soup ? jsonBytes[int(0...jsonBytes.count - 1, &rng)] : UInt8.random(in: 0...255, using: &rng) }
    }
}
