import Foundation
import NIOCore
import NIOPosix

/// Sends hand-made WebSocket frames after a handshake, for transport-level hostile input that a
/// WebSocket library refuses to produce (unmasked frames, reserved opcodes and bits, oversized
/// control frames, lying length fields, fragments), and records what the server answers, like
/// ``WebSocketProbe``.
public enum RawWebSocket {
    /// One client frame, masked unless `masked` is false. `length` overrides the length field
    /// (the payload sent stays `payload`).
    public static func frame(
        opcode: UInt8, payload: [UInt8], fin: Bool = true, masked: Bool = true, rsv: UInt8 = 0, length: UInt64? = nil
    ) -> [UInt8] {
        var bytes: [UInt8] = [(fin ? 0x80 : 0) | (rsv & 0x7) << 4 | (opcode & 0xF)]
        let declared = length ?? UInt64(payload.count)
        let maskBit: UInt8 = masked ? 0x80 : 0
        if declared < 126 {
            bytes.append(maskBit | UInt8(declared))
        } else if declared <= 0xFFFF {
            bytes.append(maskBit | 126)
            bytes += [UInt8(declared >> 8), UInt8(declared & 0xFF)]
        } else {
            bytes.append(maskBit | 127)
            bytes += (0..<8).reversed().map { UInt8((declared >> (UInt64($0) * 8)) & 0xFF) }
        }
        if masked {
            let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
            bytes += mask
            bytes += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        } else {
            bytes += payload
        }
        return bytes
    }

    public static func text(_ text: String, fin: Bool = true) -> [UInt8] { frame(opcode: 0x1, payload: Array(text.utf8), fin: fin) }

    /// Connects to `127.0.0.1:port`, upgrades `path` (with `headers`), waits for `hello` (or any
    /// first frame), sends `frames` (raw bytes, each written as is), then reads until the server's
    /// close frame (answered with a close 1000), EOF or `timeout`; or, with `stopAfterFirstFrame`,
    /// returns after the first frame (closing with 1000). `withRequest` goes out in the same write
    /// as the upgrade request (a client that does not wait for the 101).
    public static func exchange(
        port: Int,
        path: String,
        frames outgoing: [[UInt8]],
        withRequest early: [UInt8] = [],
        headers: [(String, String)] = [],
        stopAfterFirstFrame: Bool = false,
        timeout: Duration = .seconds(30)
    ) async throws -> WebSocketProbe.Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
            + headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"

        return try await TimeLimit.run(timeout, "the server to answer raw frames on port \(port)") {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(bytes: Array(request.utf8) + early))
                var buffer = ByteBuffer()
                var status: Int?
                var frames: [WebSocketProbe.Frame] = []
                var sent = false
                for try await var chunk in inbound {
                    buffer.writeBuffer(&chunk)
                    if status == nil {
                        guard let headEnd = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                        let head = buffer.readString(length: headEnd.upperBound - buffer.readableBytesView.startIndex) ?? ""
                        let parts = (head.split(separator: "\r\n").first ?? "").split(separator: " ")
                        guard parts.count >= 2, let code = Int(parts[1]) else {
                            throw WebSocketProbe.ProbeError.malformedResponse(head)
                        }
                        status = code
                        guard code == 101 else { return WebSocketProbe.Result(status: code, frames: [], closeCode: nil, sawEOF: false) }
                    }
                    while let frame = WebSocketProbe.parseFrame(&buffer) {
                        frames.append(frame)
                        if frame.opcode == 0x8 {
                            try? await outbound.write(WebSocketProbe.maskedClose())
                            let code = frame.payload.count >= 2 ? UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) : nil
                            return WebSocketProbe.Result(status: 101, frames: frames, closeCode: code, sawEOF: false)
                        }
                    }
                    if stopAfterFirstFrame && !frames.isEmpty {
                        try? await outbound.write(WebSocketProbe.maskedClose())
                        return WebSocketProbe.Result(status: 101, frames: frames, closeCode: nil, sawEOF: false)
                    }
                    // The first frame (hello, or the refusal) is in: now the hostile bytes.
                    if !sent && !frames.isEmpty {
                        sent = true
                        for bytes in outgoing { try? await outbound.write(ByteBuffer(bytes: bytes)) }
                    }
                }
                return WebSocketProbe.Result(status: status ?? 0, frames: frames, closeCode: nil, sawEOF: true)
            }
        }
    }
}
