import NIOCore

extension WebSocketSession {
    private static let messagePrefix = Array(#"{"type":"message""#.utf8)
    private static let timestampKey = Array(#""ts":"#.utf8)

    /// The commit time (`ts`, ms) of a committed chat `message` frame, for the delivery-latency
    /// histogram; nil for other frames. Looks only at the frame's start and its last 40 bytes,
    /// where the dispatcher writes `"ts":<ms>}`.
    static func commitTimeOfMessage(_ frame: ByteBuffer) -> Int? {
        let bytes = frame.readableBytesView
        guard bytes.count > messagePrefix.count + 8, bytes.starts(with: messagePrefix) else { return nil }
        let tail = Array(bytes.suffix(40))
        guard let keyStart = lastIndex(of: timestampKey, in: tail) else { return nil }
        var value = 0
        var digits = 0
        for byte in tail[(keyStart + timestampKey.count)...] {
            guard byte >= 0x30 && byte <= 0x39 else { break }
            value = value * 10 + Int(byte - 0x30)
            digits += 1
        }
        return digits >= 10 && digits <= 15 ? value : nil
    }

    private static func lastIndex(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var start = haystack.count - needle.count
        while start >= 0 {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { return start }
            start -= 1
        }
        return nil
    }
}
