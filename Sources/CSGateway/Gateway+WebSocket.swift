import CSCore
import CSServer
import Hummingbird
import HummingbirdCore
import Logging
import NIOHTTP1

extension GatewayContext {
    /// The WebSocket endpoints (`GatewayServerChannel` upgrades them).
    enum WebSocketEndpoint {
        /// `GET /v1/ws`: the client WebSocket (docs/protocol.md).
        case chat
        /// `GET /v1/test/echo`, only with `--enable-test-echo`: every text and binary message is
        /// written back as it came, so that a WebSocket conformance suite (Autobahn cases,
        /// `scripts/test-conformance.sh`) can drive the gateway's own WebSocket stack, the same
        /// `ChatWebSocketHandler` with the same limits (64 KiB frames and messages, 1009 past
        /// them; UTF-8 text, 1007; the keepalive; no compression). No token, no Redis, no origin
        /// check: never enable it in production.
        case echo
    }

    /// Which endpoint an upgrade request may open; nil refuses the upgrade (HTTP 400).
    ///
    /// A browser page from an origin that is not allowed (`--allowed-origins`, `OriginPolicy`) is
    /// refused here. Past this check the upgrade succeeds; an unauthenticated client then gets an
    /// `unauthorized` error frame and close 4001, which browsers can read (a refused handshake
    /// they cannot).
    func webSocketEndpoint(for head: HTTPRequestHead, logger: Logger) -> WebSocketEndpoint? {
        switch URI(head.uri).path {
        case "/v1/ws":
            let origin = head.headers.first(name: "Origin")
            guard webSocketOrigins.allows(origin: origin, host: head.headers.first(name: "Host")) else {
                logger.info("refused WebSocket from a foreign origin", metadata: ["origin": "\(origin?.prefix(200) ?? "")"])
                return nil
            }
            return .chat
        case "/v1/test/echo" where configuration.enableTestEcho:
            return .echo
        default:
            return nil
        }
    }

    /// `GET /v1/ws` without an upgrade: 403 for a foreign origin (as for a refused handshake),
    /// otherwise 426 (a WebSocket endpoint).
    func addWebSocketRoute(to router: Router<GatewayRequestContext>) {
        router.get("/v1/ws") { request, context -> Response in
            let origin = request.headers[.origin]
            guard self.webSocketOrigins.allows(origin: origin, host: request.head.authority) else {
                context.logger.info("refused WebSocket from a foreign origin", metadata: ["origin": "\(origin?.prefix(200) ?? "")"])
                throw HTTPError(.forbidden, message: "origin not allowed")
            }
            throw HTTPError(.upgradeRequired, message: "a WebSocket endpoint: upgrade the connection")
        }
    }
}
