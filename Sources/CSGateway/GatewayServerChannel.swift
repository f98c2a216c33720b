import CSCore
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// The gateway's HTTP/1 connections: plain requests go to Hummingbird's router; WebSocket upgrades
/// of `/v1/ws` (and `/v1/test/echo` when enabled) become NIO channel handlers with no task of
/// their own (`ChatWebSocketHandler`, `ChatSocket`).
///
/// Modelled on hummingbird-websocket's `HTTP1WebSocketUpgradeChannel`, whose connections each keep
/// a task (and a ping task) for their whole life: tens of KiB per idle connection.
struct GatewayServerChannel: ServerChildChannel, HTTPChannelHandler {
    enum UpgradeResult: Sendable {
        case chat(ChatSocket, WebSocketUpgradeRequest)
        case echo
        case notUpgraded(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case failedUpgrade(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
    }

    struct Value: ServerChildChannelValue {
        let upgradeResult: EventLoopFuture<UpgradeResult>
        let channel: any Channel
    }

    /// What the upgrade handler decided, for the steps after it on the same connection.
    private enum UpgradeDecision {
        case none
        case refused
        case accepted(GatewayContext.WebSocketEndpoint)
    }

    /// The upgrade was accepted, but its endpoint is unknown (cannot happen: NIO installs an
    /// upgrade only after `shouldUpgrade` accepted it).
    private struct UpgradeWithoutEndpoint: Error {}

    let responder: HTTPChannelHandler.Responder
    let gateway: GatewayContext

    /// A server builder for `Application(server:)`.
    static func builder(gateway: GatewayContext) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in GatewayServerChannel(responder: responder, gateway: gateway) }
    }

    /// The receive buffer a connection starts with (it grows for large reads). The channel keeps
    /// its buffer for reuse between reads, so NIO's default (2 KiB) would be a quarter of an idle
    /// connection's memory; chat frames and upgrade requests are mostly smaller.
    static let receiveBuffer = AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65_536)

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.syncOptions?.setOption(ChannelOptions.recvAllocator, value: Self.receiveBuffer)
            // The endpoint is decided (origin checked, logged) once, in `shouldUpgrade`.
            let decision = NIOLoopBoundBox(UpgradeDecision.none, eventLoop: channel.eventLoop)
            let headTimeout = NIOLoopBound(
                RequestHeadTimeoutHandler(timeout: .nanoseconds(Int64(gateway.configuration.httpHeaderTimeout / .nanoseconds(1)))),
                eventLoop: channel.eventLoop)
            let upgrader = NIOTypedWebSocketServerUpgrader<UpgradeResult>(
                maxFrameSize: ClientFrame.Limits.maxFrameBytes,
                shouldUpgrade: { channel, head in
                    let endpoint = gateway.webSocketEndpoint(for: head, logger: logger)
                    decision.value = endpoint.map(UpgradeDecision.accepted) ?? .refused
                    // Out before the HTTP decoder goes: the decoder hands the bytes that followed
                    // the request in the same read (a client's first frames) to the next handler
                    // as raw bytes, which this HTTP-typed handler must never see (it would trap).
                    if endpoint != nil { channel.pipeline.syncOperations.removeHandler(headTimeout.value, promise: nil) }
                    return channel.eventLoop.makeSucceededFuture(endpoint == nil ? nil : HTTPHeaders())
                },
                upgradePipelineHandler: { channel, head in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .accepted(let endpoint) = decision.value else { throw UpgradeWithoutEndpoint() }
                        return try installWebSocket(endpoint, on: channel, head: head, logger: logger)
                    }
                }
            )
            let upgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration<UpgradeResult>(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        // Upgrades sent on this connection after its first request (keep-alive).
                        try channel.pipeline.syncOperations.addHandler(LateWebSocketUpgradeHandler(
                            endpoint: { head in gateway.webSocketEndpoint(for: head, logger: logger) },
                            install: { endpoint, channel, head, anchor in
                                switch try installWebSocket(endpoint, on: channel, head: head, logger: logger, after: anchor) {
                                case .chat(let socket, let upgrade): { await socket.open(upgrade) }
                                default: nil
                                }
                            }))
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(idleTimeout: nil, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        if case .none = decision.value { return .notUpgraded(http) }
                        return .failedUpgrade(http)
                    }
                }
            )
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgradeConfiguration)
            configuration.enablePipelining = false  // NIOAsyncChannel pipelines HTTP requests
            configuration.enableErrorHandling = false  // Hummingbird answers HTTP errors
            configuration.enableResponseHeaderValidation = false  // HTTP types validate them already
            let result = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            // Right after the HTTP decoder: it sees request heads and response ends.
            let upgradeHandler = try channel.pipeline.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<UpgradeResult>.self)
            try channel.pipeline.syncOperations.addHandler(headTimeout.value, position: .before(upgradeHandler))
            return Value(upgradeResult: result, channel: channel)
        }
    }

    /// On the event loop, after NIO added the WebSocket codec: the writer of encoded frames, the
    /// keepalive and the protocol handler (last, or right after `anchor`: the frame decoder of a
    /// late upgrade, `LateWebSocketUpgradeHandler`, before the HTTP connection's own handlers).
    private func installWebSocket(
        _ endpoint: GatewayContext.WebSocketEndpoint, on channel: any Channel, head: HTTPRequestHead, logger: Logger,
        after anchor: (any ChannelHandler)? = nil
    ) throws -> UpgradeResult {
        let operations = channel.pipeline.syncOperations
        let interval = TimeAmount.seconds(Int64(gateway.configuration.pingIntervalSeconds))
        let writer = RawFrameWriter()
        try operations.addHandlers([writer, IdleStateHandler(readTimeout: interval), PingOnIdleHandler()], position: .first)
        let position: ChannelPipeline.SynchronousOperations.Position = anchor.map { .after($0) } ?? .last
        switch endpoint {
        case .chat:
            let output = ChannelConnectionOutput(channel: channel, writer: writer, stats: gateway.stats)
            let socket = ChatSocket(output: output, gateway: gateway, logger: logger)
            try operations.addHandler(ChatWebSocketHandler(endpoint: .chat(socket), maxMessageBytes: ClientFrame.Limits.maxFrameBytes), position: position)
            return .chat(socket, WebSocketUpgradeRequest(head: head, remoteAddress: channel.remoteAddress))
        case .echo:
            try operations.addHandler(ChatWebSocketHandler(endpoint: .echo, maxMessageBytes: ClientFrame.Limits.maxFrameBytes), position: position)
            return .echo
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.upgradeResult.get() {
            case .notUpgraded(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .failedUpgrade(let http):
                await Self.refuseUpgrade(http, logger: logger)
            case .chat(let socket, let upgrade):
                // Setup only: afterwards the socket lives on in its channel handlers.
                await socket.open(upgrade)
            case .echo:
                break
            }
        } catch {
            logger.debug("connection ended before its first request was handled", metadata: ["error": "\(error)"])
        }
    }

    /// A refused WebSocket upgrade (foreign origin, unknown path): 400, then close.
    private static func refuseUpgrade(_ http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, logger: Logger) async {
        do {
            try await http.executeThenClose { _, outbound in
                let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
                try await outbound.write(contentsOf: [.head(head), .end(nil)])
            }
        } catch {
            logger.trace("refused upgrade not written", metadata: ["error": "\(error)"])
        }
    }
}
