/// A fast path for the common shape of client frames: one flat JSON object whose values are all
/// plain strings (no escapes) under known keys, such as
/// `{"type":"message","id":"c-1","conversationId":"v_ann.k1","body":"Hello"}`.
///
/// Anything else (numbers, nulls, nested values, escapes, unknown or repeated keys, bytes that
/// are not UTF-8, whatever follows the object) returns nil, and the frame goes to Foundation's
/// `JSONDecoder`, so every frame decodes to what that decoder makes of it, only faster.
enum FlatFrameScanner {
    private static let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")

    /// The frame's fields, or nil when the frame is not of the simple shape.
    static func scan(_ bytes: UnsafeRawBufferPointer) -> ClientFrame.Raw? {
        var index = 0
        func skipWhitespace() {
            while index < bytes.count {
                let byte = bytes[index]
                guard byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D else { return }
                index += 1
            }
        }
        func consume(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }
        func string() -> String? {
            guard consume(quote) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == quote {
                    defer { index += 1 }
                    return String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                }
                // Escapes and control characters (invalid in JSON) are left to the full decoder.
                guard byte != backslash, byte >= 0x20 else { return nil }
                index += 1
            }
            return nil
        }
        var raw = ClientFrame.Raw()
        var seen: UInt16 = 0
        skipWhitespace()
        guard consume(UInt8(ascii: "{")) else { return nil }
        skipWhitespace()
        if !consume(UInt8(ascii: "}")) {
            while true {
                skipWhitespace()
                guard let key = string() else { return nil }
                skipWhitespace()
                guard consume(UInt8(ascii: ":")) else { return nil }
                skipWhitespace()
                guard let value = string(), let field = assign(value, to: key, in: &raw), seen & field == 0 else { return nil }
                seen |= field
                skipWhitespace()
                if consume(UInt8(ascii: ",")) { continue }
                guard consume(UInt8(ascii: "}")) else { return nil }
                break
            }
        }
        skipWhitespace()
        return index == bytes.count ? raw : nil
    }

    /// Sets a string field and returns its bit (to find repeated keys); nil for keys that are
    /// not string fields of a frame.
    private static func assign(_ value: String, to key: String, in raw: inout ClientFrame.Raw) -> UInt16? {
        switch key {
        case "type": raw.type = value; return 1 << 0
        case "id": raw.id = value; return 1 << 1
        case "conversationId": raw.conversationId = value; return 1 << 2
        case "body": raw.body = value; return 1 << 3
        case "skill": raw.skill = value; return 1 << 4
        case "status": raw.status = value; return 1 << 5
        case "toAgent": raw.toAgent = value; return 1 << 6
        case "toSkill": raw.toSkill = value; return 1 << 7
        case "note": raw.note = value; return 1 << 8
        case "comment": raw.comment = value; return 1 << 9
        default: return nil
        }
    }
}
