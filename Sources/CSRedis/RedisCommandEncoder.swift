import NIOCore

/// Encodes commands as RESP multi-bulk requests (`*<n>\r\n` then `$<len>\r\n<bytes>\r\n` per
/// argument), written straight into the outbound buffer.
///
/// Explicit lengths make every argument binary safe (`\r\n` and NUL included). This used to go
/// through hiredis' `redisFormatCommandArgv`, which cost a joined copy of the arguments, two
/// arrays and a malloc'ed command per request; the output is byte for byte the same.
enum RedisCommandEncoder {
    /// Appends the RESP encoding of one command to `buffer`.
    /// - Throws: ``RedisError/Code/invalidCommand`` for an empty command.
    static func encode(_ arguments: [RedisArgument], into buffer: inout ByteBuffer) throws {
        guard !arguments.isEmpty else {
            throw RedisError(code: .invalidCommand, message: "a command needs at least one argument")
        }
        buffer.reserveCapacity(minimumWritableBytes: maximumSize(of: arguments))
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(arguments.count, into: &buffer)
        for argument in arguments {
            buffer.writeInteger(UInt8(ascii: "$"))
            writeDecimal(argument.bytes.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(argument.bytes)
            buffer.writeInteger(crlf)
        }
    }

    /// An upper bound of the encoded size of `arguments` (16 bytes of framing per argument is
    /// more than `$<len>\r\n...\r\n` needs for any length), so a buffer is allocated once.
    static func maximumSize(of arguments: [RedisArgument]) -> Int {
        var size = 16
        for argument in arguments { size &+= argument.bytes.readableBytes &+ 16 }
        return size
    }

    /// `\r\n` as one big-endian 16-bit write.
    private static let crlf: UInt16 = 0x0D0A

    /// Writes `value` (≥ 0) in decimal followed by `\r\n`, without creating a String.
    private static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        if value < 10 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: 0x30 &+ value))
        } else {
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for 24 digits
            withUnsafeMutableBytes(of: &digits) { raw in
                var remaining = value
                var index = raw.count
                while remaining > 0 {
                    index -= 1
                    raw[index] = UInt8(truncatingIfNeeded: 0x30 &+ remaining % 10)
                    remaining /= 10
                }
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: raw[index...]))
            }
        }
        buffer.writeInteger(crlf)
    }
}
