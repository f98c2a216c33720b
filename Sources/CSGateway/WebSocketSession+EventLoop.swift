import CSCore
import NIOCore

extension WebSocketSession {
    /// What `handleOnEventLoop` did with a client frame.
    enum InlineOutcome {
        /// The frame's Redis command is on its way; `finished` runs once its answer is queued.
        case started
        /// Not a chat message (or not a valid frame): it was decoded, nothing else was done (not
        /// even the rate limit); the pool handles it.
        case needsPool(Result<ClientFrame, ChatError>)
        /// A chat message, counted against the limit and checked, that Redis could not take without
        /// waiting for a connection: the pool appends it.
        case needsTask(InboundEntry, replyID: String)
        /// Answered already (over the limit, or refused before Redis).
        case answered
    }

    /// On the socket's event loop, when nothing of this socket is waiting or being handled: a chat
    /// message is appended with no task, the `ack` queued from Redis' event loop. This saves the
    /// session pool's thread hops on the most common frame; the answer and the order are the same
    /// as through `handle` (one frame of a socket at a time, `finished` ends this one).
    func handleOnEventLoop(_ text: String, _ connection: LocalConnection, finished: @escaping @Sendable () -> Void) -> InlineOutcome {
        // Decoding has no side effect: anything but a valid message goes to the pool as decoded.
        let decoded = Result { () throws(ChatError) in try ClientFrame.decode(text) }
        guard case .success(.message(let id, let conversationID, let body, let skill)) = decoded else { return .needsPool(decoded) }
        let verdict = frameLimiter.admit(gateway.configuration)
        if verdict != .accept {
            refuseOverLimit(verdict, text, connection)
            return .answered
        }
        let entry = messageEntry(conversationID: conversationID, clientMessageID: id, body: body, skill: skill)
        let sent: EventLoopFuture<String>?
        do {
            sent = try gateway.inbound.appendNow(entry)
        } catch {
            answer(.failure(error), for: entry, replyID: id, connection)
            return .answered
        }
        guard let sent else { return .needsTask(entry, replyID: id) }
        sent.whenComplete { result in
            answer(result.mapError { $0 }, for: entry, replyID: id, connection)
            finished()
        }
        return .started
    }
}
