import CSCore
import CSTestSupport
import Foundation
import Testing

/// A customer for the fault tests (EndToEnd+Faults*.swift) on a ``LightWebSocket``: sends
/// messages one at a time and resends one until it has its `ack`; when its connection ends it
/// reconnects (to whichever gateway `port()` names) with the `resume` URL parameter naming its
/// conversation and the highest seq it has seen. Everything received on every connection is
/// kept, in order, for the checks.
final class FaultCustomer: @unchecked Sendable {
    struct Numbered: Sendable {
        let conversationID: String
        let seq: Int
        let type: String
        let id: String?
        let role: String?
    }

    let label: String
    let token: String
    private let lock = NSLock()
    private var connections: [LightWebSocket] = []
    private var scanned: (connection: Int, text: Int) = (0, 0)
    private var _sent: [String] = []
    private var _acked: [String] = []
    private var ackedSet: Set<String> = []
    private var _numbered: [Numbered] = []
    private var _errors: [JSONValue] = []
    private var _conversationID: String?
    private var _hellos = 0
    private var _resumed = 0
    private var _reconnects: [String] = []

    init(label: String, token: String) {
        self.label = label
        self.token = token
    }

    var acked: [String] { lock.withLock { _acked } }
    /// Ids of the messages sent, in order (each once, however often it was resent).
    var sent: [String] { lock.withLock { _sent } }
    /// The ids sent in `conversationID` (agents name it on every message).
    func sent(in conversationID: String) -> [String] { lock.withLock { _sentIn[conversationID] ?? [] } }
    private var _sentIn: [String: [String]] = [:]
    var numbered: [Numbered] { lock.withLock { _numbered } }
    var errors: [JSONValue] { lock.withLock { _errors } }
    var conversationID: String? { lock.withLock { _conversationID } }
    var lastSeq: Int { lock.withLock { _numbered.map(\.seq).max() ?? 0 } }
    var reconnects: [String] { lock.withLock { _reconnects } }
    var current: LightWebSocket? { lock.withLock { connections.last } }
    func isAcked(_ id: String) -> Bool { lock.withLock { ackedSet.contains(id) } }

    /// Reads what arrived since the last call into the derived state.
    func refresh() {
        lock.withLock {
            while scanned.connection < connections.count {
                let connection = connections[scanned.connection]
                let texts = connection.texts(from: scanned.text)
                for text in texts { absorb(text) }
                scanned.text += texts.count
                // An ended connection gets nothing more: move on once it is drained.
                guard connection.ended, scanned.connection < connections.count - 1, connection.textCount == scanned.text else { break }
                scanned = (scanned.connection + 1, 0)
            }
        }
    }

    private func absorb(_ text: String) {
        guard let json = JSONValue.parse(text), let type = json["type"]?.stringValue else { return }
        switch type {
        case "hello": _hellos += 1
        case "resumed": _resumed += 1
        case "ack":
            if let id = json["id"]?.stringValue, ackedSet.insert(id).inserted { _acked.append(id) }
        case "error": _errors.append(json)
        default: break
        }
        if let seq = json["seq"]?.intValue, let conversation = json["conversationId"]?.stringValue {
            if _conversationID == nil { _conversationID = conversation }
            _numbered.append(Numbered(conversationID: conversation, seq: seq, type: type, id: json["id"]?.stringValue, role: json["from"]?["role"]?.stringValue))
        }
    }

    /// The current connection, or a new one on `port` (with `resume` when the conversation is
    /// known) once `hello` (and `resumed`) arrived.
    func ensureConnected(port: Int) async throws -> LightWebSocket {
        if let current, !current.ended { return current }
        refresh()
        let (conversation, seq, hellosBefore, resumedBefore, reconnecting) = lock.withLock {
            (_conversationID, _numbered.map(\.seq).max() ?? 0, _hellos, _resumed, !connections.isEmpty)
        }
        var path = "/v1/ws?token=" + (token.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? token)
        if let conversation { path += "&resume=\(conversation):\(seq)" }
        let socket = try await LightWebSocket.connect(port: port, path: path, label: label)
        lock.withLock {
            connections.append(socket)
            if reconnecting { _reconnects.append("port \(port), resume \(conversation ?? "-"):\(seq)") }
        }
        let ready = await socket.waitUntil(timeout: .seconds(30)) { _ in
            self.refresh()
            return self.lock.withLock { self._hellos > hellosBefore && (conversation == nil || self._resumed > resumedBefore) }
        }
        guard ready else { throw LightWebSocketError.handshakeFailed(label: label, detail: "no hello/resumed within 30 s on port \(port)") }
        return socket
    }

