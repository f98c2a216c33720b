import NIOCore

/// Reads the few fields the load generator needs from server frames without a JSON decoder.
///
/// Server frames are compact JSON objects that start with `{"type":"…"` (docs/protocol.md); the
/// ids the load generator looks at are plain `[A-Za-z0-9._-]` strings, never escaped.
enum FrameScanner {
    enum Kind: Equatable {
        case hello, ack, message, assigned, queued, closed, error, pong, other
    }

    private static let typePrefix = Array(#"{"type":""#.utf8)
    private static let names: [(String, Kind)] = [
        ("message", .message), ("ack", .ack), ("hello", .hello), ("conversation.assigned", .assigned),
        ("conversation.queued", .queued), ("conversation.closed", .closed), ("error", .error), ("pong", .pong),
    ]
    private static let kinds: [(bytes: [UInt8], kind: Kind)] = names.map { (Array($0.0.utf8) + [UInt8(ascii: "\"")], $0.1) }

    /// The frame's `type`.
    static func kind(of frame: ByteBuffer) -> Kind {
        frame.withUnsafeReadableBytes { bytes in
            guard bytes.starts(with: typePrefix) else { return .other }
            let rest = bytes[typePrefix.count...]
            for candidate in kinds where rest.starts(with: candidate.bytes) { return candidate.kind }
            return .other
        }
    }

    /// The value of the first `"name":"value"` in the frame (nested objects included), as bytes range.
    static func stringRange(_ name: String, in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        let needle = Array(("\"" + name + "\":\"").utf8)
        guard bytes.count >= needle.count else { return nil }
        var start = 0
        while start + needle.count <= bytes.count {
            guard let first = bytes[start...].firstIndex(of: needle[0]) else { return nil }
            if first + needle.count <= bytes.count, bytes[first..<(first + needle.count)].elementsEqual(needle) {
                let valueStart = first + needle.count
                guard let end = bytes[valueStart...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                return valueStart..<end
            }
            start = first + 1
        }
        return nil
    }

    /// The first `"name":"value"` as a String.
    static func string(_ name: String, in frame: ByteBuffer) -> String? {
        frame.withUnsafeReadableBytes { bytes in
            stringRange(name, in: bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
    }

    /// For an id made by ``MessageID/make(sentAt:sequence:)``: the send time it carries (the
    /// first `"id"` of a `message` or `ack` frame is the client message id).
    static func sentAt(in frame: ByteBuffer) -> UInt64? {
        frame.withUnsafeReadableBytes { bytes in
            guard let range = stringRange("id", in: bytes) else { return nil }
            return MessageID.sentAt(bytes[range])
        }
    }

    /// Whether the frame contains `marker` anywhere (broadcast detection).
    static func contains(_ marker: [UInt8], in frame: ByteBuffer) -> Range<Int>? {
        frame.withUnsafeReadableBytes { bytes in
            guard !marker.isEmpty, bytes.count >= marker.count else { return nil }
            var start = 0
            while let first = bytes[start...].firstIndex(of: marker[0]), first + marker.count <= bytes.count {
                if bytes[first..<(first + marker.count)].elementsEqual(marker) { return first..<(first + marker.count) }
                start = first + 1
            }
            return nil
        }
    }
}

/// Client message ids that carry their send time: `L<nanoseconds>-<sequence>`, so a receiver can
/// compute the latency from the frame alone (all clocks are this machine's monotonic clock).
enum MessageID {
    static func make(sentAt nanoseconds: UInt64, sequence: Int) -> String {
        "L\(nanoseconds)-\(sequence)"
    }

    /// The nanoseconds of an id made by ``make(sentAt:sequence:)``, nil for other ids.
    static func sentAt(_ bytes: some Collection<UInt8>) -> UInt64? {
        var iterator = bytes.makeIterator()
        guard iterator.next() == UInt8(ascii: "L") else { return nil }
        var value: UInt64 = 0
        var digits = 0
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "-") { return digits > 0 ? value : nil }
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value &* 10 &+ UInt64(byte - 0x30)
            digits += 1
        }
        return nil
    }
}
