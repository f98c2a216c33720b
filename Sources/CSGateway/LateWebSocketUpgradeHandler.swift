import CSCore
import Crypto
import Foundation
import HummingbirdCore
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// Upgrades to a WebSocket on a keep-alive connection that already served requests.
///
/// NIO's upgrade handler only looks at a connection's first request and then leaves the pipeline,
/// so an upgrade sent on a reused connection (Node's built-in WebSocket client does that) reached
/// the router and got 426. This handler sits on the plain HTTP path: a later request that is a
/// WebSocket upgrade of an endpoint the gateway serves (`/v1/ws`, origin allowed) is answered
/// with 101 here, the HTTP handlers leave, and the WebSocket handlers take the connection, as on
/// a first request. It only acts while no other request of the connection is being answered;
/// anything else passes through unchanged.
final class LateWebSocketUpgradeHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// The endpoint an upgrade request may open (nil: not an upgrade the gateway performs here).
    let endpoint: (HTTPRequestHead) -> GatewayContext.WebSocketEndpoint?
    /// Adds the WebSocket protocol handlers after `anchor`; returns the work to run afterwards.
    let install: (GatewayContext.WebSocketEndpoint, any Channel, HTTPRequestHead, any ChannelHandler) throws -> (@Sendable () async -> Void)?

    /// Requests passed on whose response has not ended.
    private var inFlight = 0
    /// An accepted upgrade request waiting for its end.
    private var upgrade: (head: HTTPRequestHead, endpoint: GatewayContext.WebSocketEndpoint)?

    init(
        endpoint: @escaping (HTTPRequestHead) -> GatewayContext.WebSocketEndpoint?,
        install: @escaping (GatewayContext.WebSocketEndpoint, any Channel, HTTPRequestHead, any ChannelHandler) throws -> (@Sendable () async -> Void)?
    ) {
        self.endpoint = endpoint
        self.install = install
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if let pending = upgrade {
            if case .end = part { perform(pending.head, pending.endpoint, context: context) }
            return
        }
        if case .head(let head) = part {
            if inFlight == 0, Self.isWebSocketUpgrade(head), let endpoint = endpoint(head) {
                upgrade = (head, endpoint)
                return
            }
            inFlight += 1
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { inFlight = max(0, inFlight - 1) }
        context.write(data, promise: promise)
    }

    /// Answers 101 and swaps the HTTP handlers for the WebSocket ones.
    private func perform(_ head: HTTPRequestHead, _ endpoint: GatewayContext.WebSocketEndpoint, context: ChannelHandlerContext) {
        let channel = context.channel
        do {
            var headers = HTTPHeaders()
            headers.add(name: "Upgrade", value: "websocket")
            headers.add(name: "Connection", value: "Upgrade")
            headers.add(name: "Sec-WebSocket-Accept", value: Self.acceptValue(head.headers.first(name: "Sec-WebSocket-Key") ?? ""))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)

            let operations = channel.pipeline.syncOperations
            let decoder = ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: ClientFrame.Limits.maxFrameBytes))
            try operations.addHandlers([WebSocketFrameEncoder(), decoder], position: .after(self))
            let next = try install(endpoint, channel, head, decoder)
            // The HTTP handlers go; the request decoder last, so that bytes the client sent after
            // the upgrade request reach the WebSocket decoder.
            for handler in try Self.httpHandlers(operations) { operations.removeHandler(handler, promise: nil) }
            operations.removeHandler(self, promise: nil)
            operations.removeHandler(try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self), promise: nil)
            if let next { Task { await next() } }
        } catch {
            channel.close(promise: nil)
        }
    }

    private static func httpHandlers(_ operations: ChannelPipeline.SynchronousOperations) throws -> [any RemovableChannelHandler] {
        var handlers: [any RemovableChannelHandler] = [try operations.handler(type: HTTPResponseEncoder.self)]
        if let codec = try? operations.handler(type: HTTP1ToHTTPServerCodec.self) { handlers.append(codec) }
        if let state = try? operations.handler(type: HTTPConnectionStateHandler.self) { handlers.append(state) }
        if let timeout = try? operations.handler(type: RequestHeadTimeoutHandler.self) { handlers.append(timeout) }
        return handlers
    }

    /// A WebSocket version 13 upgrade request (RFC 6455, 4.2.1).
    static func isWebSocketUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.method == .GET
            && head.headers[canonicalForm: "Upgrade"].contains { $0.lowercased() == "websocket" }
            && head.headers[canonicalForm: "Connection"].contains { $0.lowercased() == "upgrade" }
            && head.headers.first(name: "Sec-WebSocket-Version") == "13"
            && Data(base64Encoded: head.headers.first(name: "Sec-WebSocket-Key") ?? "")?.count == 16
    }

    /// `Sec-WebSocket-Accept` for a key: base64 of SHA-1 of the key and the RFC's GUID.
    static func acceptValue(_ key: String) -> String {
        Data(Insecure.SHA1.hash(data: Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
    }
}
