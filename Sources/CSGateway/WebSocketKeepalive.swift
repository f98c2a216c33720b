import CSCore
import NIOCore
import NIOWebSocket

/// Keeps an idle WebSocket alive and finds dead peers, as channel handlers instead of a task per
/// connection (hummingbird-websocket's automatic ping is a sleeping task for every connection).
///
/// After `interval` without anything read from the client, a ping frame goes out; after another
/// `interval` still without a byte (no pong, no frame), the client is gone: close 1001 ("ping
/// timeout") and the socket is closed. Anything the client sends counts, so a chatty client is
/// never pinged.
enum WebSocketKeepalive {
    /// Adds the handlers at the socket end of the channel's pipeline. Call on any thread.
    static func install(on channel: any Channel, interval: TimeAmount) async throws {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandlers(
                [IdleStateHandler(readTimeout: interval), PingOnIdleHandler()], position: .first)
        }.get()
    }
}

/// Reacts to `IdleStateHandler`'s read-idle events: the first one pings, the next one (no byte read
/// in between) closes.
final class PingOnIdleHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    private var pingOutstanding = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        pingOutstanding = false
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard case IdleStateHandler.IdleStateEvent.read = event else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        // Written from the tail, so that the pipeline's WebSocket encoder frames it.
        let channel = context.channel
        if pingOutstanding {
            var reason = channel.allocator.buffer(capacity: 16)
            reason.write(webSocketErrorCode: .goingAway)
            reason.writeString("ping timeout")
            // A dead peer takes nothing: the close frame is a courtesy, the socket goes now.
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .connectionClose, data: reason), promise: nil)
            channel.close(promise: nil)
        } else {
            pingOutstanding = true
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .ping, data: channel.allocator.buffer(capacity: 0)), promise: nil)
        }
    }
}
