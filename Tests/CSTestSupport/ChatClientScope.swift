import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging

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
