import CSCore
import NIOCore
import Synchronization

/// One WebSocket connection held by this gateway.
public final class LocalConnection: Sendable {
    public enum EndReason: Sendable, Equatable {
        case slowConsumer
        case shutdown
        /// The client broke a rule; close with this code.
        case violation(ChatCloseCode)
    }

    public let id: String
    public let participant: Participant
    let frames: AsyncStream<ByteBuffer>.Continuation
    let endReason = Mutex<EndReason?>(nil)

    init(id: String, participant: Participant, frames: AsyncStream<ByteBuffer>.Continuation) {
        self.id = id
        self.participant = participant
        self.frames = frames
    }

    var reasonForEnd: EndReason? { endReason.withLock { $0 } }

    /// Queues a frame for writing; a full queue ends the connection as a slow consumer.
    func send(_ frame: ByteBuffer) {
        if case .dropped = frames.yield(frame) { end(.slowConsumer) }
    }

    func end(_ reason: EndReason) {
        endReason.withLock { if $0 == nil { $0 = reason } }
        frames.finish()
    }
}

/// The connections of this gateway, by connection id and by user id.
///
/// Deliveries from pub/sub look users up here; everything is O(1) under one short lock.
public final class ConnectionRegistry: Sendable {
    private struct State {
        var connections: [String: LocalConnection] = [:]
        var byUser: [String: [String: LocalConnection]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    func add(_ connection: LocalConnection) {
        state.withLock { state in
            state.connections[connection.id] = connection
            state.byUser[connection.participant.id, default: [:]][connection.id] = connection
        }
    }

    func remove(_ connection: LocalConnection) {
        state.withLock { state in
            state.connections[connection.id] = nil
            state.byUser[connection.participant.id]?[connection.id] = nil
            if state.byUser[connection.participant.id]?.isEmpty == true { state.byUser[connection.participant.id] = nil }
        }
    }

    /// Writes `frame` to every local connection of `userID`; returns how many got it.
    @discardableResult
    public func deliver(toUser userID: String, _ frame: ByteBuffer) -> Int {
        // The user's dictionary is copied out by reference (no allocation) and written to outside the lock.
        guard let targets = state.withLock({ $0.byUser[userID] }) else { return 0 }
        for connection in targets.values { connection.send(frame) }
        return targets.count
    }

    /// Writes `frame` to one connection, if it is still here.
    @discardableResult
    public func deliver(toConnection connectionID: String, _ frame: ByteBuffer) -> Bool {
        guard let connection = state.withLock({ $0.connections[connectionID] }) else { return false }
        connection.send(frame)
        return true
    }

    /// Staff (agents, supervisors) connected here, for presence heartbeats.
    public func staffIDs() -> [String] {
        state.withLock { state in state.byUser.compactMap { $0.value.values.first?.participant.role.isStaff == true ? $0.key : nil } }
    }

    public var count: Int { state.withLock { $0.connections.count } }

    /// Ends every connection (they close with 1001 so clients reconnect elsewhere).
    public func endAll() {
        let all = state.withLock { Array($0.connections.values) }
        for connection in all { connection.end(.shutdown) }
    }
}
