import Foundation
import NIOCore
import NIOEmbedded
import PropertyBased
import Testing

@testable import CSRedis

/// Property-based fuzzing of the reply parser (hiredis `redisReader` behind `RedisReplyDecoder`;
/// docs/reliability.md, "Fuzzing"). Every property runs `CS_FUZZ_ITERATIONS` times (default
/// 20,000), in batches of ``RESPFuzz/batch`` streams per property check (the check's own cost per
/// call is far above the parser's); a failure prints the batch and the seed to reproduce it
/// (`.fixedSeed(...)`).
@Suite("Reply parser fuzzing")
struct ReplyParserFuzzTests {
    static let iterations = Int(ProcessInfo.processInfo.environment["CS_FUZZ_ITERATIONS"] ?? "") ?? 20_000

    /// What feeding a byte stream produced: the replies, then whether a protocol error ended it.
    struct Outcome: Equatable, CustomStringConvertible {
        var replies: [RESPValue] = []
        var protocolError = false
        var otherError: String?
        var description: String { "\(replies.count) replies \(replies.prefix(5)), protocol error \(protocolError), other \(otherError ?? "none")" }
    }

    /// Feeds `bytes` cut at `cuts` (offsets, any order) through a fresh decoder.
    static func feed(_ bytes: [UInt8], cuts: [Int]) -> Outcome {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(RedisReplyDecoder()))
        defer { _ = try? channel.finish(acceptAlreadyClosed: true) }
        var outcome = Outcome()
        let bounds = ([0] + cuts.filter { $0 > 0 && $0 < bytes.count }.sorted() + [bytes.count])
        for (start, end) in zip(bounds, bounds.dropFirst()) where start < end {
            do {
                try channel.writeInbound(ByteBuffer(bytes: bytes[start..<end]))
            } catch let error as RedisError where error.code == .protocolError {
                outcome.protocolError = true
            } catch {
                outcome.otherError = "\(error)"
            }
            while let reply = try? channel.readInbound(as: RESPValue.self) { outcome.replies.append(reply) }
            if outcome.protocolError || outcome.otherError != nil { break }
        }
        return outcome
    }

    /// The same as ``feed(_:cuts:)`` straight on the hiredis reader, without a channel: the
    /// decoder adds nothing but the channel plumbing, which costs most of the time in a debug
    /// build. Most streams go this way; every `channelEvery`-th one goes through the decoder.
    static func feedReader(_ bytes: [UInt8], cuts: [Int]) -> Outcome {
        let reader = HiredisReader()
        let allocator = ByteBufferAllocator()
        var outcome = Outcome()
        let bounds = ([0] + cuts.filter { $0 > 0 && $0 < bytes.count }.sorted() + [bytes.count])
        do {
            for (start, end) in zip(bounds, bounds.dropFirst()) where start < end {
                try reader.feed(ByteBuffer(bytes: bytes[start..<end]))
                while let reply = try reader.nextReply(allocator: allocator) { outcome.replies.append(reply) }
            }
        } catch let error as RedisError where error.code == .protocolError {
            outcome.protocolError = true
        } catch {
            outcome.otherError = "\(error)"
        }
        return outcome
    }

    static let channelEvery = 10

    /// Through the decoder for every `channelEvery`-th stream, else straight on the reader.
    static func run(_ bytes: [UInt8], cuts: [Int], index: Int) -> Outcome {
        index % channelEvery == 0 ? feed(bytes, cuts: cuts) : feedReader(bytes, cuts: cuts)
    }

    struct Case: Sendable, CustomStringConvertible {
        var replies: [RESPValue]
        var bytes: [UInt8]
        var cuts: [Int]
        var description: String {
            let text = String(decoding: bytes.prefix(200).map { $0 == 0 ? UInt8(ascii: "0") : $0 }, as: UTF8.self).debugDescription
            return "\(bytes.count) bytes \(text) cut at \(cuts.sorted())"
        }
    }

    @Test("valid replies parse to the same values wherever the stream is split")
    func validRepliesAnySplit() async {
        await propertyCheck(count: Self.iterations / RESPFuzz.batch, input: RESPFuzz.validStream) { samples in
            for (index, sample) in samples.enumerated() {
                let whole = Self.run(sample.bytes, cuts: [], index: index)
                #expect(whole == Outcome(replies: sample.replies), "unsplit: \(whole) for \(sample)")
                let split = Self.run(sample.bytes, cuts: sample.cuts, index: index)
                #expect(split == Outcome(replies: sample.replies), "split: \(split) for \(sample)")
            }
        }
    }

    @Test("a reply with an invalid type byte gives a protocol error after the valid ones, wherever split")
    func garbageAfterValidReplies() async {
        await propertyCheck(count: Self.iterations / RESPFuzz.batch, input: RESPFuzz.garbageStream) { samples in
            for (index, sample) in samples.enumerated() {
                let split = Self.run(sample.bytes, cuts: sample.cuts, index: index)
                #expect(split == Outcome(replies: sample.replies, protocolError: true), "\(split) for \(sample)")
            }
        }
    }

    @Test("random bytes: replies, a protocol error or a wait for more, the same for every split; never a crash")
    func randomBytes() async {
        await propertyCheck(count: Self.iterations / RESPFuzz.batch, input: RESPFuzz.randomStream) { samples in
            for (index, sample) in samples.enumerated() {
                let whole = Self.run(sample.bytes, cuts: [], index: index)
                let split = Self.run(sample.bytes, cuts: sample.cuts, index: index + 1)
                #expect(whole.otherError == nil, "\(whole) for \(sample)")
                #expect(whole == split, "unsplit \(whole) vs split \(split) for \(sample)")
            }
        }
    }

    @Test("nesting deeper than hiredis supports is a protocol error, not a crash")
    func tooDeep() {
        for depth in [9, 16, 1_000] {
            let bytes = Array((String(repeating: "*1\r\n", count: depth) + ":1\r\n").utf8)
            let outcome = Self.feed(bytes, cuts: [])
            #expect(outcome.protocolError && outcome.replies.isEmpty, "depth \(depth): \(outcome)")
        }
    }
}

