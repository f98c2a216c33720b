import CSCore
import NIOCore

extension LocalConnection {
    private enum OutboxStep {
        case none
        case scheduleFlush
        case overflow
    }

    /// Changes the state under the lock (mostly: queues frames), then schedules a flush if the
    /// outbox was empty, or ends a slow consumer. Once the connection is ending nothing is queued.
    func enqueue(_ change: (inout State) -> Void) {
        let step = state.withLock { state -> OutboxStep in
            guard state.endReason == nil else { return .none }
            change(&state)
            if state.outboxBytes > maxQueuedBytes { return .overflow }
            guard !state.outbox.isEmpty, !state.flushScheduled else { return .none }
            state.flushScheduled = true
            return .scheduleFlush
        }
        switch step {
        case .none: break
        case .scheduleFlush: output.schedule { self.flush() }
        case .overflow: end(.slowConsumer)
        }
    }

    /// On the output's thread: writes everything queued so far, with one flush. More than
    /// `maxQueuedBytes` still not taken by the kernel afterwards makes a slow consumer.
    private func flush() {
        let frames = state.withLock { state -> [ByteBuffer] in
            state.flushScheduled = false
            // A slow consumer gets no more of its backlog, only the close.
            guard state.endReason != .slowConsumer else { return [] }
            let frames = state.outbox
            state.outbox = []
            state.outboxBytes = 0
            return frames
        }
        guard !frames.isEmpty else { return }
        if output.write(frames) > maxQueuedBytes { end(.slowConsumer) }
    }

    /// Ends the connection, once; later calls do nothing.
    ///
    /// - `slowConsumer`: the backlog is dropped; close 4009, and the socket is cut
    ///   `slowConsumerGrace` later (a client that does not read never takes the close frame).
    /// - `shutdown`: what is queued goes out, then close 1001.
    /// - `violation`: what is queued goes out, then the close with the violation's code.
    ///
    /// After a 1001 or a violation the client has `ChatWebSocketHandler.closeHandshakeTimeout` to
    /// answer the close before the socket is cut; its messages are no longer handled.
    func end(_ reason: EndReason) {
        let first = state.withLock { state -> Bool in
            guard state.endReason == nil else { return false }
            state.endReason = reason
            if reason == .slowConsumer {
                state.outbox = []
                state.outboxBytes = 0
            }
            return true
        }
        guard first else { return }
        switch reason {
        case .slowConsumer:
            output.schedule { self.output.close(code: .slowConsumer, reason: "send buffer full", cutAfter: Self.slowConsumerGrace) }
        case .shutdown:
            output.schedule {
                self.flush()
                self.output.close(code: .goingAway, reason: "gateway shutting down", cutAfter: ChatWebSocketHandler.closeHandshakeTimeout)
            }
        case .violation(let code):
            output.schedule {
                self.flush()
                self.output.close(code: code, reason: "", cutAfter: ChatWebSocketHandler.closeHandshakeTimeout)
            }
        }
    }
}
