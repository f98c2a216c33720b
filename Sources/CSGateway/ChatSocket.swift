import CSCore
import Logging
import NIOCore
import Synchronization

/// One upgraded `/v1/ws` connection, from the upgrade to the socket's close: its session once the
/// client is authenticated, and the client messages waiting to be handled.
///
/// No task belongs to a socket while it is idle. Its handler (`ChatWebSocketHandler`, on the
/// event loop) passes each text message to `receive`. A chat message that finds the socket idle
/// is appended right there (`WebSocketSession.handleOnEventLoop`, no task); anything else, and
/// whatever arrives while a frame is being handled, goes into the inbox, and the first item into
/// it hands the socket to the `SessionPool`, whose child task handles the inbox in order and ends
/// when it is empty. Either way one frame of a socket is handled at a time, in arrival order.
/// The setup (`open`: authentication, subscription, hello, replays) runs in the HTTP server's
/// connection task, which then ends too.
final class ChatSocket: Sendable {
    enum Received {
        case keepReading
        /// The inbox is full: stop reading the socket until it is worked off (TCP backpressure).
        case pauseReading
    }

    private enum Item {
        /// A client message; `decoded` when the event loop decoded it already.
        case text(String, decoded: Result<ClientFrame, ChatError>?)
        /// A chat message checked on the event loop that needs a task to wait for Redis.
        case entry(InboundEntry, replyID: String)
        /// The client broke a protocol rule: close after the messages before it are handled.
        case violation(ChatCloseCode)
        case closed
    }

    private struct State {
        var items: [Item] = []
        var scheduled = false
        /// `open` finished, whether or not the client was admitted.
        var opened = false
        var readingPaused = false
        var session: WebSocketSession?
        var connection: LocalConnection?
    }

    let channel: any Channel
    /// Where the connection's frames go (its outbox writes here).
    let output: ChannelConnectionOutput
    let gateway: GatewayContext
    let logger: Logger
    private let state = Mutex(State())

    /// Client messages a socket may have waiting before its reading pauses.
    static let inboxLimit = 64

    init(output: ChannelConnectionOutput, gateway: GatewayContext, logger: Logger) {
        self.channel = output.channel
        self.output = output
        self.gateway = gateway
        self.logger = logger
    }

    /// On the event loop: handles a client message now if the socket is idle, else queues it.
    func receive(_ text: String) -> Received {
        enum Step { case handleNow(WebSocketSession, LocalConnection), queued(schedule: Bool, pause: Bool) }
        let step = state.withLock { state -> Step in
            if state.opened, !state.scheduled, state.items.isEmpty, let session = state.session, let connection = state.connection {
                state.scheduled = true  // this frame is now the one being handled
                return .handleNow(session, connection)
            }
            state.items.append(.text(text, decoded: nil))
            let pause = state.items.count >= Self.inboxLimit
            if pause { state.readingPaused = true }
            return .queued(schedule: Self.claim(&state), pause: pause)
        }
        switch step {
        case .handleNow(let session, let connection):
            handleNow(text, session, connection)
            return .keepReading
        case .queued(let schedule, let pause):
            if schedule { gateway.sessionPool.submit(self) }
            return pause ? .pauseReading : .keepReading
        }
    }

    /// On the event loop, holding the socket's turn: a chat message goes to Redis from here; what
    /// needs a task goes to the front of the inbox, for the pool.
    private func handleNow(_ text: String, _ session: WebSocketSession, _ connection: LocalConnection) {
        guard connection.reasonForEnd == nil else { return finishedNow() }
        switch session.handleOnEventLoop(text, connection, finished: { self.finishedNow() }) {
        case .started: break
        case .answered: finishedNow()
        case .needsPool(let decoded): handOver(.text(text, decoded: decoded))
        case .needsTask(let entry, let replyID): handOver(.entry(entry, replyID: replyID))
        }
    }

    /// The frame handled without the pool is answered: the socket's turn ends, or passes to the
    /// pool if more arrived meanwhile.
    private func finishedNow() {
        let schedule = state.withLock { state -> Bool in
            state.scheduled = false
            return Self.claim(&state)
        }
        if schedule { gateway.sessionPool.submit(self) }
    }

    /// Gives the socket's turn, with `item` first, to the pool.
    private func handOver(_ item: Item) {
        state.withLock { $0.items.insert(item, at: 0) }
        gateway.sessionPool.submit(self)
    }

    /// On the event loop: the socket closed; once the messages before it are handled, the
    /// connection is unregistered.
    func channelClosed() {
        let schedule = state.withLock { state -> Bool in
            state.items.append(.closed)
            return Self.claim(&state)
        }
        if schedule { gateway.sessionPool.submit(self) }
    }

    /// Whether the pool should be given the socket now (under the lock).
    private static func claim(_ state: inout State) -> Bool {
        guard state.opened, !state.scheduled, !state.items.isEmpty else { return false }
        state.scheduled = true
        return true
    }

    /// On the event loop: a protocol violation. Unless the client was refused already (then the
    /// caller closes at once: false), the connection closes with `code` once the messages before
    /// the violation are handled and their answers written (true).
    func endForViolation(_ code: ChatCloseCode) -> Bool {
        let (queued, schedule) = state.withLock { state -> (Bool, Bool) in
            guard !state.opened || state.connection != nil else { return (false, false) }
            state.items.append(.violation(code))
            return (true, Self.claim(&state))
        }
        if schedule { gateway.sessionPool.submit(self) }
        return queued
    }

    /// In the pool: handles the waiting messages in order until none is left.
    func drain() async {
        while let (item, session, connection) = next() {
            switch item {
            case .text(let text, let decoded):
                guard let session, let connection, connection.reasonForEnd == nil else { continue }
                await session.handle(text, decoded: decoded, connection)
            case .entry(let entry, let replyID):
                guard let session, let connection, connection.reasonForEnd == nil else { continue }
                await session.accept(entry, replyID: replyID, connection)
            case .violation(let code):
                connection?.end(.violation(code))
            case .closed:
                // Once per socket (the channel goes inactive once); a refused client left nothing.
                if let session, let connection { await session.close(connection) }
            }
        }
    }

    private func next() -> (Item, WebSocketSession?, LocalConnection?)? {
        let (next, resume) = state.withLock { state -> ((Item, WebSocketSession?, LocalConnection?)?, Bool) in
            guard !state.items.isEmpty else {
                state.scheduled = false
                return (nil, false)
            }
            let item = state.items.removeFirst()
            let resume = state.readingPaused && state.items.count <= Self.inboxLimit / 2
            if resume { state.readingPaused = false }
            return ((item, state.session, state.connection), resume)
        }
        if resume { _ = channel.setOption(ChannelOptions.autoRead, value: true) }
        return next
    }

    /// Called by `open` when it is done: what arrived meanwhile is handled now.
    func opened(_ session: WebSocketSession?, _ connection: LocalConnection?) {
        let schedule = state.withLock { state -> Bool in
            state.session = session
            state.connection = connection
            state.opened = true
            return Self.claim(&state)
        }
        if schedule { gateway.sessionPool.submit(self) }
    }

    /// Tells a client that is not served why (an `error` frame), then closes with `code`; the
    /// socket is cut if the client does not answer the close.
    func refuse(_ error: ChatError, close code: ChatCloseCode) {
        let output = self.output
        let frame = TextFrame.encode(ByteBuffer(string: ServerFrame.error(error)))
        output.schedule {
            _ = output.write([frame])
            output.close(code: code, reason: error.message, cutAfter: ChatWebSocketHandler.closeHandshakeTimeout)
        }
    }
}
