import CSCore
import CSServer
import NIOCore

extension WebSocketSession {
    /// Replays what the client missed, conversation by conversation, then lets live entries
    /// (held back meanwhile) through without duplicates.
    ///
    /// - Parameter fillBelowMark: for a `resume` frame sent mid-connection, entries below the
    ///   highest seq already delivered live are sent too (they may be the gap the client saw).
    func resume(_ points: [ClientFrame.ResumePoint], _ connection: LocalConnection, fillBelowMark: Bool) async {
        for point in points {
            let id = point.conversationId
            do {
                guard let conversation = try await gateway.views.conversation(id),
                    ConversationRules.canRead(userID: participant.id, role: participant.role, conversation)
                else {
                    logger.warning("forbidden resume", metadata: ["user": "\(participant.id)", "conversation": "\(id)"])
                    // A resume point from the connection URL was held since `open`: let go of it,
                    // or live entries of this conversation (published to this user, so theirs,
                    // e.g. once it is assigned back) would be held for the rest of the connection.
                    connection.endReplay(id)
                    connection.send(ByteBuffer(string: ServerFrame.error(ChatError(.forbidden, "not your conversation"), conversationID: id)))
                    continue
                }
                connection.beginReplay(id)
                var after = point.lastSeq
                var first = true
                while true {
                    let page = try await gateway.views.entries(of: id, after: after, limit: 500)
                    if first, let earliest = page.first?.seq, earliest > after + 1 {
                        connection.send(ByteBuffer(string: ServerFrame.resumeGap(conversationID: id, firstAvailableSeq: earliest)))
                    }
                    first = false
                    for entry in page {
                        connection.sendReplayed(ByteBuffer(string: entry.frame), conversationID: id, seq: entry.seq, belowMark: fillBelowMark)
                    }
                    guard let last = page.last, page.count == 500 else { break }
                    after = last.seq
                }
                let lastSeq = connection.endReplay(id)
                connection.send(ByteBuffer(string: ServerFrame.resumed(conversationID: id, lastSeq: max(lastSeq, point.lastSeq))))
            } catch {
                connection.endReplay(id)
                logger.warning("resume failed", metadata: ["error": "\(error)"])
                connection.send(ByteBuffer(string: ServerFrame.error(ChatError(.unavailable, "temporarily unavailable; resume again"), conversationID: id)))
            }
        }
    }
}
