import Hummingbird
import NIOCore

/// The gateway's request context: Hummingbird's basic context plus the client's address (for
/// the per-address limits and logs).
public struct GatewayRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer of the TCP connection (the load balancer's address behind one).
    public let remoteAddress: SocketAddress?
    /// The connection, for the answers after which it closes (a refused upload, docs/api.md).
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
    }
}
