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
}
