import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import NIOWebSocket

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

// MARK: - JSON values

/// A decoded JSON value, for asserting on frames without a schema per frame type.
public enum JSONValue: Sendable, Hashable, CustomStringConvertible {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public subscript(index: Int) -> JSONValue? {
        if case .array(let array) = self, array.indices.contains(index) { return array[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var intValue: Int? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9e15: return Int(value)
        default: return nil
        }
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var isNull: Bool { self == .null }

    /// Parses JSON text; nil when it is not valid JSON.
    public static func parse(_ text: String) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// Compact JSON text (keys sorted, so the text is deterministic).
    public var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue cannot fail: every case maps to a JSON value.
        let data = try! encoder.encode(self)
        return String(decoding: data, as: UTF8.self)
    }

    public var description: String { jsonText }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

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

// MARK: - WebSocket client

/// A WebSocket test client for the chat protocol (docs/protocol.md).
///
/// Clients are created by a ``ChatClientScope`` (see ``withChatClients(logger:_:)``), which runs
/// every connection in a child task of the test and closes them all when the scope ends.
///
/// To check what the server sends to a handshake it refuses (bad token), use
/// ``WebSocketProbe``: frames that the server sends right after the `101` followed at once by
/// its FIN can be dropped by the swift-nio HTTP client pipeline underneath this client.
public final class ChatClient: Sendable, CustomStringConvertible {
    /// A name for failure messages, e.g. `customer-1`.
    public let label: String
    public let url: String

    let configuration: WebSocketClientConfiguration
    let inbox = FrameInbox()
    let writer = OneShot<WebSocketOutboundWriter>()
    /// true once the handler runs (upgrade done), false when the connection ended before.
    let ready = OneShot<Bool>()
    let ended = OneShot<CloseInfo>()
    let abortRequested = OneShot<Bool>()

    init(label: String, url: String, configuration: WebSocketClientConfiguration) {
        self.label = label
        self.url = url
        self.configuration = configuration
    }

    public var description: String { "ChatClient(\(label))" }

    /// Runs the connection until it ends or an abort is requested. Called by the scope.
    func run(logger: Logger) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let client = WebSocketClient(url: self.url, configuration: self.configuration, logger: logger) { inbound, outbound, _ in
                    self.writer.fulfill(outbound)
                    self.ready.fulfill(true)
                    for try await message in inbound.messages(maxSize: 1 << 24) {
                        switch message {
                        case .text(let text):
                            self.inbox.append(kind: .text, text: text)
                        case .binary(let buffer):
                            self.inbox.append(kind: .binary, text: buffer.readableBytesView.map { String(format: "%02x", $0) }.joined())
                        }
                    }
                }
                let info: CloseInfo
                do {
                    let frame = try await client.run()
                    info = CloseInfo(code: frame.map { Self.numericCode($0.closeCode) }, reason: frame?.reason, error: nil)
                } catch {
                    info = CloseInfo(code: nil, reason: nil, error: String(describing: error))
                }
                self.inbox.end(info)
                self.ended.fulfill(info)
                self.ready.fulfill(false)
            }
            group.addTask {
                _ = try? await self.abortRequested.wait()
            }
            _ = await group.next()
            group.cancelAll()
        }
    }

    static func numericCode(_ code: WebSocketErrorCode) -> UInt16 {
        var buffer = ByteBuffer()
        buffer.write(webSocketErrorCode: code)
        return buffer.readInteger(as: UInt16.self) ?? 0
    }

    // MARK: Sending

    private func outbound() throws -> WebSocketOutboundWriter {
        if let info = ended.value { throw ChatClientError.sendFailed(client: label, error: "connection \(info)") }
        guard let writer = writer.value else { throw ChatClientError.notConnected(client: label) }
        return writer
    }

    private func write(_ frame: WebSocketOutboundWriter.OutboundFrame) async throws {
        let writer = try outbound()
        do {
            try await writer.write(frame)
        } catch {
            throw ChatClientError.sendFailed(client: label, error: "\(error); \(ended.value.map(\.description) ?? "connection open")")
        }
    }

    /// Sends `value` as one JSON text frame.
    public func send(_ value: JSONValue) async throws {
        try await write(.text(value.jsonText))
    }

    /// Sends `text` as one text frame, verbatim (for malformed input).
    public func sendText(_ text: String) async throws {
        try await write(.text(text))
    }

    /// Sends one binary frame.
    public func sendBinary(_ bytes: [UInt8]) async throws {
        try await write(.binary(ByteBuffer(bytes: bytes)))
    }

    /// Sends a text frame whose payload is not valid UTF-8.
    public func sendInvalidUTF8Text() async throws {
        try await write(.custom(WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(bytes: [0x7B, 0xC3, 0x28, 0xFF, 0x7D]))))
    }

    /// Sends a chat message frame.
    public func sendMessage(id: String, body: String, conversationID: String? = nil, skill: String? = nil) async throws {
        var object: [String: JSONValue] = ["type": "message", "id": .string(id), "body": .string(body)]
        if let conversationID { object["conversationId"] = .string(conversationID) }
        if let skill { object["skill"] = .string(skill) }
        try await send(.object(object))
    }

    /// Sends `ping` with a fresh id and waits for the matching `pong`: proves the connection is
    /// open and that every frame sent before was read by the gateway.
    public func roundTrip(timeout: Duration = .seconds(30)) async throws {
        let id = "p-" + UUID().uuidString.prefix(8).lowercased()
        try await send(["type": "ping", "id": .string(id)])
        _ = try await waitFor(type: "pong", timeout: timeout) { $0.string("id") == id }
    }

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

