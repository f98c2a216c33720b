import NIOCore

/// One reply (or one element of a reply) in the Redis serialization protocol (RESP2).
///
/// Top-level error replies are thrown as ``RedisError`` by ``RedisClient/send(_:)-(RedisArgument...)``;
/// ``RESPValue/error(_:)`` only appears inside arrays (for example in `EXEC` results) and in
/// the slots returned by ``RedisClient/pipeline(_:)``.
public enum RESPValue: Sendable, Hashable {
    /// A status reply such as `+OK` or `+PONG`.
    case simpleString(String)
    /// An error reply such as `-ERR unknown command` (the text without the leading `-`).
    case error(String)
    /// An integer reply such as `:42`.
    case integer(Int64)
    /// A binary-safe bulk string.
    case bulkString(ByteBuffer)
    /// A nil bulk string (`$-1`) or a nil array (`*-1`).
    case null
    /// An array reply; elements may themselves be arrays.
    case array([RESPValue])
}

extension RESPValue {
    /// The value of a `simpleString` or a `bulkString` decoded as UTF-8 (invalid sequences are
    /// replaced with U+FFFD); `nil` for every other case.
    public var string: String? {
        switch self {
        case .simpleString(let string): return string
        case .bulkString(let buffer): return String(buffer: buffer)
        default: return nil
        }
    }

    /// The bytes of a `bulkString` (or of a `simpleString`); `nil` for every other case.
    public var bytes: ByteBuffer? {
        switch self {
        case .bulkString(let buffer): return buffer
        case .simpleString(let string): return ByteBuffer(string: string)
        default: return nil
        }
    }

    /// An `integer`, or a `simpleString`/`bulkString` whose text is a decimal integer.
    public var int: Int? {
        switch self {
        case .integer(let value): return Int(exactly: value)
        case .simpleString, .bulkString: return self.string.flatMap { Int($0) }
        default: return nil
        }
    }

    /// An `integer`, or a `simpleString`/`bulkString` whose text is a decimal integer.
    public var int64: Int64? {
        switch self {
        case .integer(let value): return value
        case .simpleString, .bulkString: return self.string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// An `integer`, or a string reply parsable as a `Double` (e.g. a `ZSCORE` reply, `inf`).
    public var double: Double? {
        switch self {
        case .integer(let value): return Double(value)
        case .simpleString, .bulkString: return self.string.flatMap { Double($0) }
        default: return nil
        }
    }

    /// The elements of an `array`; `nil` for every other case (including `null`).
    public var array: [RESPValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// `true` for a nil bulk string or nil array.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// For an `.error` value, the equivalent ``RedisError`` (code ``RedisError/Code/serverError``);
    /// `nil` otherwise. Handy for pipeline slots: `reply.redisError?.redisErrorPrefix == "NOSCRIPT"`.
    public var redisError: RedisError? {
        if case .error(let message) = self { return RedisError(code: .serverError, message: message) }
        return nil
    }
}

extension RESPValue: CustomStringConvertible {
    /// A short human-readable rendering for logs and test failures (bulk strings shown as UTF-8).
    public var description: String {
        switch self {
        case .simpleString(let string): return "+\(string)"
        case .error(let message): return "-\(message)"
        case .integer(let value): return ":\(value)"
        case .bulkString(let buffer): return "\"\(String(buffer: buffer))\""
        case .null: return "(nil)"
        case .array(let elements): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
