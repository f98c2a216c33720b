import Foundation

/// A chat participant that keeps talking across gateway restarts, the way docs/protocol.md asks
/// a client to behave: when its connection ends it reconnects at once to another gateway with
/// the `resume` URL parameter (the highest `seq` it has of each conversation it follows), then
/// sends again, with the same ids, every message that has no `ack` yet (a gateway answers a
/// retried id with the original `ack` and accepts nothing twice).
///
/// Every connection it had stays in ``connections``, so a test can check what the participant
/// saw across all of them.
public final class ReconnectingChatter: @unchecked Sendable, CustomStringConvertible {
    public struct Sent: Sendable {
        public let id: String
        public let body: String
        public let conversationID: String?
    }

    /// A connection that ended and the gateway the chatter went to next.
    public struct Reconnect: Sendable {
        public let closed: CloseInfo
        public let from: String
        public let to: String
        /// Messages sent again on the new connection (they had no `ack` when the old one ended).
        public let resent: [String]
    }

    public let label: String
    public let token: String
    let scope: ChatClientScope
    private let lock = NSLock()
    private var _connections: [(client: ChatClient, url: String)] = []
    private var _sent: [Sent] = []
    private var _conversations: [String] = []
    private var _reconnects: [Reconnect] = []

    public init(label: String, token: String, scope: ChatClientScope) {
        self.label = label
        self.token = token
        self.scope = scope
    }

    public var description: String { "ReconnectingChatter(\(label))" }

    /// Every connection so far, oldest first.
    public var connections: [ChatClient] { lock.withLock { _connections.map(\.client) } }
    /// The newest connection (open or not).
    public var current: ChatClient? { lock.withLock { _connections.last?.client } }
    /// The gateway URL of the newest connection.
    public var currentURL: String? { lock.withLock { _connections.last?.url } }
    public var reconnects: [Reconnect] { lock.withLock { _reconnects } }
    public var sent: [Sent] { lock.withLock { _sent } }

    /// Every frame received on every connection, in connection order.
    public var frames: [ReceivedFrame] { connections.flatMap(\.received) }

    /// Conversations resumed on reconnect.
    public func follow(_ conversationID: String) {
        lock.withLock { if !_conversations.contains(conversationID) { _conversations.append(conversationID) } }
    }

    /// The highest `seq` received of `conversationID` on any connection (0 when none).
    public func lastSeq(_ conversationID: String) -> Int {
        frames.filter { $0.string("conversationId") == conversationID && $0.type != "read" }.compactMap { $0.int("seq") }.max() ?? 0
    }

    /// Ids of every `ack` received, on any connection.
    public var ackedIDs: Set<String> { Set(frames.filter { $0.type == "ack" }.compactMap { $0.string("id") }) }

    /// Ids of the messages sent to `conversationID` (nil: those sent without one), in order.
    public func sentIDs(conversationID: String?) -> [String] {
        sent.filter { $0.conversationID == conversationID }.map(\.id)
    }

    /// Opens a connection to `webSocketURL` (with `resume` for the followed conversations when
    /// this is not the first one) and waits for `hello`.
    @discardableResult
    public func connect(_ webSocketURL: String) async throws -> ChatClient {
        let (isFirst, conversations, number) = lock.withLock { (_connections.isEmpty, _conversations, _connections.count + 1) }
        var url = webSocketURL
        if !isFirst && !conversations.isEmpty {
            url += "?resume=" + conversations.map { "\($0):\(lastSeq($0))" }.joined(separator: ",")
        }
        let client = try await scope.connect(url, token: token, label: "\(label)#\(number)")
        try await client.hello()
        lock.withLock { _connections.append((client, webSocketURL)) }
        return client
    }

    /// Reconnects when the current connection has ended: to the first of `gateways()` that is
    /// not the one that closed it (or to any, when there is no other), retrying for up to
    /// `timeout`; then sends again every message without an `ack`, in order.
    public func ensureConnected(_ gateways: @Sendable () -> [String], timeout: Duration = .seconds(30)) async throws {
        guard let current, let closedURL = currentURL, !current.isOpen else { return }
        let closed = try await current.waitForClose(timeout: .seconds(10))
        let deadline = ContinuousClock.now + timeout
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            let all = gateways()
            guard let target = all.first(where: { $0 != closedURL }) ?? all.first else {
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            do {
                let client = try await connect(target)
                let acked = ackedIDs
                let missing = sent.filter { !acked.contains($0.id) }
                lock.withLock { _reconnects.append(Reconnect(closed: closed, from: closedURL, to: target, resent: missing.map(\.id))) }
                for message in missing {
                    try await client.sendMessage(id: message.id, body: message.body, conversationID: message.conversationID)
                }
                return
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        throw lastError ?? ChatClientError.notConnected(client: label)
    }

    /// Sends a chat message (reconnecting first if needed). A send that fails because the
    /// connection just ended is repeated by the reconnect.
    public func send(id: String, body: String, conversationID: String? = nil, gateways: @Sendable () -> [String]) async throws {
        try await ensureConnected(gateways)
        lock.withLock { _sent.append(Sent(id: id, body: body, conversationID: conversationID)) }
        guard let client = current else { throw ChatClientError.notConnected(client: label) }
        do {
            try await client.sendMessage(id: id, body: body, conversationID: conversationID)
        } catch {
            try await ensureConnected(gateways)
        }
    }

    /// Waits until every sent message has its `ack` (reconnecting, and sending the missing ones
    /// again once, if needed).
    public func waitForAllAcks(_ gateways: @Sendable () -> [String], timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        var resent = false
        while true {
            try await ensureConnected(gateways)
            let acked = ackedIDs
            let missing = sent.filter { !acked.contains($0.id) }
            if missing.isEmpty { return }
            if ContinuousClock.now >= deadline {
                throw ChatClientError.timedOut(
                    client: label, waitingFor: "acks of \(missing.prefix(5).map(\.id)) (\(missing.count) missing)", limit: timeout,
                    pending: [], recent: Array(frames.suffix(5)), received: frames.count)
            }
            if !resent && ContinuousClock.now >= deadline - timeout / 2, let client = current {
                resent = true
                for message in missing {
                    try? await client.sendMessage(id: message.id, body: message.body, conversationID: message.conversationID)
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