// MARK: - Scope

/// Opens WebSocket connections whose tasks are children of the ``withChatClients(logger:_:)``
/// call; nothing outlives the scope.
public final class ChatClientScope: Sendable {
    private let requests: AsyncStream<ChatClient>.Continuation
    private let registry = Registry()
    let logger: Logger

    private final class Registry: @unchecked Sendable {
        let lock = NSLock()
        var clients: [ChatClient] = []
        var counter = 0
    }

    init(requests: AsyncStream<ChatClient>.Continuation, logger: Logger) {
        self.requests = requests
        self.logger = logger
    }

    public var clients: [ChatClient] { registry.lock.withLock { registry.clients } }

    /// Connects to `url` (`ws://host:port/v1/ws`) with `token` in the query string (omitted when
    /// nil) and optional extra headers; returns once the upgrade is done. Does not wait for
    /// `hello` (use `hello()`), so refused tokens can be tested.
    public func connect(
        _ url: String,
        token: String?,
        label: String? = nil,
        headers: [(String, String)] = [],
        timeout: Duration = .seconds(30)
    ) async throws -> ChatClient {
        var fullURL = url
        if let token {
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&=+?#")
            let encoded = token.addingPercentEncoding(withAllowedCharacters: allowed) ?? token
            fullURL += (url.contains("?") ? "&" : "?") + "token=" + encoded
        }
        var configuration = WebSocketClientConfiguration(
            maxFrameSize: 1 << 22,
            closeTimeout: .seconds(10)
        )
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { configuration.additionalHeaders[field] = value }
        }
        let name: String = registry.lock.withLock {
            registry.counter += 1
            return label ?? "client-\(registry.counter)"
        }
        let client = ChatClient(label: name, url: fullURL, configuration: configuration)
        registry.lock.withLock { registry.clients.append(client) }
        requests.yield(client)
        let ready = client.ready
        let connected: Bool
        do {
            connected = try await TimeLimit.run(timeout, "WebSocket upgrade of \(name)") { try await ready.wait() }
        } catch {
            client.abort()
            throw error
        }
        guard connected else {
            throw ChatClientError.connectFailed(url: url, client.ended.value ?? CloseInfo(code: nil, reason: nil, error: "unknown"))
        }
        return client
    }

    /// Closes every open client (close handshake, abort after `timeout`), concurrently.
    func closeAll(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            for client in clients {
                group.addTask { await client.close(timeout: timeout) }
            }
        }
    }
}

