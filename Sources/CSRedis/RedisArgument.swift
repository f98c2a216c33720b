import NIOCore

/// One argument of a Redis command (the command name is an argument too). Binary safe.
///
/// ```swift
/// try await client.send("SET", "user:1", RedisArgument(payloadBytes), "EX", 60)
/// ```
public struct RedisArgument: Sendable, Hashable {
    /// The raw bytes sent to Redis.
    public var bytes: ByteBuffer

    /// The UTF-8 bytes of `string`.
    public init(_ string: String) {
        self.bytes = ByteBuffer(string: string)
    }

    /// The readable bytes of `buffer`, unchanged.
    public init(_ buffer: ByteBuffer) {
        self.bytes = buffer
    }

    /// The given bytes, unchanged.
    public init(_ bytes: [UInt8]) {
        self.bytes = ByteBuffer(bytes: bytes)
    }

    /// The decimal text of `value`, as Redis expects integers.
    public init(_ value: Int) {
        self.bytes = ByteBuffer(string: String(value))
    }

    /// The decimal text of `value`, as Redis expects integers.
    public init(_ value: Int64) {
        self.bytes = ByteBuffer(string: String(value))
    }

    /// The shortest round-tripping text of `value` (`inf`/`-inf` for infinities), e.g. for `ZADD` scores.
    public init(_ value: Double) {
        self.bytes = ByteBuffer(string: String(value))
    }
}

extension RedisArgument: ExpressibleByStringLiteral {
    /// A literal argument, e.g. the command name in `send("GET", key)`.
    public init(stringLiteral value: String) {
        self.init(value)
    }
}

extension RedisArgument: ExpressibleByIntegerLiteral {
    /// An integer literal argument, e.g. `send("EXPIRE", key, 60)`.
    public init(integerLiteral value: Int) {
        self.init(value)
    }
}

extension RedisArgument: CustomStringConvertible {
    /// The argument as (lossy) UTF-8 text.
    public var description: String { String(buffer: self.bytes) }
}
