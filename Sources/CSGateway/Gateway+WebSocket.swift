import CSCore
import CSServer
import Hummingbird
import HummingbirdWebSocket

extension GatewayContext {
    /// `GET /v1/ws`: the client WebSocket (docs/protocol.md).
    ///
    /// A browser page from an origin that is not allowed (`--allowed-origins`, `OriginPolicy`) is
    /// refused before the upgrade (hummingbird-websocket answers every refused upgrade with 400; a
    /// plain GET gets the 403 thrown here). Otherwise the upgrade succeeds; an unauthenticated
    /// client then gets an `unauthorized` error frame and close 4001, which browsers can read (a
    /// refused handshake they cannot).
    func addWebSocketRoute(to router: Router<GatewayRequestContext>) {
        let origins = OriginPolicy(allowedOrigins: configuration.allowedOrigins)
        router.ws("/v1/ws", shouldUpgrade: { request, context in
            let origin = request.headers[.origin]
            guard origins.allows(origin: origin, host: request.head.authority) else {
                context.logger.info("refused WebSocket from a foreign origin", metadata: ["origin": "\(origin?.prefix(200) ?? "")"])
                throw HTTPError(.forbidden, message: "origin not allowed")
            }
            return .upgrade([:])
        }) { inbound, outbound, context in
            // Breaks hummingbird-websocket's context ↔ handler cycle (GatewayRequestContext).
            defer { context.requestContext.releaseWebSocketHandler() }
            let request = context.request
            var token = request.uri.queryParameters.get("token")
            if let header = request.headers[.authorization], header.hasPrefix("Bearer ") {
                token = String(header.dropFirst("Bearer ".count))
            }
            let participant: Participant
            do {
                guard let token, !token.isEmpty else { throw ChatError(.unauthorized, "token is missing") }
                participant = try await self.tokens.verify(token)
            } catch {
                let chatError = error as? ChatError ?? ChatError(.unauthorized, "invalid token")
                context.logger.info("refused connection", metadata: ["reason": "\(chatError.message)"])
                try await WebSocketSession.refuse(outbound, chatError, close: .unauthorized)
                return
            }
            let connectionID = self.configuration.gatewayID + "." + Identifier.random(10)
            var logger = context.logger
            logger[metadataKey: "conn"] = "\(connectionID)"
            // `resume=<conversationId>:<lastSeq>,...` replays before any live entry goes out.
            var resumePoints: [ClientFrame.ResumePoint] = []
            for item in (request.uri.queryParameters.get("resume") ?? "").split(separator: ",").prefix(ClientFrame.Limits.maxResumeConversations) {
                let parts = item.split(separator: ":")
                guard parts.count == 2, Identifier.isValid(String(parts[0])), let seq = Int(parts[1]), seq >= 0 else { continue }
                resumePoints.append(.init(conversationId: String(parts[0]), lastSeq: seq))
            }
            var session = WebSocketSession(
                participant: participant, connectionID: connectionID, gateway: self, channel: context.requestContext.channel, resumeOnConnect: resumePoints, logger: logger)
            session.remoteAddress = context.requestContext.remoteAddress?.ipAddress
            try await session.run(inbound: inbound, outbound: outbound)
        }
    }
}
