import NIOCore

/// What a load connection does with what it receives; always called on the connection's event loop.
protocol LoadConnectionDelegate: AnyObject, Sendable {
    /// A complete text frame from the server.
    func connection(_ connection: LoadConnection, receivedText frame: ByteBuffer)
    /// The connection is gone (`closeCode` is the server's close code, when it sent one).
    func connectionClosed(_ connection: LoadConnection, closeCode: UInt16?)
}

/// One client WebSocket connection of the load generator (an upgraded NIO channel).
///
/// Scenario code keeps per-connection state in its delegate, confined to ``eventLoop``, so the
/// hot path takes no locks and makes no task hops.
final class LoadConnection: Sendable {
    let channel: any Channel
    /// Index of the connection in its scenario (to spread it over gateways and roles).
    let index: Int

    init(channel: any Channel, index: Int) {
        self.channel = channel
        self.index = index
    }

    var eventLoop: any EventLoop { channel.eventLoop }

    /// Writes one text frame, masked as RFC 6455 requires of clients. Cheapest on ``eventLoop``.
    func send(_ text: ByteBuffer) {
        channel.writeAndFlush(ClientFrameCodec.encode(.text, payload: text, allocator: channel.allocator), promise: nil)
    }

    /// Writes one text frame made of `text`'s UTF-8 bytes.
    func send(_ text: String) {
        send(channel.allocator.buffer(string: text))
    }

    /// Sends a close frame (1000) and closes the socket.
    func close() {
        let channel = self.channel
        var payload = channel.allocator.buffer(capacity: 2)
        payload.writeInteger(UInt16(1000))
        let frame = ClientFrameCodec.encode(.close, payload: payload, allocator: channel.allocator)
        channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Turns the socket's bytes into delegate calls (`ClientFrameCodec`): text frames (reassembled
/// when fragmented), pings answered with pongs, a server close answered and the socket closed.
/// The only handler after the upgrade: NIO's WebSocket decoder and encoder are not in the
/// pipeline (`RawWebSocketUpgrader`).
final class WebSocketClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: LoadConnection
    private let delegate: any LoadConnectionDelegate
    /// Bytes of a frame not complete yet.
    private var partial: ByteBuffer?
    private var fragments: ByteBuffer?
    private var closeCode: UInt16?
    private var reported = false
    private var closing = false

    init(connection: LoadConnection, delegate: any LoadConnectionDelegate) {
        self.connection = connection
        self.delegate = delegate
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var partial {
            self.partial = nil
            partial.writeBuffer(&buffer)
            buffer = partial
        }
        do {
            while !closing, let frame = try ClientFrameCodec.next(from: &buffer) { handle(frame, context: context) }
        } catch {
            context.close(promise: nil)
            return
        }
        if buffer.readableBytes > 0 && !closing {
            buffer.discardReadBytes()
            partial = buffer
        }
    }

    private func handle(_ frame: ClientFrameCodec.Frame, context: ChannelHandlerContext) {
        switch frame.opcode {
        case .text:
            if frame.fin {
                delegate.connection(connection, receivedText: frame.payload)
            } else {
                fragments = frame.payload
            }
        case .continuation:
            guard var buffer = fragments else { return }
            var more = frame.payload
            buffer.writeBuffer(&more)
            if frame.fin {
                fragments = nil
                delegate.connection(connection, receivedText: buffer)
            } else {
                fragments = buffer
            }
        case .ping:
            let pong = ClientFrameCodec.encode(.pong, payload: frame.payload, allocator: context.channel.allocator)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .close:
            var payload = frame.payload
            closeCode = payload.readInteger(as: UInt16.self)
            var echo = context.channel.allocator.buffer(capacity: 2)
            echo.writeInteger(closeCode ?? 1000)
            let reply = ClientFrameCodec.encode(.close, payload: echo, allocator: context.channel.allocator)
            closing = true
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
            context.close(promise: nil)
        case .binary, .pong, nil:
            break
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !reported {
            reported = true
            delegate.connectionClosed(connection, closeCode: closeCode)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
