import NIOCore

extension RedisSubscriber {
    /// Subscribes to channels. Returns once Redis confirmed; if currently disconnected, once recorded
    /// (the subscription is then made on the next connect, before `.connected` is emitted).
    /// - Throws: ``RedisError/Code/serverError`` if Redis rejects it (e.g. `NOPERM`; nothing is recorded),
    ///   ``RedisError/Code/clientClosed`` after ``close()``.
    public func subscribe(_ channels: [String]) async throws {
        try await self.change(.subscribe, channels)
    }

    /// Unsubscribes from channels (no more messages for them once this returns, unless disconnected,
    /// in which case they are simply not resubscribed).
    public func unsubscribe(_ channels: [String]) async throws {
        try await self.change(.unsubscribe, channels)
    }

    /// Subscribes to glob-style patterns (`conv:*`); matching messages arrive as `.pmessage`.
    public func psubscribe(_ patterns: [String]) async throws {
        try await self.change(.psubscribe, patterns)
    }

    /// Unsubscribes from patterns.
    public func punsubscribe(_ patterns: [String]) async throws {
        try await self.change(.punsubscribe, patterns)
    }

    /// The channels currently wanted (subscribed, or to be subscribed on reconnect).
    public var subscribedChannels: Set<String> {
        self.state.withLockedValue { $0.channels }
    }

    /// The patterns currently wanted.
    public var subscribedPatterns: Set<String> {
        self.state.withLockedValue { $0.patterns }
    }

    enum Change: String {
        case subscribe = "SUBSCRIBE", unsubscribe = "UNSUBSCRIBE", psubscribe = "PSUBSCRIBE", punsubscribe = "PUNSUBSCRIBE"
    }

    /// Redis accepts any number of names per command; keep commands and their replies moderate.
    static let namesPerCommand = 500

    private func change(_ change: Change, _ names: [String]) async throws {
        let names = Array(Set(names))
        guard !names.isEmpty else { return }
        // Record and write under the lock, so the wire order matches the order of the recorded
        // changes (and of the resubscribe done by `run()`).
        let (futures, added) = try self.state.withLockedValue { state -> ([EventLoopFuture<Void>], [String]) in
            guard !state.closed else { throw Self.closedError }
            var added: [String] = []
            switch change {
            case .subscribe:
                added = names.filter { state.channels.insert($0).inserted }
            case .psubscribe:
                added = names.filter { state.patterns.insert($0).inserted }
            case .unsubscribe:
                state.channels.subtract(names)
            case .punsubscribe:
                state.patterns.subtract(names)
            }
            guard let connection = state.connection else { return ([], added) }
            return (Self.commands(change, names).map { connection.send($0, expectedReplies: $0.count - 1) }, added)
        }
        do {
            for future in futures { try await future.get() }
        } catch let error as RedisError where error.code == .serverError {
            self.state.withLockedValue { state in
                switch change {
                case .subscribe: state.channels.subtract(added)
                case .psubscribe: state.patterns.subtract(added)
                case .unsubscribe, .punsubscribe: break
                }
            }
            throw error
        } catch {
            // The connection dropped: the change is recorded and `run()` applies it on reconnect.
            if self.state.withLockedValue({ $0.closed }) { throw Self.closedError }
        }
    }

    /// `change` commands covering `names`, at most ``namesPerCommand`` names each.
    static func commands(_ change: Change, _ names: [String]) -> [[RedisArgument]] {
        stride(from: 0, to: names.count, by: Self.namesPerCommand).map { start in
            [RedisArgument(change.rawValue)] + names[start..<min(start + Self.namesPerCommand, names.count)].map { RedisArgument($0) }
        }
    }
}
