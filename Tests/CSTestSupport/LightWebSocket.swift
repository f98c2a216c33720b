import Foundation
import NIOCore
import NIOPosix

/// A small WebSocket client for tests that need hundreds of connections (EndToEnd+Faults*.swift):
/// one NIO channel and one handler per connection, no task per connection, frames kept as text.
///
/// It does the handshake itself, answers pings and the server's close, and records every text
/// frame in order. ``pauseReading()`` stops reading from the socket (a client that never reads:
/// the server's writes then fill the kernel buffers and back up); ``resumeReading()`` reads again.
public final class LightWebSocket: @unchecked Sendable, CustomStringConvertible {
    public let label: String
    public let url: String
    let lock = NSLock()
    var _texts: [String] = []
    var _upgraded = false
    var _closeCode: UInt16?
    var _ended = false
    var _failure: String?
    var channel: (any Channel)?

    public var description: String { "LightWebSocket(\(label))" }

    init(label: String, url: String) {
        self.label = label
        self.url = url
    }

    /// Text frames received so far, in order.
    public var texts: [String] { lock.withLock { _texts } }
    public var textCount: Int { lock.withLock { _texts.count } }
    /// Text frames from index `start` on.
    public func texts(from start: Int) -> [String] { lock.withLock { start < _texts.count ? Array(_texts[start...]) : [] } }
    /// The close code the server sent, if it sent a close frame.
    public var closeCode: UInt16? { lock.withLock { _closeCode } }
    /// The TCP connection is gone (closed by either side, or failed).
    public var ended: Bool { lock.withLock { _ended } }
    public var failure: String? { lock.withLock { _failure } }

