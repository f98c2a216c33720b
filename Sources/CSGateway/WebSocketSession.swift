import CSCore
import CSRedis
import CSServer
import Logging
import NIOCore

/// One authenticated WebSocket connection: what its client is, how it opens and closes, and how
/// its messages are handled (`ChatSocket` calls these in order, from short-lived tasks).
///
/// Every outgoing frame (hello, acks, errors and deliveries) goes through the connection's outbox
/// (`LocalConnection`), written on the channel's event loop, so a slow reader never blocks anyone.
struct WebSocketSession: Sendable {
    let participant: Participant
    let connectionID: String
    let gateway: GatewayContext
    /// The connection's channel: frames are written to it directly (`ChannelConnectionOutput`).
    let output: ChannelConnectionOutput
    /// Positions from the connection URL: replayed before any live entry of those conversations.
    var resumeOnConnect: [ClientFrame.ResumePoint] = []
    let logger: Logger
    // MARK: Rate limits (RateLimiter.swift)
    /// This connection's frame limit (`--rate-limit-frames-per-second`).
    let frameLimiter = ConnectionFrameLimiter()

    /// Registers the connection, subscribes its user, greets it and sends what it missed; nil
    /// (after `refuse` told the client) when it cannot be served.
    func open(refuse: (ChatError, ChatCloseCode) -> Void) async -> LocalConnection? {
        var skills: [String] = []
        if participant.role.isStaff { skills = (try? await gateway.agents.find(participant.id))?.skills ?? [] }
        let connection = LocalConnection(
            id: connectionID, participant: participant, skills: skills,
            output: output, maxQueuedBytes: gateway.configuration.maxQueuedBytes)
        for point in resumeOnConnect { connection.beginReplay(point.conversationId) }
        gateway.registry.add(connection)
        gateway.stats.connectionOpened()
        // A drain that began since the caller's check did not see this connection: end it too.
        if gateway.drain.isDraining { connection.end(.shutdown) }
        do {
            try await gateway.subscriptions.acquire(participant.id)
        } catch {
            gateway.registry.remove(connection)
            gateway.stats.connectionClosed()
            refuse(ChatError(.unavailable, "temporarily unavailable, reconnect later"), .internalError)
            return nil
        }
        connection.send(ByteBuffer(string: ServerFrame.hello(
            connectionID: connectionID, participant: participant, gatewayID: gateway.configuration.gatewayID,
            pingIntervalSeconds: gateway.configuration.pingIntervalSeconds)))
        if participant.role.isStaff {
            await staffConnected(connection)
        }
        await deliverPendingNotifications(connection)
        if !resumeOnConnect.isEmpty { await resume(resumeOnConnect, connection, fillBelowMark: false) }
        logger.info("connected", metadata: ["user": "\(participant.id)", "role": "\(participant.role.rawValue)"])
        return connection
    }

    /// The socket closed: unregisters the connection and releases what it held.
    func close(_ connection: LocalConnection) async {
        gateway.subscriptions.release(participant.id)
        gateway.registry.remove(connection)
        gateway.stats.connectionClosed()
        if participant.role.isStaff && !gateway.registry.hasConnections(of: participant.id) { await staffDisconnected() }
        logger.info("disconnected", metadata: ["user": "\(participant.id)"])
    }

    /// Handles one client message (docs/protocol.md, "Client frames").
    /// `decoded`: the frame as `ClientFrame.decode` read it already (on the event loop), if it did.
    func handle(_ text: String, decoded: Result<ClientFrame, ChatError>? = nil, _ connection: LocalConnection) async {
        // Rate limit: a frame over the connection's limit is not processed (docs/protocol.md).
        let verdict = frameLimiter.admit(gateway.configuration)
        if verdict != .accept { return refuseOverLimit(verdict, text, connection) }
        let frame: ClientFrame
        switch decoded ?? Result(catching: { () throws(ChatError) in try ClientFrame.decode(text) }) {
        case .success(let decodedFrame):
            frame = decodedFrame
        case .failure(let error):
            connection.send(ByteBuffer(string: ServerFrame.error(error, id: ClientFrame.idOfInvalidFrame(text.utf8))))
            return
        }
        switch frame {
        case .ping(let id):
            connection.send(ByteBuffer(string: ServerFrame.pong(id: id)))
        case .message(let id, let conversationID, let body, let skill):
            await accept(messageEntry(conversationID: conversationID, clientMessageID: id, body: body, skill: skill), replyID: id, connection)
        case .attachmentMessage(let id, let conversationID, let body, let attachmentID):
            await acceptAttachmentMessage(id: id, conversationID: conversationID, body: body, attachmentID: attachmentID, connection)
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
    func accept(_ entry: InboundEntry, replyID: String?, _ connection: LocalConnection) async {
        do {
            answer(.success(try await gateway.inbound.append(entry, thread: connection.thread)), for: entry, replyID: replyID, connection)
        } catch {
            answer(.failure(error), for: entry, replyID: replyID, connection)
        }
    }

    /// The `ack` of an accepted entry, or the error the client gets instead.
    func answer(_ result: Result<String, any Error>, for entry: InboundEntry, replyID: String?, _ connection: LocalConnection) {
        switch result {
        case .success(let acceptedID):
            gateway.stats.messageIn()
            if let replyID { connection.send(ByteBuffer(string: ServerFrame.ack(id: replyID, acceptedID: acceptedID))) }
        case .failure(let error as ChatError):
            connection.send(ByteBuffer(string: ServerFrame.error(error, id: replyID, conversationID: entry.conversationID.isEmpty ? nil : entry.conversationID)))
        case .failure(let error):
            logger.warning("inbound append failed", metadata: ["error": "\(error)"])
            connection.send(ByteBuffer(string: ServerFrame.error(ChatError(.unavailable, "temporarily unavailable; resend later"), id: replyID)))
        }
    }

    /// A frame over the connection's limit is answered `rate_limited` and not processed; repeated
    /// violations close the connection.
    func refuseOverLimit(_ verdict: FrameRateLimit.Verdict, _ text: String, _ connection: LocalConnection) {
        let limited = ChatError(.rateLimited, "too many frames; slow down")
        connection.send(ByteBuffer(string: ServerFrame.error(limited, id: ClientFrame.idOfInvalidFrame(text.utf8))))
        if verdict == .close {
            logger.info("closing connection: repeated rate-limit violations", metadata: ["user": "\(participant.id)"])
            connection.end(.violation(.rateLimited))
        }
    }

    /// The inbound entry of a chat message.
    func messageEntry(conversationID: String?, clientMessageID: String, body: String, skill: String?) -> InboundEntry {
        InboundEntry(
            kind: .message, userID: participant.id, role: participant.role, userName: participant.name,
            clientMessageID: clientMessageID, conversationID: conversationID ?? "", body: body, skill: skill ?? "",
            gatewayID: gateway.configuration.gatewayID, connectionID: connectionID)
    }
}