    /// Sends message `id` and resends it (same id) on the connection `port()` leads to until it
    /// is acked. `unavailable` errors wait `retryDelay` and resend.
    func sendUntilAcked(
        _ id: String, body: String, conversationID: String? = nil, port: @Sendable () -> Int,
        retryDelay: Duration = .milliseconds(500), deadline: Duration = .seconds(120)
    ) async throws {
        lock.withLock {
            _sent.append(id)
            if let conversationID { _sentIn[conversationID, default: []].append(id) }
        }
        let end = ContinuousClock.now + deadline
        let conversationField = conversationID.map { #","conversationId":"\#($0)""# } ?? ""
        let frame = #"{"type":"message","id":"\#(id)"\#(conversationField),"body":"\#(body)"}"#
        while !isAcked(id) {
            guard ContinuousClock.now < end else {
                throw LightWebSocketError.notConnected(label: "\(label): no ack for \(id) within \(deadline)")
            }
            let socket: LightWebSocket
            do {
                socket = try await ensureConnected(port: port())
            } catch {
                try await Task.sleep(for: retryDelay)
                continue
            }
            let errorsBefore = lock.withLock { _errors.count }
            try? await socket.send(frame)
            _ = await socket.waitUntil(timeout: .seconds(20)) { socket in
                self.refresh()
                return self.isAcked(id) || socket.ended || self.lock.withLock { self._errors.count > errorsBefore }
            }
            if !isAcked(id) { try await Task.sleep(for: retryDelay) }
        }
    }

    /// Problems with what this customer saw: seqs must run 1, 2, 3, … across all its
    /// connections, and its own messages must be exactly `expected`, once each, in order.
    func problems(expected: [String], conversationID: String? = nil, fromAgent: [String]? = nil) -> [String] {
        refresh()
        let conversationID = conversationID ?? self.conversationID
        let numbered = self.numbered.filter { $0.conversationID == conversationID }
        var problems: [String] = []
        if let fromAgent {
            let theirs = numbered.filter { $0.type == "message" && $0.role == "agent" }.compactMap(\.id)
            if let difference = EndToEnd.describeDifferences(observed: theirs, expected: fromAgent) {
                problems.append("\(label) in \(conversationID ?? "?"): the agent's messages: \(difference)")
            }
        }
        for (index, entry) in numbered.enumerated() where entry.seq != index + 1 {
            problems.append("\(label): entry #\(index) has seq \(entry.seq), expected \(index + 1) (seqs \(numbered.map(\.seq)))")
            break
        }
        let mine = numbered.filter { $0.type == "message" && $0.role == "customer" }.compactMap(\.id)
        if let difference = EndToEnd.describeDifferences(observed: mine, expected: expected) {
            problems.append("\(label) in \(conversationID ?? "?"): the customer's messages: \(difference)")
        }
        return problems
    }

    /// Whether message `id` came back as a committed `message` frame.
    func sawCommitted(_ id: String) -> Bool {
        refresh()
        return lock.withLock { _numbered.contains { $0.type == "message" && $0.id == id } }
    }

    func closeAll() async {
        for connection in lock.withLock({ connections }) { await connection.close() }
    }
}

extension EndToEnd {
    /// Creates `count` visitor sessions on `gateway`, `parallel` requests at a time.
    static func visitorSessions(_ gateway: GatewayHandle, count: Int, prefix: String, parallel: Int = 16) async throws -> [VisitorSession] {
        var sessions = [VisitorSession?](repeating: nil, count: count)
        try await withThrowingTaskGroup(of: (Int, VisitorSession).self) { group in
            var next = 0
            while next < min(parallel, count) {
                let index = next
                group.addTask { (index, try await gateway.http.visitorSession(name: "\(prefix)\(index)")) }
                next += 1
            }
            while let (index, session) = try await group.next() {
                sessions[index] = session
                if next < count {
                    let index = next
                    group.addTask { (index, try await gateway.http.visitorSession(name: "\(prefix)\(index)")) }
                    next += 1
                }
            }
        }
        return sessions.compactMap { $0 }
    }

    /// Runs `body` for every element, at most `parallel` at a time.
    static func forEach<T: Sendable>(_ items: [T], parallel: Int, _ body: @escaping @Sendable (T) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            var iterator = items.makeIterator()
            for _ in 0..<parallel {
                guard let item = iterator.next() else { break }
                group.addTask { try await body(item) }
            }
            while try await group.next() != nil {
                if let item = iterator.next() { group.addTask { try await body(item) } }
            }
        }
    }

    /// Polls `condition` every 100 ms; false after `timeout`.
    static func poll(timeout: Duration, _ condition: () async throws -> Bool) async rethrows -> Bool {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return true
    }
}
