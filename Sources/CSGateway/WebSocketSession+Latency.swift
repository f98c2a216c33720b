import NIOCore

extension WebSocketSession {
    private static let messagePrefix: [UInt8] = Array(#"{"type":"message""#.utf8)
    private static let timestampKey: [UInt8] = Array(#""ts":"#.utf8)

    /// The commit time (`ts`, ms) of a committed chat `message` frame, for the delivery-latency
    /// histogram; nil for other frames. Looks only at the frame's start and its last 40 bytes,
    /// where the dispatcher writes `"ts":<ms>}`, without copying (it runs for every frame written).
    static func commitTimeOfMessage(_ frame: ByteBuffer) -> Int? {
        let bytes = frame.readableBytesView
        guard bytes.count > messagePrefix.count + 8, bytes.starts(with: messagePrefix) else { return nil }
        let tailStart = bytes.index(bytes.endIndex, offsetBy: -min(40, bytes.count))
        var keyStart = bytes.index(bytes.endIndex, offsetBy: -timestampKey.count)
        while keyStart >= tailStart {
            if bytes[keyStart..<(keyStart + timestampKey.count)].elementsEqual(timestampKey) { break }
            keyStart -= 1
        }
        guard keyStart >= tailStart else { return nil }
        var value = 0
        var digits = 0
        for byte in bytes[(keyStart + timestampKey.count)...] {
            guard byte >= 0x30 && byte <= 0x39 else { break }
            value = value * 10 + Int(byte - 0x30)
            digits += 1
        }
        return digits >= 10 && digits <= 15 ? value : nil
    }
}