    /// Connects to `ws://host:port/path` (`path` includes the query), performs the upgrade and
    /// returns once the server answered 101. `receiveBufferSize` sets `SO_RCVBUF` before connecting.
    public static func connect(
        host: String = "127.0.0.1", port: Int, path: String, label: String,
        receiveBufferSize: Int? = nil, timeout: Duration = .seconds(30)
    ) async throws -> LightWebSocket {
        let socket = LightWebSocket(label: label, url: "ws://\(host):\(port)\(path)")
        let handler = LightWebSocketHandler(owner: socket, host: host, port: port, path: path)
        var bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in channel.pipeline.addHandler(handler) }
        if let receiveBufferSize {
            bootstrap = bootstrap.channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: SocketOptionValue(receiveBufferSize))
        }
        let channel = try await bootstrap.connect(host: host, port: port).get()
        socket.lock.withLock { socket.channel = channel }
        let deadline = ContinuousClock.now + timeout
        while true {
            let (upgraded, ended, failure) = socket.lock.withLock { (socket._upgraded, socket._ended, socket._failure) }
            if upgraded { return socket }
            if ended || ContinuousClock.now >= deadline {
                channel.close(promise: nil)
                throw LightWebSocketError.handshakeFailed(label: label, detail: failure ?? (ended ? "connection ended" : "timed out"))
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Sends one masked text frame. Fails when the connection has ended.
    public func send(_ text: String) async throws {
        guard let channel = lock.withLock({ _ended ? nil : channel }) else {
            throw LightWebSocketError.notConnected(label: label)
        }
        try await channel.writeAndFlush(Self.maskedFrame(opcode: 0x1, payload: Array(text.utf8))).get()
    }

    /// Stops reading from the socket (`autoRead` off): the client no longer consumes anything.
    public func pauseReading() async throws {
        guard let channel = lock.withLock({ channel }) else { return }
        try await channel.setOption(ChannelOptions.autoRead, value: false).get()
    }

    /// Reads again (`autoRead` on).
    public func resumeReading() async throws {
        guard let channel = lock.withLock({ channel }) else { return }
        try await channel.setOption(ChannelOptions.autoRead, value: true).get()
        channel.read()
    }

    /// Closes the TCP connection at once (no close handshake).
    public func abort() {
        lock.withLock { channel }?.close(promise: nil)
    }

    /// Sends close 1000 and closes the connection.
    public func close() async {
        guard let channel = lock.withLock({ _ended ? nil : channel }) else { return }
        _ = try? await channel.writeAndFlush(Self.maskedFrame(opcode: 0x8, payload: [0x03, 0xE8])).get()
        _ = try? await channel.close().get()
    }

    /// Polls (every 20 ms) until `condition` holds; false after `timeout`.
    public func waitUntil(timeout: Duration, _ condition: (LightWebSocket) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !condition(self) {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    static func maskedFrame(opcode: UInt8, payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(payload.count + 14)
        buffer.writeInteger(0x80 | opcode)
        if payload.count < 126 {
            buffer.writeInteger(UInt8(0x80 | payload.count))
        } else if payload.count <= 0xFFFF {
            buffer.writeInteger(UInt8(0x80 | 126))
            buffer.writeInteger(UInt16(payload.count))
        } else {
            buffer.writeInteger(UInt8(0x80 | 127))
            buffer.writeInteger(UInt64(payload.count))
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        buffer.writeBytes(mask)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset & 3] })
        return buffer
    }
}

public enum LightWebSocketError: Error, CustomStringConvertible {
    case handshakeFailed(label: String, detail: String)
    case notConnected(label: String)

    public var description: String {
        switch self {
        case .handshakeFailed(let label, let detail): return "\(label): WebSocket handshake failed: \(detail)"
        case .notConnected(let label): return "\(label): not connected"
        }
    }
}

/// Handshake, frame parsing, pings and close for one ``LightWebSocket``.
final class LightWebSocketHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let owner: LightWebSocket
    let host: String
    let port: Int
    let path: String
    var buffer = ByteBuffer()
    var upgraded = false
    var fragments: [UInt8] = []
    var fragmentOpcode: UInt8 = 0

    init(owner: LightWebSocket, host: String, port: Int, path: String) {
        self.owner = owner
        self.host = host
        self.port = port
        self.path = path
    }

    func channelActive(context: ChannelHandlerContext) {
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n\r\n"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        buffer.writeBuffer(&chunk)
        if !upgraded {
            guard let headEnd = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            let head = buffer.readString(length: headEnd.upperBound - buffer.readableBytesView.startIndex) ?? ""
            let status = head.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
            guard status == 101 else {
                owner.lock.withLock { owner._failure = "HTTP status line: \(head.prefix(60))" }
                context.close(promise: nil)
                return
            }
            upgraded = true
            owner.lock.withLock { owner._upgraded = true }
        }
        while let frame = WebSocketProbe.parseFrame(&buffer) {
            handle(frame, context: context)
        }
    }

    private func handle(_ frame: WebSocketProbe.Frame, context: ChannelHandlerContext) {
        switch frame.opcode {
        case 0x0, 0x1, 0x2:
            // Fragmented messages are rare from this server; the FIN bit is not in Frame, so a
            // continuation is appended to the previous text frame.
            if frame.opcode == 0x0 {
                owner.lock.withLock {
                    if let last = owner._texts.popLast() { owner._texts.append(last + frame.text) }
                }
            } else if frame.opcode == 0x1 {
                owner.lock.withLock { owner._texts.append(frame.text) }
            }
        case 0x8:
            let code = frame.payload.count >= 2 ? UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) : 1005
            owner.lock.withLock { owner._closeCode = code }
            let reply = LightWebSocket.maskedFrame(opcode: 0x8, payload: Array(frame.payload.prefix(2)))
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in context.close(promise: nil) }
        case 0x9:
            context.writeAndFlush(wrapOutboundOut(LightWebSocket.maskedFrame(opcode: 0xA, payload: frame.payload)), promise: nil)
        default:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        owner.lock.withLock { owner._ended = true }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        owner.lock.withLock {
            if owner._failure == nil { owner._failure = "\(error)" }
        }
        context.close(promise: nil)
    }
}
