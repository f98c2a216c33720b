import Logging
import ServiceLifecycle
import Synchronization

/// Whether the gateway is draining: set when a graceful shutdown starts. `/readyz` then answers
/// 503 (load balancers stop sending new clients) and new WebSockets are turned away with 1001.
final class DrainState: Sendable {
    private let draining = Atomic<Bool>(false)

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    func begin() { draining.store(true, ordering: .relaxed) }
}

/// On graceful shutdown (SIGTERM), before the HTTP server stops: marks the gateway draining,
/// closes every WebSocket with 1001 ("going away": reconnect to another gateway, docs/protocol.md)
/// and waits until they are gone, at most `timeout`.
///
/// It is listed after the server in the gateway's `ServiceGroup`, which shuts services down in
/// reverse order: otherwise the server would close the sockets first, with a plain 1000.
struct ConnectionDrainService: Service {
    let registry: ConnectionRegistry
    let drain: DrainState
    let timeout: Duration
    let logger: Logger

    func run() async throws {
        // Waits for the graceful shutdown; a cancellation (hard stop) skips the drain.
        do {
            try await gracefulShutdown()
        } catch {
            return
        }
        drain.begin()
        let open = registry.count
        logger.notice("draining: closing WebSockets with 1001", metadata: ["connections": "\(open)"])
        registry.endAll()
        let deadline = ContinuousClock.now + timeout
        while registry.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        logger.notice("drained", metadata: ["remaining": "\(registry.count)"])
    }
}
