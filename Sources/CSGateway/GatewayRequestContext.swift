import Hummingbird
import HummingbirdWebSocket
import NIOCore
import Synchronization

/// The gateway's request context: Hummingbird's WebSocket-capable context plus the client's
/// address (for the per-address connection limit) and the channel (the session writes its
/// frames to it directly, `ChannelConnectionOutput`).
///
/// It also fixes a leak: hummingbird-websocket 2.8.1 stores the upgraded context inside a box
/// that the context itself holds (`webSocket`), a reference cycle that kept about 2.5 KiB per
/// closed WebSocket alive forever. Here the box is reached through `HandlerSlot`, which the
/// WebSocket handler empties when the connection ends (`releaseWebSocketHandler()`), so the
/// cycle is broken.
public struct GatewayRequestContext: RequestContext, WebSocketRequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer of the TCP connection (the load balancer's address behind one).
    public let remoteAddress: SocketAddress?
    /// The connection's channel.
    public let channel: any Channel
    private let slot: HandlerSlot

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
        slot = HandlerSlot()
    }

    public var webSocket: WebSocketHandlerReference<Self> { slot.reference.withLock { $0 } ?? WebSocketHandlerReference() }

    /// Drops this context's WebSocket handler reference; call when the WebSocket session ends.
    public func releaseWebSocketHandler() { slot.reference.withLock { $0 = nil } }

    final class HandlerSlot: Sendable {
        let reference = Mutex<WebSocketHandlerReference<GatewayRequestContext>?>(WebSocketHandlerReference())
    }
}