/// Runs `body` with a scope for WebSocket clients. Every connection runs in a child task of this
/// call and is closed (then aborted if needed) before it returns, on success and on error.
public func withChatClients<R>(
    logger: Logger? = nil,
    _ body: (ChatClientScope) async throws -> R
) async throws -> R {
    let (stream, continuation) = AsyncStream.makeStream(of: ChatClient.self)
    var defaultLogger = Logger(label: "chat-client")
    defaultLogger.logLevel = .warning
    let scope = ChatClientScope(requests: continuation, logger: logger ?? defaultLogger)
    let log = scope.logger
    return try await withThrowingTaskGroup(of: Void.self, returning: R.self) { group in
        group.addTask {
            await withTaskGroup(of: Void.self) { connections in
                for await client in stream {
                    connections.addTask { await client.run(logger: log) }
                }
                await connections.waitForAll()
            }
        }
        let result: Result<R, any Error>
        do {
            result = .success(try await body(scope))
        } catch {
            result = .failure(error)
        }
        await scope.closeAll(timeout: .seconds(10))
        continuation.finish()
        try await group.waitForAll()
        return try result.get()
    }
}

// MARK: - HTTP

public struct HTTPResponse: Sendable, CustomStringConvertible {
    public let status: Int
    public let body: Data
    public let headers: [String: String]

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
    public var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: body) }

    public var description: String { "HTTP \(status) \(bodyText)" }
}

public enum GatewayHTTPError: Error, CustomStringConvertible {
    case unexpectedResponse(request: String, HTTPResponse)
    case transport(request: String, String)

    public var description: String {
        switch self {
        case .unexpectedResponse(let request, let response): return "\(request) answered \(response)"
        case .transport(let request, let error): return "\(request) failed: \(error)"
        }
    }
}

/// A visitor session from `POST /v1/visitor/session`.
public struct VisitorSession: Sendable {
    public let visitorID: String
    public let name: String
    public let token: String
    public let response: JSONValue
}

/// An agent sign-in from `POST /v1/agent/login`.
public struct AgentSession: Sendable {
    public let agentID: String
    public let name: String
    public let token: String
    public let response: JSONValue
}

/// The HTTP endpoints of one gateway (docs/api.md).
public struct GatewayHTTP: Sendable {
    public let baseURL: URL

