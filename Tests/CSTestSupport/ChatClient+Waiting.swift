import Foundation

extension ChatClient {
    // MARK: Receiving

    /// Every frame received so far, in order (consumed or not).
    public var received: [ReceivedFrame] { inbox.read { $0.log } }

    /// Frames received so far with `type`.
    public func received(type: String) -> [ReceivedFrame] { inbox.read { $0.log.filter { $0.type == type } } }

    /// How many frames with `type` were received so far (cheap).
    public func receivedCount(type: String) -> Int { inbox.read { $0.countsByType[type] ?? 0 } }

    /// Frames not consumed yet.
    public var pending: [ReceivedFrame] { inbox.read { $0.pending } }

    /// How the connection ended, nil while it is open.
    public var closeInfo: CloseInfo? { ended.value }

    public var isOpen: Bool { ready.value == true && ended.value == nil }

    /// Waits until `attempt` returns a value; fails fast when the connection ends first.
    public func waitUntil<R: Sendable>(
        _ what: String,
        timeout: Duration,
        _ attempt: @escaping @Sendable (inout FrameInboxView) -> R?
    ) async throws -> R {
        let inbox = self.inbox
        let label = self.label
        do {
            return try await TimeLimit.run(timeout, what) {
                while true {
                    let (result, version, ended, recent): (R?, UInt64, CloseInfo?, [ReceivedFrame]) = inbox.read { state in
                        var view = FrameInboxView(state: state)
                        let result = attempt(&view)
                        state.pending = view.pending
                        return (result, state.version, state.ended, Array(state.log.suffix(10)))
                    }
                    if let result { return result }
                    if let ended {
                        throw ChatClientError.connectionEnded(client: label, waitingFor: what, ended, recent: recent)
                    }
                    try await inbox.changed(after: version)
                }
            }
        } catch is TimeLimitExceeded {
            throw timedOut(what, timeout)
        }
    }

    /// Consumes the next frame.
    public func next(timeout: Duration = .seconds(30)) async throws -> ReceivedFrame {
        try await waitUntil("the next frame", timeout: timeout) { view in
            view.pending.isEmpty ? nil : view.pending.removeFirst()
        }
    }

    /// Consumes the first unconsumed frame with `type` that satisfies `predicate`; other frames
    /// stay queued.
    public func waitFor(
        type: String,
        timeout: Duration = .seconds(30),
        where predicate: @escaping @Sendable (ReceivedFrame) -> Bool = { _ in true }
    ) async throws -> ReceivedFrame {
        try await waitUntil("a \(type) frame", timeout: timeout) { view in
            guard let index = view.pending.firstIndex(where: { $0.type == type && predicate($0) }) else { return nil }
            return view.pending.remove(at: index)
        }
    }

    /// Consumes the first `count` unconsumed frames with `type` (and `predicate`), in order.
    public func collect(
        count: Int,
        type: String,
        timeout: Duration = .seconds(60),
        where predicate: @escaping @Sendable (ReceivedFrame) -> Bool = { _ in true }
    ) async throws -> [ReceivedFrame] {
        try await waitUntil("\(count) \(type) frames", timeout: timeout) { view in
            var indices: [Int] = []
            for (index, frame) in view.pending.enumerated() where frame.type == type && predicate(frame) {
                indices.append(index)
                if indices.count == count { break }
            }
            guard indices.count == count else { return nil }
            let frames = indices.map { view.pending[$0] }
            for index in indices.reversed() { view.pending.remove(at: index) }
            return frames
        }
    }

    /// Waits until at least `count` frames with `type` were received (consumed or not).
    public func waitForReceivedCount(_ count: Int, type: String, timeout: Duration = .seconds(60)) async throws {
        _ = try await waitUntil("\(count) \(type) frames in total", timeout: timeout) { view in
            view.countsByType[type, default: 0] >= count ? true : nil
        }
    }

    /// Waits for the first `hello`.
    @discardableResult
    public func hello(timeout: Duration = .seconds(30)) async throws -> ReceivedFrame {
        try await waitFor(type: "hello", timeout: timeout)
    }

    /// Waits until the connection ends (server close, or failure) and returns how.
    public func waitForClose(timeout: Duration = .seconds(30)) async throws -> CloseInfo {
        let ended = self.ended
        do {
            return try await TimeLimit.run(timeout, "the connection to close") { try await ended.wait() }
        } catch is TimeLimitExceeded {
            throw timedOut("the server to close", timeout)
        }
    }

    private func timedOut(_ what: String, _ limit: Duration) -> ChatClientError {
        let (pending, recent, total) = inbox.read { ($0.pending, Array($0.log.suffix(5)), $0.log.count) }
        return ChatClientError.timedOut(client: label, waitingFor: what, limit: limit, pending: pending, recent: recent, received: total)
    }

    /// Closes with 1000 and waits for the close handshake; aborts the connection when the
    /// server does not answer within `timeout`.
    public func close(timeout: Duration = .seconds(10)) async {
        if ended.value != nil { return }
        if let writer = writer.value {
            try? await writer.close(.normalClosure, reason: nil)
            let ended = self.ended
            if (try? await TimeLimit.run(timeout, "close handshake", operation: { try await ended.wait() })) != nil {
                return
            }
        }
        abort()
    }

    /// Drops the connection at once (the connection task is cancelled).
    public func abort() {
        abortRequested.fulfill(true)
    }
}

/// What `ChatClient.waitUntil` attempts see: the consumable queue and totals.
public struct FrameInboxView {
    public var pending: [ReceivedFrame]
    public let countsByType: [String: Int]
    public let log: [ReceivedFrame]

    init(state: FrameInbox.State) {
        self.pending = state.pending
        self.countsByType = state.countsByType
        self.log = state.log
    }
}
