import CSCore
import CSRedis
import CSServer
import NIOCore

extension WebSocketSession {
    /// An agent or supervisor connected: mark them present (keeping `away`), ring the drain
    /// doorbell so waiting customers reach them at once, and send their view.
    func staffConnected(_ connection: LocalConnection) async {
        do {
            let status = try await gateway.routing.setPresence(
                agentID: participant.id, "connect", ttlMilliseconds: gateway.configuration.presenceTTLMilliseconds)
            if status == "online" { try await gateway.routing.wakeDrainer() }
            connection.send(ByteBuffer(string: try await gateway.views.conversations(for: participant)))
        } catch {
            logger.warning("agent view failed", metadata: ["error": "\(error)"])
        }
    }

    /// The agent's last connection here dropped: the grace period starts now (a connection on
    /// another gateway restores the presence at that gateway's next heartbeat).
    func staffDisconnected() async {
        do {
            try await gateway.routing.setPresence(
                agentID: participant.id, "disconnect", ttlMilliseconds: gateway.configuration.presenceTTLMilliseconds)
        } catch {
            logger.warning("presence not updated on disconnect; it lapses by itself", metadata: ["error": "\(error)"])
        }
    }

    func setPresence(_ status: ClientFrame.PresenceStatus, _ connection: LocalConnection) async {
        guard participant.role.isStaff else {
            connection.send(ByteBuffer(string: ServerFrame.error(ChatError(.forbidden, "only agents set presence"))))
            return
        }
        do {
            let now = try await gateway.routing.setPresence(
                agentID: participant.id, status.rawValue, ttlMilliseconds: gateway.configuration.presenceTTLMilliseconds)
            // Online gives capacity to the queue; offline gives conversations back (the drainer requeues them).
            try await gateway.routing.wakeDrainer()
            connection.send(ByteBuffer(string: ServerFrame.presence(now)))
            logger.info("presence", metadata: ["user": "\(participant.id)", "status": "\(now)"])
        } catch {
            connection.send(ByteBuffer(string: ServerFrame.error(ChatError(.unavailable, "temporarily unavailable; try again"))))
        }
    }

    /// Forwards `typing` to the conversation's other participants (ephemeral, rate-limited).
    func typing(in conversationID: String, _ connection: LocalConnection) async {
        guard connection.allowTyping(conversationID) else { return }
        do {
            guard let conversation = try await gateway.views.cachedConversation(conversationID),
                ConversationRules.canRead(userID: participant.id, role: participant.role, conversation)
            else {
                connection.send(ByteBuffer(string: ServerFrame.error(ChatError(.forbidden, "not your conversation"), conversationID: conversationID)))
                return
            }
            let frame = ServerFrame.typing(conversationID: conversationID, from: participant)
            let others = conversation.recipients.filter { $0 != participant.id }
            guard !others.isEmpty else { return }
            try await gateway.redis.pipeline(others.map { ["PUBLISH", .init(RedisKeys.userChannel($0)), .init(frame)] }).checked()
        } catch {
            logger.debug("typing not forwarded", metadata: ["error": "\(error)"])
        }
    }
}