    public init(baseURL: URL) { self.baseURL = baseURL }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.connectionProxyDictionary = [:]
        return URLSession(configuration: configuration)
    }()

    public func get(_ path: String, headers: [String: String] = [:], timeout: Duration = .seconds(30)) async throws -> HTTPResponse {
        try await request("GET", path, body: nil, headers: headers, timeout: timeout)
    }

    public func post(_ path: String, json: JSONValue, headers: [String: String] = [:], timeout: Duration = .seconds(30)) async throws -> HTTPResponse {
        try await post(path, body: json.jsonText, headers: headers, timeout: timeout)
    }

    public func post(_ path: String, body: String, headers: [String: String] = [:], timeout: Duration = .seconds(30)) async throws -> HTTPResponse {
        var all = ["Content-Type": "application/json"]
        for (key, value) in headers { all[key] = value }
        return try await request("POST", path, body: Data(body.utf8), headers: all, timeout: timeout)
    }

    public func request(_ method: String, _ path: String, body: Data?, headers: [String: String], timeout: Duration) async throws -> HTTPResponse {
        var request = URLRequest(url: baseURL.appendingPathComponent(path))
        request.httpMethod = method
        request.httpBody = body
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        request.timeoutInterval = seconds
        for (key, value) in headers { request.setValue(value, forHTTPHeaderField: key) }
        let description = "\(method) \(baseURL.absoluteString)\(path)"
        let finalRequest = request
        do {
            return try await TimeLimit.run(timeout + .seconds(5), description) {
                let (data, response) = try await GatewayHTTP.session.data(for: finalRequest)
                guard let http = response as? HTTPURLResponse else {
                    throw GatewayHTTPError.transport(request: description, "not an HTTP response")
                }
                var fields: [String: String] = [:]
                for (key, value) in http.allHeaderFields {
                    if let key = key as? String, let value = value as? String { fields[key.lowercased()] = value }
                }
                return HTTPResponse(status: http.statusCode, body: data, headers: fields)
            }
        } catch let error as GatewayHTTPError {
            throw error
        } catch let error as TimeLimitExceeded {
            throw error
        } catch {
            throw GatewayHTTPError.transport(request: description, String(describing: error))
        }
    }

    /// `POST /v1/visitor/session`; expects 200 with `visitorId` and `token`.
    public func visitorSession(name: String? = nil, token: String? = nil) async throws -> VisitorSession {
        var body: [String: JSONValue] = [:]
        if let name { body["name"] = .string(name) }
        if let token { body["token"] = .string(token) }
        let response = try await post("/v1/visitor/session", json: .object(body))
        guard response.status == 200, let json = response.json,
            let visitorID = json["visitorId"]?.stringValue, let token = json["token"]?.stringValue
        else {
            throw GatewayHTTPError.unexpectedResponse(request: "POST /v1/visitor/session", response)
        }
        return VisitorSession(visitorID: visitorID, name: json["name"]?.stringValue ?? "", token: token, response: json)
    }

    /// `POST /v1/agent/login`; expects 200 with `token` and `agent`.
    public func agentLogin(agentID: String, password: String) async throws -> AgentSession {
        let response = try await post("/v1/agent/login", json: ["agentId": .string(agentID), "password": .string(password)])
        guard response.status == 200, let json = response.json, let token = json["token"]?.stringValue else {
            throw GatewayHTTPError.unexpectedResponse(request: "POST /v1/agent/login", response)
        }
        return AgentSession(
            agentID: json["agent"]?["id"]?.stringValue ?? agentID,
            name: json["agent"]?["name"]?.stringValue ?? "",
            token: token,
            response: json
        )
    }

    /// `GET /readyz` status code.
    public func readyStatus() async throws -> Int {
        try await get("/readyz", timeout: .seconds(5)).status
    }
}

// MARK: - Raw handshake probe

/// Performs one WebSocket handshake over a plain TCP connection and records exactly what the
/// server sends until it closes: the HTTP status, then every frame.
///
/// Used for refused connections (bad tokens). The server answers those with `101`, an error
/// frame, a close frame and its FIN in quick succession; when that FIN reaches a swift-nio HTTP
/// client in the same read as the bytes after the `101`, the response decoder drops those
/// bytes (it forwards left-over bytes only when it has not seen EOF), so `WebSocketClient`
/// sometimes never sees the frames. The probe parses the bytes itself and cannot lose them.
public enum WebSocketProbe {
    public struct Frame: Sendable, CustomStringConvertible {
        public let opcode: UInt8
        public let payload: [UInt8]

        public var text: String { String(decoding: payload, as: UTF8.self) }
        public var json: JSONValue? { opcode == 0x1 ? JSONValue.parse(text) : nil }
        public var description: String { opcode == 0x1 ? text : "opcode \(opcode), \(payload.count) bytes" }
    }

    public struct Result: Sendable, CustomStringConvertible {
        /// Status code of the handshake response (101 when upgraded).
        public let status: Int
        /// Frames before (and including) the close frame.
        public let frames: [Frame]
        /// The close code the server sent, nil when it sent no close frame.
        public let closeCode: UInt16?
        /// Whether the server closed the TCP connection (EOF) before the probe gave up.
        public let sawEOF: Bool

