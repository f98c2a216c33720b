import NIOCore

/// Whole WebSocket text frames as the server sends them (FIN, opcode 1, unmasked), encoded once
/// when a frame is queued so that writing it is one buffer and no trip through NIO's encoder.
///
/// A broadcast is encoded once per event loop and the same bytes go to every connection of that
/// loop (`ConnectionRegistry.deliverNotification`).
enum TextFrame {
    /// The header's size for a payload of `length` bytes (RFC 6455 §5.2).
    static func headerSize(payloadLength length: Int) -> Int {
        length <= 125 ? 2 : length <= 0xFFFF ? 4 : 10
    }

    /// `payload` as one complete frame: header, then the payload's bytes.
    static func encode(_ payload: ByteBuffer, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        let length = payload.readableBytes
        var frame = allocator.buffer(capacity: headerSize(payloadLength: length) + length)
        frame.writeInteger(UInt8(0x81))
        switch length {
        case 0...125:
            frame.writeInteger(UInt8(length))
        case 126...0xFFFF:
            frame.writeInteger(UInt8(126))
            frame.writeInteger(UInt16(length))
        default:
            frame.writeInteger(UInt8(127))
            frame.writeInteger(UInt64(length))
        }
        frame.writeImmutableBuffer(payload)
        return frame
    }

    /// The payload of a frame made by `encode` (a view of the same bytes, no copy).
    static func payload(of frame: ByteBuffer) -> ByteBuffer {
        guard frame.readableBytes >= 2, let second = frame.getInteger(at: frame.readerIndex + 1, as: UInt8.self) else { return frame }
        let header = second == 126 ? 4 : second == 127 ? 10 : 2
        return frame.getSlice(at: frame.readerIndex + header, length: frame.readableBytes - header) ?? ByteBuffer()
    }
}
