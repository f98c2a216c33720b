import ServiceLifecycle

/// Handles WebSocket clients' messages: a socket with messages waiting is handed over once
/// (`ChatSocket.receive`) and a child task handles them in order until none is left, then ends.
/// Messages of one connection stay in order; connections run in parallel; an idle connection
/// costs no task.
///
/// It stops taking sockets on graceful shutdown, after the gateway's drain (which runs first) has
/// closed the connections.
final class SessionPool: Service, Sendable {
    private let sockets: AsyncStream<ChatSocket>
    private let sink: AsyncStream<ChatSocket>.Continuation

    init() {
        (sockets, sink) = AsyncStream.makeStream(of: ChatSocket.self)
    }

    /// Hands a socket with waiting messages over (each socket at most once at a time).
    func submit(_ socket: ChatSocket) {
        sink.yield(socket)
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            for await socket in sockets.cancelOnGracefulShutdown() {
                group.addTask { await socket.drain() }
            }
        }
    }
}
