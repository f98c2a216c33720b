import Foundation
import NIOCore
import NIOPosix

// MARK: - Raw handshake probe

/// Performs one WebSocket handshake over a plain TCP connection and records exactly what the
/// server sends until it closes: the HTTP status, then every frame.
///
/// Used for refused connections (bad tokens). The server answers those with `101`, an error
/// frame, a close frame and its FIN in quick succession; when that FIN reaches a swift-nio HTTP
/// client in the same read as the bytes after the `101`, the response decoder drops those
/// bytes (it forwards left-over bytes only when it has not seen EOF), so `WebSocketClient`
/// sometimes never sees the frames. The probe parses the bytes itself and cannot lose them.
public enum WebSocketProbe {
    public struct Frame: Sendable, CustomStringConvertible {
        public let opcode: UInt8
        public let payload: [UInt8]

        public var text: String { String(decoding: payload, as: UTF8.self) }
        public var json: JSONValue? { opcode == 0x1 ? JSONValue.parse(text) : nil }
        public var description: String { opcode == 0x1 ? text : "opcode \(opcode), \(payload.count) bytes" }
    }

    public struct Result: Sendable, CustomStringConvertible {
        /// Status code of the handshake response (101 when upgraded).
        public let status: Int
        /// Frames before (and including) the close frame.
        public let frames: [Frame]
        /// The close code the server sent, nil when it sent no close frame.
        public let closeCode: UInt16?
        /// Whether the server closed the TCP connection (EOF) before the probe gave up.
        public let sawEOF: Bool

        /// The JSON text frames, in order.
        public var messages: [JSONValue] { frames.compactMap(\.json) }

        public var description: String {
            "HTTP \(status), frames \(frames), close \(closeCode.map(String.init) ?? "none"), EOF \(sawEOF)"
        }
    }

    public enum ProbeError: Error, CustomStringConvertible {
        case malformedResponse(String)
        public var description: String {
            switch self {
            case .malformedResponse(let detail): return "malformed handshake response: \(detail)"
            }
        }
    }

    /// Connects to `127.0.0.1:port`, sends `GET path` with an upgrade request (plus `headers`),
    /// and reads until the server's close frame (answered with a close 1000), EOF or `timeout`.
    public static func handshake(
        port: Int,
        path: String,
        headers: [(String, String)] = [],
        timeout: Duration = .seconds(30)
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let finalRequest = request

        return try await TimeLimit.run(timeout, "the server to answer the handshake on port \(port)") {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: finalRequest))
                var buffer = ByteBuffer()
                var status: Int?
                var frames: [Frame] = []
                for try await var chunk in inbound {
                    buffer.writeBuffer(&chunk)
                    if status == nil {
                        guard let headEnd = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                        let headLength = headEnd.upperBound - buffer.readableBytesView.startIndex
                        let head = buffer.readString(length: headLength) ?? ""
                        let statusLine = head.split(separator: "\r\n").first ?? ""
                        let parts = statusLine.split(separator: " ")
                        guard parts.count >= 2, let code = Int(parts[1]) else {
                            throw ProbeError.malformedResponse(String(statusLine))
                        }
                        status = code
                        guard code == 101 else {
                            return Result(status: code, frames: [], closeCode: nil, sawEOF: false)
                        }
                    }
                    while let frame = parseFrame(&buffer) {
                        frames.append(frame)
                        if frame.opcode == 0x8 {
                            try? await outbound.write(maskedClose())
                            let code = frame.payload.count >= 2 ? UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) : nil
                            return Result(status: 101, frames: frames, closeCode: code, sawEOF: false)
                        }
                    }
                }
                return Result(status: status ?? 0, frames: frames, closeCode: nil, sawEOF: true)
            }
        }
    }

    /// Removes one complete (unmasked, server-to-client) frame from `buffer`.
    static func parseFrame(_ buffer: inout ByteBuffer) -> Frame? {
        let view = buffer.readableBytesView
        guard view.count >= 2 else { return nil }
        let start = view.startIndex
        let opcode = view[start] & 0x0F
        var length = Int(view[start + 1] & 0x7F)
        let masked = view[start + 1] & 0x80 != 0
        var offset = 2
        if length == 126 {
            guard view.count >= 4 else { return nil }
            length = Int(view[start + 2]) << 8 | Int(view[start + 3])
            offset = 4
        } else if length == 127 {
            guard view.count >= 10 else { return nil }
            length = (0..<8).reduce(0) { $0 << 8 | Int(view[start + 2 + $1]) }
            offset = 10
        }
        let maskKey: [UInt8] = masked ? Array(view[(start + offset)..<(start + offset + 4)]) : []
        if masked { offset += 4 }
        guard view.count >= offset + length else { return nil }
        var payload = Array(view[(start + offset)..<(start + offset + length)])
        if masked {
            for index in payload.indices { payload[index] ^= maskKey[index % 4] }
        }
        buffer.moveReaderIndex(forwardBy: offset + length)
        return Frame(opcode: opcode, payload: payload)
    }

    static func maskedClose(code: UInt16 = 1000) -> ByteBuffer {
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        let payload = [UInt8(code >> 8), UInt8(code & 0xFF)]
        var buffer = ByteBuffer()
        buffer.writeBytes([0x88, 0x80 | UInt8(payload.count)] + mask)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
        return buffer
    }
}
