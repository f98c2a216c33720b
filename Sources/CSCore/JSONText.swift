/// Builds JSON text by appending, without Foundation's encoder on the message hot path.
///
/// Keys are trusted constants; every value goes through `string(_:)`, which escapes per RFC 8259.
public struct JSONText: Sendable {
    public private(set) var text: String

    public init(capacity: Int = 256) {
        text = ""
        text.reserveCapacity(capacity)
    }

    /// Appends raw, already valid JSON (a literal, a number, a nested object).
    public mutating func raw(_ json: String) { text.append(json) }

    /// Appends `value` as a quoted, escaped JSON string.
    public mutating func string(_ value: String) {
        text.append("\"")
        var needsEscaping = false
        for unit in value.utf8 where unit < 0x20 || unit == 0x22 || unit == 0x5C {
            needsEscaping = true
            break
        }
        if !needsEscaping {
            text.append(value)
        } else {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": text.append("\\\"")
                case "\\": text.append("\\\\")
                case "\n": text.append("\\n")
                case "\r": text.append("\\r")
                case "\t": text.append("\\t")
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    text.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                default: text.unicodeScalars.append(scalar)
                }
            }
        }
        text.append("\"")
    }

    /// Appends `"key":` (with a leading comma unless `first`).
    public mutating func key(_ key: String, first: Bool = false) {
        if !first { text.append(",") }
        text.append("\"")
        text.append(key)
        text.append("\":")
    }

    /// Appends `"key":"value"`.
    public mutating func field(_ key: String, _ value: String, first: Bool = false) {
        self.key(key, first: first)
        string(value)
    }

    /// Appends `"key":number`.
    public mutating func field(_ key: String, _ value: Int, first: Bool = false) {
        self.key(key, first: first)
        text.append(String(value))
    }
}
