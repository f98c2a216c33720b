import NIOCore

/// Sits at the socket end of a WebSocket pipeline and writes frames that are already encoded
/// (`TextFrame`) straight to the socket.
///
/// Frames from the outbox skip every other handler: nothing above this one needs to see a text
/// frame on its way out (the keepalive watches reads, `ChatWebSocketHandler` only closes), and
/// NIO's encoder would cost a header buffer and a trip through the pipeline per frame. Writes
/// from the pipeline's tail (pongs, closes) pass through unchanged, in the order they are made.
/// Used only on the channel's event loop.
final class RawFrameWriter: ChannelOutboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    /// Writes encoded frames with one flush; does nothing once the handler left the pipeline
    /// (the channel closed).
    func write(_ frames: [ByteBuffer]) {
        guard let context else { return }
        context.eventLoop.preconditionInEventLoop()
        for frame in frames { context.write(wrapOutboundOut(.byteBuffer(frame)), promise: nil) }
        context.flush()
    }

    /// Writes one encoded frame and flushes.
    func write(_ frame: ByteBuffer) {
        guard let context else { return }
        context.eventLoop.preconditionInEventLoop()
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(frame)), promise: nil)
    }
}
