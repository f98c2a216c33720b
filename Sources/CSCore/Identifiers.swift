/// Random, URL-safe identifiers.
public enum Identifier {
    private static let alphabet = Array("0123456789abcdefghijkmnpqrstuvwxyz".utf8)

    /// `count` random characters from a 34-letter alphabet without look-alikes.
    public static func random(_ count: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(count)
        for _ in 0..<count {
            bytes.append(alphabet[Int(rng.next(upperBound: UInt32(alphabet.count)))])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A new visitor (customer) id, e.g. `v_3q9x7k2m4n8p`.
    public static func newVisitorID() -> String { "v_" + random(12) }

    /// A new conversation id for `customerID`.
    ///
    /// The customer id is embedded so that any gateway can compute the conversation's inbound
    /// partition without a Redis round trip (see `Partitioner`).
    public static func newConversationID(customerID: String) -> String { customerID + "." + random(8) }

    /// The customer id embedded in a conversation id, or nil when the id is not well formed.
    public static func customerID(ofConversation conversationID: String) -> String? {
        guard let dot = conversationID.lastIndex(of: "."), dot != conversationID.startIndex else { return nil }
        let suffix = conversationID[conversationID.index(after: dot)...]
        guard !suffix.isEmpty else { return nil }
        return String(conversationID[..<dot])
    }

    /// The characters an id may hold, as documentation and error messages spell them.
    public static let alphabetDescription = "[A-Za-z0-9._-]"

    /// Whether `value` is a usable id: 1...`maxLength` characters of `[A-Za-z0-9._-]`.
    ///
    /// Every id, skill and shortcut that reaches a Redis key or channel passes this check, and
    /// none of these characters is a key separator (`:`) or a hash-tag brace, so a key's
    /// components can always be told apart: no two inputs build the same key
    /// (`RedisKeyInjectivityTests`). Before 2026-12 `:` was allowed, which let agent `k5` sending
    /// message id `1:m` collide with agent `k5:1` sending `m`.
    public static func isValid(_ value: String, maxLength: Int = 64) -> Bool {
        guard !value.isEmpty, value.utf8.count <= maxLength else { return false }
        return value.utf8.allSatisfy(isIDByte)
    }

    /// `[A-Za-z0-9._-]` as bytes.
    @inline(__always)
    static func isIDByte(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || c == 0x2E || c == 0x5F || c == 0x2D
    }
}
