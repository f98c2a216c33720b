import Foundation

// MARK: - Received frames

/// One frame the server sent, in arrival order.
public struct ReceivedFrame: Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case text, binary }

    /// 0-based position among all frames received on the connection.
    public let index: Int
    public let kind: Kind
    /// The text (for a binary frame, its bytes in hex).
    public let text: String
    /// The parsed JSON, nil when the text is not JSON (or the frame is binary).
    public let json: JSONValue?

    /// `type` of a JSON object frame.
    public var type: String? { json?["type"]?.stringValue }

    public subscript(key: String) -> JSONValue? { json?[key] }
    public func string(_ key: String) -> String? { json?[key]?.stringValue }
    public func int(_ key: String) -> Int? { json?[key]?.intValue }

    public var description: String {
        let shown = text.count > 300 ? String(text.prefix(300)) + "…(\(text.utf8.count) bytes)" : text
        return kind == .text ? "#\(index) \(shown)" : "#\(index) binary \(shown)"
    }
}

/// How a connection ended.
public struct CloseInfo: Sendable, CustomStringConvertible {
    /// The close code the server sent, nil when the connection ended without a close frame.
    public let code: UInt16?
    public let reason: String?
    /// Set when the connection failed (refused, upgrade rejected, protocol error).
    public let error: String?

    public var description: String {
        if let error { return "connection failed: \(error)" }
        guard let code else { return "closed without a close frame" }
        return "closed with \(code)" + (reason.map { " (\($0))" } ?? "")
    }
}

public enum ChatClientError: Error, CustomStringConvertible {
    case connectFailed(url: String, CloseInfo)
    case connectionEnded(client: String, waitingFor: String, CloseInfo, recent: [ReceivedFrame])
    case notConnected(client: String)
    case sendFailed(client: String, error: String)
    case timedOut(client: String, waitingFor: String, limit: Duration, pending: [ReceivedFrame], recent: [ReceivedFrame], received: Int)

    public var description: String {
        switch self {
        case .connectFailed(let url, let info):
            return "WebSocket connect to \(url) failed: \(info)"
        case .connectionEnded(let client, let waitingFor, let info, let recent):
            return "[\(client)] connection \(info) while waiting for \(waitingFor); last frames:\n"
                + recent.map(\.description).joined(separator: "\n")
        case .notConnected(let client):
            return "[\(client)] not connected"
        case .sendFailed(let client, let error):
            return "[\(client)] send failed: \(error)"
        case .timedOut(let client, let waitingFor, let limit, let pending, let recent, let received):
            var text = "[\(client)] timed out after \(limit) waiting for \(waitingFor); \(received) frames received in total, "
                + "\(pending.count) unconsumed"
            if !pending.isEmpty {
                text += "; first unconsumed:\n" + pending.prefix(15).map(\.description).joined(separator: "\n")
            }
            if !recent.isEmpty {
                text += "\nlast received:\n" + recent.map(\.description).joined(separator: "\n")
            }
            return text
        }
    }
}

/// Frames received on one connection: the full log, plus a queue of frames not yet consumed by
/// `next`/`waitFor`/`collect`.
final class FrameInbox: @unchecked Sendable {
    struct State {
        var log: [ReceivedFrame] = []
        var pending: [ReceivedFrame] = []
        var countsByType: [String: Int] = [:]
        var ended: CloseInfo?
        var version: UInt64 = 0
    }

    private let lock = NSLock()
    private var state = State()
    private var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    private var nextWaiter: UInt64 = 0

    func append(kind: ReceivedFrame.Kind, text: String) {
        mutate { state in
            let json = kind == .text ? JSONValue.parse(text) : nil
            let frame = ReceivedFrame(index: state.log.count, kind: kind, text: text, json: json)
            state.log.append(frame)
            state.pending.append(frame)
            state.countsByType[frame.type ?? "", default: 0] += 1
        }
    }

    func end(_ info: CloseInfo) {
        mutate { state in
            if state.ended == nil { state.ended = info }
        }
    }

    func read<R>(_ body: (inout State) -> R) -> R {
        lock.withLock { body(&state) }
    }

    private func mutate(_ body: (inout State) -> Void) {
        let toWake: [CheckedContinuation<Void, Never>] = lock.withLock {
            body(&state)
            state.version &+= 1
            let all = Array(waiters.values)
            waiters.removeAll()
            return all
        }
        for waiter in toWake { waiter.resume() }
    }

    /// Returns once something changed after `version` (a frame arrived or the connection ended).
    func changed(after version: UInt64) async throws {
        let id: UInt64 = lock.withLock {
            nextWaiter += 1
            return nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                lock.lock()
                if state.version != version || Task.isCancelled {
                    lock.unlock()
                    continuation.resume()
                } else {
                    waiters[id] = continuation
                    lock.unlock()
                }
            }
        } onCancel: {
            let waiter = lock.withLock { waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
        try Task.checkCancellation()
    }
}
