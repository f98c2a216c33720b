import CSCore
import CSRedis
import CSServer
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// One authenticated WebSocket connection: reads and handles client frames in the connection's
/// task.
///
/// Every outgoing frame (hello, acks, errors and deliveries) goes through the connection's outbox
/// (`LocalConnection`), written on the channel's event loop: no writer task, and a slow reader
/// never blocks anyone.
struct WebSocketSession {
    let participant: Participant
    let connectionID: String
    let gateway: GatewayContext
    /// The connection's channel: frames are written to it directly (`ChannelConnectionOutput`).
    let channel: any Channel
    /// Positions from the connection URL: replayed before any live entry of those conversations.
    var resumeOnConnect: [ClientFrame.ResumePoint] = []
    let logger: Logger
    // MARK: Rate limits (RateLimiter.swift)
    /// The client's address (IPv4 or IPv6, no port), for the per-address connection limit; nil:
    /// unknown, not limited.
    var remoteAddress: String? = nil
    /// This connection's frame limit (`--rate-limit-frames-per-second`).
    let frameLimiter = ConnectionFrameLimiter()

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        // Rate limit: new connections per client address; over it, `rate_limited` and close 4008.
        if let remoteAddress, !gateway.connectionLimiter.admit(remoteAddress) {
            logger.info("refused connection: too many new connections from the address", metadata: ["address": "\(remoteAddress)"])
            try await Self.refuse(outbound, ChatError(.rateLimited, "too many new connections; reconnect later"), close: .rateLimited)
            return
        }
        guard !gateway.drain.isDraining else {
            try await Self.refuse(outbound, ChatError(.unavailable, "gateway shutting down; reconnect"), close: .goingAway)
            return
        }
        var skills: [String] = []
        if participant.role.isStaff { skills = (try? await gateway.agents.find(participant.id))?.skills ?? [] }
        let connection = LocalConnection(
            id: connectionID, participant: participant, skills: skills,
            output: ChannelConnectionOutput(channel: channel, stats: gateway.stats), maxQueuedBytes: gateway.configuration.maxQueuedBytes)
        // Pings when the client is quiet, closes a dead one (instead of a ping task per connection).
        try await WebSocketKeepalive.install(on: channel, interval: .seconds(Int64(gateway.configuration.pingIntervalSeconds)))
        for point in resumeOnConnect { connection.beginReplay(point.conversationId) }
        gateway.registry.add(connection)
        gateway.stats.connectionOpened()
        defer {
            gateway.registry.remove(connection)
            gateway.stats.connectionClosed()
        }
        do {
            try await gateway.subscriptions.acquire(participant.id)
        } catch {
            try await Self.refuse(outbound, ChatError(.unavailable, "temporarily unavailable, reconnect later"), close: .internalError)
            return
        }
        defer { gateway.subscriptions.release(participant.id) }
        connection.send(ByteBuffer(string: ServerFrame.hello(
            connectionID: connectionID, participant: participant, gatewayID: gateway.configuration.gatewayID,
            pingIntervalSeconds: gateway.configuration.pingIntervalSeconds)))
        if participant.role.isStaff {
            await staffConnected(connection)
        }
        await deliverPendingNotifications(connection)
        if !resumeOnConnect.isEmpty { await resume(resumeOnConnect, connection, fillBelowMark: false) }

        logger.info("connected", metadata: ["user": "\(participant.id)", "role": "\(participant.role.rawValue)"])

