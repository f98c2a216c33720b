import NIOCore

/// WebSocket frames as the load generator reads and writes them, straight from and to the
/// socket's bytes (RFC 6455 §5.2): no `WebSocketFrame` values, no trip through NIO's frame
/// decoder and encoder.
///
/// With tens of thousands of connections receiving a broadcast, the load generator's receive
/// path competes for the same cores as the gateways it measures; this keeps it short.
enum ClientFrameCodec {
    enum Opcode: UInt8 {
        case continuation = 0x0, text = 0x1, binary = 0x2, close = 0x8, ping = 0x9, pong = 0xA
    }

    /// One frame read from the server.
    struct Frame {
        var fin: Bool
        /// Nil for an opcode RFC 6455 does not define.
        var opcode: Opcode?
        /// Unmasked payload (a slice of the bytes read).
        var payload: ByteBuffer
    }

    /// A frame longer than this closes the connection (the server's frames are small).
    static let maxFrameSize = 1 << 20

    struct FrameTooLarge: Error {}

    /// Takes the next whole frame off `buffer`; nil (and `buffer` untouched) while the frame's
    /// bytes are not all there yet.
    static func next(from buffer: inout ByteBuffer) throws -> Frame? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return nil }
        var headerSize = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            length = Int(extended)
            headerSize = 4
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            guard extended <= UInt64(maxFrameSize) else { throw FrameTooLarge() }
            length = Int(extended)
            headerSize = 10
        }
        guard length <= maxFrameSize else { throw FrameTooLarge() }
        let masked = second & 0x80 != 0
        let maskOffset = start + headerSize
        if masked { headerSize += 4 }
        guard buffer.readableBytes >= headerSize + length,
            var payload = buffer.getSlice(at: start + headerSize, length: length)
        else { return nil }
        if masked, let key = buffer.getBytes(at: maskOffset, length: 4) {
            // Servers must not mask (RFC 6455 §5.1), but reading one that does costs nothing.
            payload.withUnsafeMutableReadableBytes { bytes in
                for index in bytes.indices { bytes[index] ^= key[index & 3] }
            }
        }
        buffer.moveReaderIndex(forwardBy: headerSize + length)
        return Frame(fin: first & 0x80 != 0, opcode: Opcode(rawValue: first & 0x0F), payload: payload)
    }

    /// A complete, masked client frame (clients must mask, RFC 6455 §5.3).
    static func encode(_ opcode: Opcode, payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = payload.readableBytes
        var frame = allocator.buffer(capacity: length + 14)
        frame.writeInteger(0x80 | opcode.rawValue)
        switch length {
        case 0...125:
            frame.writeInteger(0x80 | UInt8(length))
        case 126...0xFFFF:
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(length))
        default:
            frame.writeInteger(UInt8(0x80 | 127))
            frame.writeInteger(UInt64(length))
        }
        let key = UInt32.random(in: .min ... .max)
        frame.writeInteger(key)
        _ = frame.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { out in
            payload.withUnsafeReadableBytes { bytes in
                withUnsafeBytes(of: key.bigEndian) { mask in
                    for index in 0..<length { out[index] = bytes[index] ^ mask[index & 3] }
                }
            }
            return length
        }
        return frame
    }
}
