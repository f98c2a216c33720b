import CSCore
import CSServer
import NIOCore

extension WebSocketSession {
    /// Sends the unexpired notifications this user has not acknowledged (they were offline, or
    /// did not ack on another connection).
    func deliverPendingNotifications(_ connection: LocalConnection) async {
        do {
            let pending = try await gateway.notifications.pending(for: participant.id, role: participant.role, skills: connection.skills)
            var delivered: [String] = []
            for notification in pending where connection.sendNotification(ByteBuffer(string: notification.frame), id: notification.id) {
                delivered.append(notification.id)
            }
            for id in delivered { try await gateway.notifications.recordDelivered(notificationID: id, userIDs: [participant.id]) }
        } catch {
            logger.warning("pending notifications not delivered", metadata: ["error": "\(error)"])
        }
    }

    /// `notification.ack` / `notification.read`.
    func recordReceipt(_ id: String, read: Bool, _ connection: LocalConnection) async {
        do {
            let known = try await gateway.notifications.record(read ? "read" : "acked", notificationID: id, userID: participant.id)
            if !known { connection.send(ByteBuffer(string: ServerFrame.error(ChatError(.notFound, "no such notification"), id: id))) }
        } catch {
            connection.send(ByteBuffer(string: ServerFrame.error(ChatError(.unavailable, "temporarily unavailable; send again"), id: id)))
        }
    }
}
