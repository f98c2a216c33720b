import CSCore
import NIOCore
import NIOWebSocket

/// The WebSocket protocol of one upgraded connection, on its event loop: no task per connection.
///
/// Below it NIO's codec (frames up to `ClientFrame.Limits.maxFrameBytes`; a longer frame, a
/// fragmented or long control frame close with 1009 / 1002 through NIO's protocol error handler).
/// Here: fragments joined up to the same limit (1009 past it), text checked to be UTF-8 (1007),
/// pings answered, unmasked frames, reserved bits and reserved opcodes refused (1002), and the
/// close handshake: a client's close is answered and the socket closed; after our close, data is
/// ignored until the client answers (or the socket is cut). Complete messages go to the endpoint.
final class ChatWebSocketHandler: ChannelDuplexHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    /// Who gets the messages.
    enum Endpoint {
        /// `/v1/ws`: text to the socket's session; binary is refused with 1003.
        case chat(ChatSocket)
        /// `/v1/test/echo` (conformance tests): every message is written back as it came.
        case echo
    }

    private let endpoint: Endpoint
    private let maxMessageBytes: Int
    private var fragments: (opcode: WebSocketOpcode, data: ByteBuffer)?
    /// A close frame went out (ours, or written by another handler through the channel).
    private var closeSent = false

    /// How long a client gets to answer our close before the socket is cut.
    static let closeHandshakeTimeout = TimeAmount.seconds(10)

    init(endpoint: Endpoint, maxMessageBytes: Int) {
        self.endpoint = endpoint
        self.maxMessageBytes = maxMessageBytes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // RFC 6455 §5.1: a client masks every frame (it protects proxies from cache poisoning).
        guard frame.maskKey != nil, frame.reservedBits.isEmpty else { return fail(context, .protocolError) }
        switch frame.opcode {
        case .text, .binary:
            guard fragments == nil else { return fail(context, .protocolError) }
            if frame.fin {
                message(context, frame.opcode, frame.unmaskedData)
            } else {
                fragments = (frame.opcode, frame.unmaskedData)
            }
        case .continuation:
            guard var current = fragments else { return fail(context, .protocolError) }
            var data = frame.unmaskedData
            guard current.data.readableBytes + data.readableBytes <= maxMessageBytes else { return fail(context, .messageTooLarge) }
            current.data.writeBuffer(&data)
            fragments = frame.fin ? nil : current
            if frame.fin { message(context, current.opcode, current.data) }
        case .ping:
            guard !closeSent else { return }
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            break
        case .connectionClose:
            receivedClose(context, frame.unmaskedData)
        default:
            fail(context, .protocolError)
        }
    }

    /// Notes closes written from elsewhere (the connection's outbox, the keepalive).
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if unwrapOutboundIn(data).opcode == .connectionClose { closeSent = true }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .chat(let socket) = endpoint { socket.channelClosed() }
        context.fireChannelInactive()
    }

    /// The HTTP server stops (after the gateway's drain): whoever is still here is closed with
    /// 1001 at once (the session pool may have stopped already).
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        if !closeSent { closeNow(context, .goingAway) }
    }

    /// NIO's protocol error handler, before this one, already wrote the close and closes.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOWebSocketError { closeSent = true } else { context.close(promise: nil) }
    }

    private func message(_ context: ChannelHandlerContext, _ opcode: WebSocketOpcode, _ data: ByteBuffer) {
        guard !closeSent else { return }
        var text: String?
        if opcode == .text {
            text = String(validating: data.readableBytesView, as: UTF8.self)
            guard text != nil else { return fail(context, .dataInconsistentWithMessage) }
        }
        switch endpoint {
        case .echo:
            context.writeAndFlush(wrapOutboundOut(WebSocketFrame(fin: true, opcode: opcode, data: data)), promise: nil)
        case .chat(let socket):
            guard let text else { return fail(context, .unacceptableData) }
            if socket.receive(text) == .pauseReading {
                try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
            }
        }
    }

    private func receivedClose(_ context: ChannelHandlerContext, _ data: ByteBuffer) {
        // Our close answered: the handshake is complete.
        guard !closeSent else { return context.close(promise: nil) }
        var data = data
        var reply = WebSocketErrorCode.normalClosure
        if data.readableBytes == 1 {
            reply = .protocolError
        } else if let code = data.readInteger(as: UInt16.self) {
            if !Self.isValidCloseCode(code) || String(validating: data.readableBytesView, as: UTF8.self) == nil { reply = .protocolError }
        }
        writeClose(context, reply)
        context.close(promise: nil)
    }

    /// Close codes a peer may send (RFC 6455 §7.4): the defined ones, and 3000–4999.
    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: true
        default: false
        }
    }

    /// A broken rule: a chat connection closes after the frames already queued for it (its
    /// outbox); otherwise the close goes now. Either way the socket is cut if the client does
    /// not answer.
    private func fail(_ context: ChannelHandlerContext, _ code: WebSocketErrorCode) {
        guard !closeSent else { return }
        fragments = nil
        if case .chat(let socket) = endpoint, socket.endForViolation(ChatCloseCode(webSocket: code)) {
            closeSent = true
            return
        }
        closeNow(context, code)
    }

    /// Writes the close; the socket is cut if the client does not answer in time.
    private func closeNow(_ context: ChannelHandlerContext, _ code: WebSocketErrorCode) {
        writeClose(context, code)
        let channel = context.channel
        channel.eventLoop.scheduleTask(in: Self.closeHandshakeTimeout) { channel.close(promise: nil) }
    }

    private func writeClose(_ context: ChannelHandlerContext, _ code: WebSocketErrorCode) {
        closeSent = true
        context.writeAndFlush(wrapOutboundOut(.close(code, allocator: context.channel.allocator)), promise: nil)
    }
}

extension ChatCloseCode {
    /// The chat close code of a WebSocket protocol failure.
    init(webSocket code: WebSocketErrorCode) {
        switch code {
        case .unacceptableData: self = .unsupportedData
        case .dataInconsistentWithMessage: self = .invalidPayload
        case .messageTooLarge: self = .tooLarge
        case .protocolError: self = .protocolError
        case .goingAway: self = .goingAway
        default: self = .internalError
        }
    }
}
