import CSCore
import CSRedis
import CSServer
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket

/// One authenticated WebSocket connection: reads client frames, writes queued frames.
///
/// Reading and writing run as two child tasks; every outgoing frame (hello, acks, errors and
/// deliveries) goes through the connection's bounded queue, so a slow reader never blocks anyone.
struct WebSocketSession {
    let participant: Participant
    let connectionID: String
    let gateway: GatewayContext
    /// Positions from the connection URL: replayed before any live entry of those conversations.
    var resumeOnConnect: [ClientFrame.ResumePoint] = []
    let logger: Logger

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let (frames, sink) = AsyncStream.makeStream(of: ByteBuffer.self, bufferingPolicy: .bufferingOldest(gateway.configuration.maxQueuedFrames))
        var skills: [String] = []
        if participant.role.isStaff { skills = (try? await gateway.agents.find(participant.id))?.skills ?? [] }
        let connection = LocalConnection(id: connectionID, participant: participant, skills: skills, frames: sink)
        for point in resumeOnConnect { connection.beginReplay(point.conversationId) }
        gateway.registry.add(connection)
        defer { gateway.registry.remove(connection) }
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
        // rethrown after the writer stopped, so that the WebSocket layer closes with its code.
        let readError: (any Error)? = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in frames {
                    do {
                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame)))
                    } catch { break }
                }
                // The queue ended: either the reader finished, or the connection is being ended.
                switch connection.reasonForEnd {
                case .slowConsumer: try? await outbound.close(.init(codeNumber: Int(ChatCloseCode.slowConsumer.rawValue)), reason: "send buffer full")
                case .shutdown: try? await outbound.close(.goingAway, reason: "gateway shutting down")
                case .violation(let code): try? await outbound.close(.init(codeNumber: Int(code.rawValue)), reason: nil)
                case nil: break
                }
            }
            var failure: (any Error)?
            do {
                var iterator = inbound.messages(maxSize: ClientFrame.Limits.maxFrameBytes).makeAsyncIterator()
                while let message = try await iterator.next() {
                    switch message {
                    case .text(let text):
                        await handle(text, connection)
                    case .binary:
                        connection.end(.violation(.unsupportedData))
                    }
                    if connection.reasonForEnd != nil { break }
                }
            } catch {
                logger.debug("read ended", metadata: ["error": "\(error)"])
                failure = error
            }
            sink.finish()
            await group.waitForAll()
            return failure
        }
        gateway.registry.remove(connection)
        if participant.role.isStaff && !gateway.registry.hasConnections(of: participant.id) { await staffDisconnected() }
        logger.info("disconnected", metadata: ["user": "\(participant.id)"])
        if let readError { throw readError }
    }

    private func handle(_ text: String, _ connection: LocalConnection) async {
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