        /// The JSON text frames, in order.
        public var messages: [JSONValue] { frames.compactMap(\.json) }

        public var description: String {
            "HTTP \(status), frames \(frames), close \(closeCode.map(String.init) ?? "none"), EOF \(sawEOF)"
        }
    }

    public enum ProbeError: Error, CustomStringConvertible {
        case malformedResponse(String)
        public var description: String {
            switch self {
            case .malformedResponse(let detail): return "malformed handshake response: \(detail)"
            }
        }
    }

    /// Connects to `127.0.0.1:port`, sends `GET path` with an upgrade request (plus `headers`),
    /// and reads until the server's close frame (answered with a close 1000), EOF or `timeout`.
    public static func handshake(
        port: Int,
        path: String,
        headers: [(String, String)] = [],
        timeout: Duration = .seconds(30)
    ) async throws -> Result {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        let finalRequest = request

        return try await TimeLimit.run(timeout, "the server to answer the handshake on port \(port)") {
            try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(ByteBuffer(string: finalRequest))
                var buffer = ByteBuffer()
                var status: Int?
                var frames: [Frame] = []
                for try await var chunk in inbound {
                    buffer.writeBuffer(&chunk)
                    if status == nil {
                        guard let headEnd = buffer.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else { continue }
                        let headLength = headEnd.upperBound - buffer.readableBytesView.startIndex
                        let head = buffer.readString(length: headLength) ?? ""
                        let statusLine = head.split(separator: "\r\n").first ?? ""
                        let parts = statusLine.split(separator: " ")
                        guard parts.count >= 2, let code = Int(parts[1]) else {
                            throw ProbeError.malformedResponse(String(statusLine))
                        }
                        status = code
                        guard code == 101 else {
                            return Result(status: code, frames: [], closeCode: nil, sawEOF: false)
                        }
                    }
                    while let frame = parseFrame(&buffer) {
                        frames.append(frame)
                        if frame.opcode == 0x8 {
                            try? await outbound.write(maskedClose())
                            let code = frame.payload.count >= 2 ? UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) : nil
                            return Result(status: 101, frames: frames, closeCode: code, sawEOF: false)
                        }
                    }
                }
                return Result(status: status ?? 0, frames: frames, closeCode: nil, sawEOF: true)
            }
        }
    }

    /// Removes one complete (unmasked, server-to-client) frame from `buffer`.
    static func parseFrame(_ buffer: inout ByteBuffer) -> Frame? {
        let view = buffer.readableBytesView
        guard view.count >= 2 else { return nil }
        let start = view.startIndex
        let opcode = view[start] & 0x0F
        var length = Int(view[start + 1] & 0x7F)
        let masked = view[start + 1] & 0x80 != 0
        var offset = 2
        if length == 126 {
            guard view.count >= 4 else { return nil }
            length = Int(view[start + 2]) << 8 | Int(view[start + 3])
            offset = 4
        } else if length == 127 {
            guard view.count >= 10 else { return nil }
            length = (0..<8).reduce(0) { $0 << 8 | Int(view[start + 2 + $1]) }
            offset = 10
        }
        let maskKey: [UInt8] = masked ? Array(view[(start + offset)..<(start + offset + 4)]) : []
        if masked { offset += 4 }
        guard view.count >= offset + length else { return nil }
        var payload = Array(view[(start + offset)..<(start + offset + length)])
        if masked {
            for index in payload.indices { payload[index] ^= maskKey[index % 4] }
        }
        buffer.moveReaderIndex(forwardBy: offset + length)
        return Frame(opcode: opcode, payload: payload)
    }

    static func maskedClose(code: UInt16 = 1000) -> ByteBuffer {
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        let payload = [UInt8(code >> 8), UInt8(code & 0xFF)]
        var buffer = ByteBuffer()
        buffer.writeBytes([0x88, 0x80 | UInt8(payload.count)] + mask)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
        return buffer
    }
}
