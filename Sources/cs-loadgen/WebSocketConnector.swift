import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// Opens client WebSockets to `/v1/ws?token=...` from rotating loopback source addresses.
struct WebSocketConnector: Sendable {
    let group: any EventLoopGroup
    let sources: SourceAddressPool
    var connectTimeout: TimeAmount = .seconds(10)

    /// Why a connection attempt failed, for the result's error counts.
    enum Failure: Error, CustomStringConvertible {
        case upgradeRefused(status: UInt)
        case connect(String)

        var description: String {
            switch self {
            case .upgradeRefused(let status): return "upgrade refused (HTTP \(status))"
            case .connect(let reason): return reason
            }
        }

        /// A short, stable key for counting failures by kind.
        var kind: String {
            switch self {
            case .upgradeRefused(let status): return "http_\(status)"
            case .connect(let reason):
                if reason.contains("refused") { return "connection_refused" }
                if reason.contains("imeout") || reason.contains("imed out") { return "connect_timeout" }
                if reason.contains("Too many open files") { return "too_many_open_files" }
                if reason.contains("Cannot assign requested address") || reason.contains("in use") { return "no_source_port" }
                return "connect_error"
            }
        }
    }

    /// Connects and upgrades; the future succeeds once the WebSocket is open (before any frame).
    func connect(
        to gateway: GatewayAddress, token: String, index: Int, on eventLoop: any EventLoop, delegate: any LoadConnectionDelegate
    ) -> EventLoopFuture<LoadConnection> {
        let upgraded = eventLoop.makePromise(of: LoadConnection.self)
        let path = "/v1/ws?token=" + token
        let host = gateway.description
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(to: sources.take())
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let request = UpgradeRequestHandler(host: host, path: path, upgraded: upgraded)
                    let upgrader = RawWebSocketUpgrader { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let connection = LoadConnection(channel: channel, index: index)
                            try channel.pipeline.syncOperations.addHandler(
                                WebSocketClientHandler(connection: connection, delegate: delegate))
                            upgraded.succeed(connection)
                        }
                    }
                    let configuration: NIOHTTPClientUpgradeConfiguration = (
                        upgraders: [upgrader],
                        completionHandler: { context in
                            context.pipeline.removeHandler(name: UpgradeRequestHandler.name, promise: nil)
                        }
                    )
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        leftOverBytesStrategy: .forwardBytes, withClientUpgrade: configuration)
                    try channel.pipeline.syncOperations.addHandler(request, name: UpgradeRequestHandler.name)
                }
            }
            .connect(host: gateway.host, port: gateway.port)
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    // A socket closed before the upgrade finished fails the attempt.
                    channel.closeFuture.whenComplete { _ in upgraded.fail(Failure.connect("closed during upgrade")) }
                case .failure(let error):
                    upgraded.fail(Failure.connect("\(error)"))
                }
            }
        return upgraded.futureResult
    }
}

/// Sends the upgrade request when the socket is up; a response that reaches it means the
/// server refused the upgrade.
private final class UpgradeRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    static let name = "cs-loadgen-upgrade-request"

    let host: String
    let path: String
    let upgraded: EventLoopPromise<LoadConnection>

    init(host: String, path: String, upgraded: EventLoopPromise<LoadConnection>) {
        self.host = host
        self.path = path
        self.upgraded = upgraded
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        headers.add(name: "Content-Length", value: "0")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head(let response) = unwrapInboundIn(data) {
            upgraded.fail(WebSocketConnector.Failure.upgradeRefused(status: response.status.code))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        upgraded.fail(WebSocketConnector.Failure.connect("\(error)"))
        context.close(promise: nil)
    }
}

/// The WebSocket upgrade (request key, `Sec-WebSocket-Accept` check: NIO's client upgrader), but
/// the pipeline it leaves has only our own frame handler (`ClientFrameCodec`), added by
/// `pipeline`: no NIO frame decoder, encoder or protocol-error handler.
private struct RawWebSocketUpgrader: NIOHTTPClientProtocolUpgrader {
    private let checks = NIOWebSocketClientUpgrader { channel, _ in channel.eventLoop.makeSucceededVoidFuture() }
    let pipeline: @Sendable (any Channel) -> EventLoopFuture<Void>

    init(pipeline: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>) {
        self.pipeline = pipeline
    }

    var supportedProtocol: String { checks.supportedProtocol }
    var requiredUpgradeHeaders: [String] { checks.requiredUpgradeHeaders }

    func addCustom(upgradeRequestHeaders: inout HTTPHeaders) {
        checks.addCustom(upgradeRequestHeaders: &upgradeRequestHeaders)
    }

    func shouldAllowUpgrade(upgradeResponse: HTTPResponseHead) -> Bool {
        checks.shouldAllowUpgrade(upgradeResponse: upgradeResponse)
    }

    func upgrade(context: ChannelHandlerContext, upgradeResponse: HTTPResponseHead) -> EventLoopFuture<Void> {
        pipeline(context.channel)
    }
}
