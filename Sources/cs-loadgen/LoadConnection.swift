import NIOCore
import NIOWebSocket

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
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: text)
        channel.writeAndFlush(frame, promise: nil)
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
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: payload)
        channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Turns WebSocket frames into delegate calls: text frames (reassembled when fragmented), pings
/// answered with pongs, a server close answered and the socket closed.
final class WebSocketClientHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let connection: LoadConnection
    private let delegate: any LoadConnectionDelegate
    private var fragments: ByteBuffer?
    private var closeCode: UInt16?
    private var reported = false

    init(connection: LoadConnection, delegate: any LoadConnectionDelegate) {
        self.connection = connection
        self.delegate = delegate
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text:
            if frame.fin {
                delegate.connection(connection, receivedText: frame.unmaskedData)
            } else {
                fragments = frame.unmaskedData
            }
        case .continuation:
            guard var buffer = fragments else { return }
            var more = frame.unmaskedData
            buffer.writeBuffer(&more)
            if frame.fin {
                fragments = nil
                delegate.connection(connection, receivedText: buffer)
            } else {
                fragments = buffer
            }
        case .ping:
            let pong = WebSocketFrame(fin: true, opcode: .pong, maskKey: .random(), data: frame.unmaskedData)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            var payload = frame.unmaskedData
            closeCode = payload.readInteger(as: UInt16.self)
            var echo = context.channel.allocator.buffer(capacity: 2)
            echo.writeInteger(closeCode ?? 1000)
            let reply = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: echo)
            context.writeAndFlush(wrapOutboundOut(reply), promise: nil)
            context.close(promise: nil)
        default:
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
