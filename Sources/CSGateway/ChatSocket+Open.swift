import CSCore
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1

/// What a `/v1/ws` upgrade request carries for the session.
struct WebSocketUpgradeRequest: Sendable {
    /// From `?token=` or `Authorization: Bearer`.
    var token: String?
    /// `resume=<conversationId>:<lastSeq>,...`: replayed before any live entry goes out.
    var resumePoints: [ClientFrame.ResumePoint] = []
    /// The client's address (IPv4 or IPv6, no port), for the per-address connection limit.
    var remoteAddress: String?

    init(head: HTTPRequestHead, remoteAddress: SocketAddress?) {
        let uri = URI(head.uri)
        token = uri.queryParameters.get("token")
        if let header = head.headers.first(name: "Authorization"), header.hasPrefix("Bearer ") {
            token = String(header.dropFirst("Bearer ".count))
        }
        for item in (uri.queryParameters.get("resume") ?? "").split(separator: ",").prefix(ClientFrame.Limits.maxResumeConversations) {
            let parts = item.split(separator: ":")
            guard parts.count == 2, Identifier.isValid(String(parts[0])), let seq = Int(parts[1]), seq >= 0 else { continue }
            resumePoints.append(.init(conversationId: String(parts[0]), lastSeq: seq))
        }
        self.remoteAddress = remoteAddress?.ipAddress
    }
}

extension ChatSocket {
    /// In the HTTP server's connection task, right after the upgrade: authenticates the client,
    /// applies the connection limits, then opens the session (registration, subscription,
    /// `hello`, replays). A client that is not admitted gets an `error` frame and its close code
    /// (docs/protocol.md). Messages that came meanwhile are handled afterwards, in order.
    func open(_ upgrade: WebSocketUpgradeRequest) async {
        var session: WebSocketSession?
        var connection: LocalConnection?
        defer { opened(session, connection) }
        let participant: Participant
        do {
            guard let token = upgrade.token, !token.isEmpty else { throw ChatError(.unauthorized, "token is missing") }
            participant = try await gateway.verifiedToken(token).participant
        } catch let chatError as ChatError {
            logger.info("refused connection", metadata: ["reason": "\(chatError.message)"])
            refuse(chatError, close: .unauthorized)
            return
        } catch {
            // Redis did not answer the account check: not the client's fault; it reconnects.
            logger.warning("refused connection: account check failed", metadata: ["error": "\(error)"])
            refuse(ChatError(.unavailable, "temporarily unavailable; reconnect"), close: .goingAway)
            return
        }
        // Rate limit: new connections per client address; over it, `rate_limited` and close 4008.
        if let address = upgrade.remoteAddress, !gateway.connectionLimiter.admit(address) {
            logger.info("refused connection: too many new connections from the address", metadata: ["address": "\(address)"])
            refuse(ChatError(.rateLimited, "too many new connections; reconnect later"), close: .rateLimited)
            return
        }
        guard !gateway.drain.isDraining else {
            refuse(ChatError(.unavailable, "gateway shutting down; reconnect"), close: .goingAway)
            return
        }
        let connectionID = gateway.configuration.gatewayID + "." + Identifier.random(10)
        var logger = self.logger
        logger[metadataKey: "conn"] = "\(connectionID)"
        let opening = WebSocketSession(
            participant: participant, connectionID: connectionID, gateway: gateway, output: output,
            resumeOnConnect: upgrade.resumePoints, logger: logger)
        connection = await opening.open(refuse: refuse)
        if connection != nil { session = opening }
    }
}