        // A protocol violation found while reading (invalid UTF-8: 1007, too large: 1009) is
        // rethrown, so that the WebSocket layer closes with its code.
        var readError: (any Error)?
        do {
            var iterator = inbound.messages(maxSize: ClientFrame.Limits.maxFrameBytes).makeAsyncIterator()
            while let message = try await iterator.next() {
                // Closed with 4009 or 1001: wait for the client's answer (or the cut), handle nothing.
                guard connection.reasonForEnd == nil else { continue }
                switch message {
                case .text(let text):
                    await handle(text, connection)
                case .binary:
                    connection.end(.violation(.unsupportedData))
                }
                if case .violation(let code) = connection.reasonForEnd {
                    try? await outbound.close(.init(codeNumber: Int(code.rawValue)), reason: nil)
                    break
                }
            }
        } catch {
            logger.debug("read ended", metadata: ["error": "\(error)"])
            readError = error
        }
        gateway.registry.remove(connection)
        if participant.role.isStaff && !gateway.registry.hasConnections(of: participant.id) { await staffDisconnected() }
        logger.info("disconnected", metadata: ["user": "\(participant.id)"])
        if let readError { throw readError }
    }

    private func handle(_ text: String, _ connection: LocalConnection) async {
        // Rate limit: a frame over the connection's limit is not processed (docs/protocol.md).
        let verdict = frameLimiter.admit(gateway.configuration)
        if verdict != .accept {
            let limited = ChatError(.rateLimited, "too many frames; slow down")
            connection.send(ByteBuffer(string: ServerFrame.error(limited, id: ClientFrame.idOfInvalidFrame(text.utf8))))
            if verdict == .close {
                logger.info("closing connection: repeated rate-limit violations", metadata: ["user": "\(participant.id)"])
                connection.end(.violation(.rateLimited))
            }
            return
        }
        let frame: ClientFrame
        do {
            frame = try ClientFrame.decode(text.utf8)
        } catch {
            connection.send(ByteBuffer(string: ServerFrame.error(error, id: ClientFrame.idOfInvalidFrame(text.utf8))))
            return
        }
        switch frame {
        case .ping(let id):
            connection.send(ByteBuffer(string: ServerFrame.pong(id: id)))
        case .message(let id, let conversationID, let body, let skill):
            let entry = InboundEntry(
                kind: .message, userID: participant.id, role: participant.role, userName: participant.name,
                clientMessageID: id, conversationID: conversationID ?? "", body: body, skill: skill ?? "",
                gatewayID: gateway.configuration.gatewayID, connectionID: connectionID)
            await accept(entry, replyID: id, connection)
        case .close(let id, let conversationID):
            let entry = InboundEntry(
                kind: .close, userID: participant.id, role: participant.role, userName: participant.name,
                clientMessageID: id ?? "", conversationID: conversationID ?? "",
                gatewayID: gateway.configuration.gatewayID, connectionID: connectionID)
            await accept(entry, replyID: id, connection)
        case .resume(let points):
            await resume(points, connection, fillBelowMark: true)
        case .typing(let conversationID):
            await typing(in: conversationID, connection)
        case .read(let conversationID, let seq):
            var entry = InboundEntry(
                kind: .read, userID: participant.id, role: participant.role, userName: participant.name,
                conversationID: conversationID, gatewayID: gateway.configuration.gatewayID, connectionID: connectionID)
            entry.seq = seq
            await accept(entry, replyID: nil, connection)
        case .notificationReceipt(let id, let read):
            await recordReceipt(id, read: read, connection)
        case .presence(let status):
            await setPresence(status, connection)
        case .transfer(let id, let conversationID, let toAgent, let toSkill, let note):
            guard participant.role.isStaff else {
                connection.send(ByteBuffer(string: ServerFrame.error(ChatError(.forbidden, "only agents transfer"), id: id)))
                return
            }
            var entry = InboundEntry(
                kind: .transfer, userID: participant.id, role: participant.role, userName: participant.name,
                clientMessageID: id ?? "", conversationID: conversationID,
                gatewayID: gateway.configuration.gatewayID, connectionID: connectionID)
            entry.targetAgent = toAgent ?? ""
            entry.targetSkill = toSkill ?? ""
            entry.note = note ?? ""
            await accept(entry, replyID: id, connection)
        case .rate(let id, let conversationID, let score, let comment):
            guard participant.role == .customer else {
                connection.send(ByteBuffer(string: ServerFrame.error(ChatError(.forbidden, "only the customer rates a conversation"), id: id)))
                return
            }
            var entry = InboundEntry(
                kind: .rate, userID: participant.id, role: participant.role, userName: participant.name,
                clientMessageID: id, conversationID: conversationID,
                gatewayID: gateway.configuration.gatewayID, connectionID: connectionID)
            entry.score = score
            entry.comment = comment ?? ""
            await accept(entry, replyID: id, connection)
        }
    }

    /// Appends the entry to its partition's inbound stream, then acks.
    private func accept(_ entry: InboundEntry, replyID: String?, _ connection: LocalConnection) async {
        do {
            let acceptedID = try await gateway.inbound.append(entry)
            gateway.stats.messageIn()
            if let replyID { connection.send(ByteBuffer(string: ServerFrame.ack(id: replyID, acceptedID: acceptedID))) }
        } catch let error as ChatError {
            connection.send(ByteBuffer(string: ServerFrame.error(error, id: replyID, conversationID: entry.conversationID.isEmpty ? nil : entry.conversationID)))
        } catch {
            logger.warning("inbound append failed", metadata: ["error": "\(error)"])
            connection.send(ByteBuffer(string: ServerFrame.error(ChatError(.unavailable, "temporarily unavailable; resend later"), id: replyID)))
        }
    }

    /// Tells an unauthenticated or unserved client why, then closes.
    static func refuse(_ outbound: WebSocketOutboundWriter, _ error: ChatError, close code: ChatCloseCode) async throws {
        try await outbound.write(.text(ServerFrame.error(error)))
        try await outbound.close(.init(codeNumber: Int(code.rawValue)), reason: error.message)
    }
}