/// Generators of RESP2 streams.
enum RESPFuzz {
    typealias RNG = any SeededRandomNumberGenerator
    typealias Case = ReplyParserFuzzTests.Case

    /// Streams checked per property-check call.
    static let batch = 20

    static func batched(_ make: @escaping @Sendable (inout RNG) -> Case) -> Generator<[Case], Shrink.None<[Case]>> {
        Generator { rng in (0..<batch).map { _ in make(&rng) } }
    }

    static func int(_ range: ClosedRange<Int>, _ rng: inout RNG) -> Int { Int.random(in: range, using: &rng) }

    static func line(_ rng: inout RNG) -> String {
        let pieces = ["OK", "ERR", " ", "é", "😀", "WRONGTYPE Operation", "$", "*", ":", "-", "+", "0", "\t", "\u{0}"]
        return (0..<int(0...6, &rng)).map { _ in pieces[int(0...pieces.count - 1, &rng)] }.joined()
    }

    static func value(_ rng: inout RNG, depth: Int) -> RESPValue {
        switch int(0...(depth < 5 ? 6 : 5), &rng) {
        case 0: return .simpleString(line(&rng))
        case 1: return .error(line(&rng))
        case 2:
            let extremes: [Int64] = [0, -1, 1, .max, .min + 1, .min]
            return .integer(int(0...3, &rng) == 0 ? extremes[int(0...extremes.count - 1, &rng)] : Int64.random(in: -1_000_000...1_000_000, using: &rng))
        case 3, 4:
            let length = int(0...9, &rng) == 0 ? int(0...3_000, &rng) : int(0...16, &rng)
            var payload = [UInt8](repeating: 0, count: length)
            for start in stride(from: 0, to: length, by: 8) {
                var word = rng.next()
                for index in start..<min(start + 8, length) {
                    payload[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                }
            }
            // Binary-safe: CR, LF, NUL and RESP type bytes inside the payload.
            let alphabet: [UInt8] = [0, 13, 10, 36, 42, 43, 45, 58]
            if length > 0 {
                for _ in 0..<int(0...4, &rng) { payload[int(0...length - 1, &rng)] = alphabet[int(0...alphabet.count - 1, &rng)] }
            }
            return .bulkString(ByteBuffer(bytes: payload))
        case 5: return .null
        default: return .array((0..<int(0...4, &rng)).map { _ in value(&rng, depth: depth + 1) })
        }
    }

    static func encode(_ value: RESPValue, _ rng: inout RNG, into bytes: inout [UInt8]) {
        switch value {
        case .simpleString(let text): bytes += Array("+\(text)\r\n".utf8)
        case .error(let text): bytes += Array("-\(text)\r\n".utf8)
        case .integer(let number): bytes += Array(":\(number)\r\n".utf8)
        case .bulkString(let buffer):
            bytes += Array("$\(buffer.readableBytes)\r\n".utf8) + Array(buffer.readableBytesView) + [13, 10]
        case .null: bytes += Array((int(0...1, &rng) == 0 ? "$-1\r\n" : "*-1\r\n").utf8)
        case .array(let elements):
            bytes += Array("*\(elements.count)\r\n".utf8)
            for element in elements { encode(element, &rng, into: &bytes) }
        }
    }

    static func cuts(_ count: Int, _ rng: inout RNG) -> [Int] {
        guard count > 1 else { return [] }
        return (0..<int(1...8, &rng)).map { _ in int(1...count - 1, &rng) }
    }

    static func replies(_ rng: inout RNG) -> ([RESPValue], [UInt8]) {
        var bytes: [UInt8] = []
        let values = (0..<int(1...8, &rng)).map { _ in value(&rng, depth: 0) }
        for value in values { encode(value, &rng, into: &bytes) }
        return (values, bytes)
    }

    static let validStream = batched { rng in
        let (values, bytes) = replies(&rng)
        return Case(replies: values, bytes: bytes, cuts: cuts(bytes.count, &rng))
    }

    /// Valid replies, then one whose type byte is none of `+-:$*`, then anything.
    static let garbageStream = batched { rng in
        var (values, bytes) = int(0...3, &rng) == 0 ? ([], []) : replies(&rng)
        var bad = UInt8.random(in: 0...255, using: &rng)
        while Array("+-:$*".utf8).contains(bad) { bad = UInt8.random(in: 0...255, using: &rng) }
        bytes.append(bad)
        bytes += (0..<int(0...32, &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        if int(0...1, &rng) == 0 { bytes += [13, 10] }
        return Case(replies: values, bytes: bytes, cuts: cuts(bytes.count, &rng))
    }

    /// Bytes biased towards RESP: type bytes, digits, signs, CR LF.
    static let randomStream = batched { rng in
        let soup: [UInt8] = Array("+-:$*0123456789\r\n\r\n\r\nOK".utf8) + [0, 255]
        let biased = int(0...3, &rng) != 0
        let bytes = (0..<int(0...200, &rng)).map { _ in biased ? soup[int(0...soup.count - 1, &rng)] : UInt8.random(in: 0...255, using: &rng) }
        return Case(replies: [], bytes: bytes, cuts: cuts(bytes.count, &rng))
    }
}
