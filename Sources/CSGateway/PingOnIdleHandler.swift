import NIOCore
import NIOWebSocket

/// The WebSocket keepalive, as channel handlers instead of a task per connection: behind an
/// `IdleStateHandler(readTimeout: interval)` (`GatewayServerChannel` installs both at the socket end
/// of the pipeline), after `interval` without anything read from the client a ping frame goes out;
/// after another `interval` still without a byte (no pong, no frame), the client is gone: close
/// 1001 ("ping timeout") and the socket is closed. Anything the client sends counts, so a chatty
/// client is never pinged.
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
            // A dead peer takes nothing: the close frame is a courtesy, the socket goes now.
            channel.writeAndFlush(WebSocketFrame.close(.goingAway, reason: "ping timeout", allocator: channel.allocator), promise: nil)
            channel.close(promise: nil)
        } else {
            pingOutstanding = true
            channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .ping, data: channel.allocator.buffer(capacity: 0)), promise: nil)
        }
    }
}
