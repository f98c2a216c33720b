import CSCore
import NIOCore
import Synchronization

/// One WebSocket connection held by this gateway.
///
/// It remembers the highest `seq` it delivered per conversation, so that no committed entry is
/// written twice (a replay racing a live delivery, a re-published entry), and holds live entries
/// of a conversation back while that conversation is being replayed (`resume`).
public final class LocalConnection: Sendable {
    public enum EndReason: Sendable, Equatable {
        case slowConsumer
        case shutdown
        /// The client broke a rule; close with this code.
        case violation(ChatCloseCode)
    }

    private struct State {
        var endReason: EndReason?
        var delivered: [String: Int] = [:]
        var held: [String: [ByteBuffer]] = [:]
        var lastTyping: [String: ContinuousClock.Instant] = [:]
        var notifications: Set<String> = []
        var holdingAll = false
    }

    public let id: String
    public let participant: Participant
    /// The agent's skills (empty for customers), for skill-audience broadcasts.
    public let skills: [String]
    let frames: AsyncStream<ByteBuffer>.Continuation
    private let state = Mutex(State())

    /// Called once when the connection ends as a slow consumer (to cut the socket if needed).
    private let onSlowConsumer: @Sendable () -> Void

    init(
        id: String, participant: Participant, skills: [String], frames: AsyncStream<ByteBuffer>.Continuation,
        onSlowConsumer: @escaping @Sendable () -> Void = {}
    ) {
        self.id = id
        self.participant = participant
        self.skills = skills
        self.frames = frames
        self.onSlowConsumer = onSlowConsumer
    }

    var reasonForEnd: EndReason? { state.withLock { $0.endReason } }

    /// Queues a frame for writing; a full queue ends the connection as a slow consumer.
    func send(_ frame: ByteBuffer) {
        let header = CommittedFrameHeader.parse(frame.readableBytesView)
        let dropped = state.withLock { state in Self.deliver(frame, header, into: &state, frames: frames) }
        if dropped { end(.slowConsumer) }
    }

    /// Writes a committed frame unless it is held back (replay or recovery under way) or was
    /// delivered already. Runs under the lock, so the check and the queue order stay together.
    /// Returns true when the queue was full.
    private static func deliver(
        _ frame: ByteBuffer, _ header: CommittedFrameHeader?, into state: inout State,
        frames: AsyncStream<ByteBuffer>.Continuation
    ) -> Bool {
        if let header {
            if state.holdingAll || state.held[header.conversationID] != nil {
                state.held[header.conversationID, default: []].append(frame)
                return false
            }
            guard header.seq > state.delivered[header.conversationID, default: 0] else { return false }
            state.delivered[header.conversationID] = header.seq
        }
        if case .dropped = frames.yield(frame) { return true }
        return false
    }

    /// Starts holding live entries of `conversationID` back while it is replayed.
    func beginReplay(_ conversationID: String) {
        state.withLock { if $0.held[conversationID] == nil { $0.held[conversationID] = [] } }
    }

    /// Writes one replayed entry (live ones of the conversation are held meanwhile). With
    /// `belowMark`, entries under the highest seq delivered are written too (an explicit `resume`
    /// may fill a gap under it; clients ignore a seq they already show).
    func sendReplayed(_ frame: ByteBuffer, conversationID: String, seq: Int, belowMark: Bool = false) {
        let dropped = state.withLock { state -> Bool in
            let mark = state.delivered[conversationID, default: 0]
            guard seq > mark || belowMark else { return false }
            state.delivered[conversationID] = max(mark, seq)
            if case .dropped = frames.yield(frame) { return true }
            return false
        }
        if dropped { end(.slowConsumer) }
    }

    /// Ends the replay: the held live entries follow, without the ones already replayed.
    /// Returns the highest seq delivered for the conversation.
    @discardableResult
    func endReplay(_ conversationID: String) -> Int {
        let (dropped, mark) = state.withLock { state -> (Bool, Int) in
            let held = state.holdingAll ? [] : (state.held.removeValue(forKey: conversationID) ?? [])
            var dropped = false
            for frame in held where Self.deliver(frame, CommittedFrameHeader.parse(frame.readableBytesView), into: &state, frames: frames) {
                dropped = true
            }
            return (dropped, state.delivered[conversationID, default: 0])
        }
        if dropped { end(.slowConsumer) }
        return mark
    }

    /// Holds every live committed entry back (pub/sub is down: some are being lost).
    func beginRecovery() { state.withLock { $0.holdingAll = true } }

    /// The conversations this connection follows, with the highest seq delivered of each.
    var deliveredPositions: [String: Int] { state.withLock { $0.delivered } }

    /// Recovery done: everything held follows, without what the replay delivered.
    func endRecovery() {
        let dropped = state.withLock { state -> Bool in
            state.holdingAll = false
            let held = state.held
            state.held = [:]
            var dropped = false
            for frames in held.values {
                for frame in frames where Self.deliver(frame, CommittedFrameHeader.parse(frame.readableBytesView), into: &state, frames: self.frames) {
                    dropped = true
                }
            }
            return dropped
        }
        if dropped { end(.slowConsumer) }
    }

    /// Writes a notification unless this connection already got it; returns whether it did now.
    @discardableResult
    func sendNotification(_ frame: ByteBuffer, id: String) -> Bool {
        let fresh = state.withLock { state -> Bool in
            if state.notifications.count > 500 { state.notifications.removeAll() }
            return state.notifications.insert(id).inserted
        }
        if fresh { send(frame) }
        return fresh
    }

    /// Whether a `typing` for the conversation may be forwarded now (at most one per second).
    func allowTyping(_ conversationID: String) -> Bool {
        let now = ContinuousClock.now
        return state.withLock { state in
            if let last = state.lastTyping[conversationID], now - last < .seconds(1) { return false }
            if state.lastTyping.count > 100 { state.lastTyping.removeAll() }
            state.lastTyping[conversationID] = now
            return true
        }
    }

    func end(_ reason: EndReason) {
        let first = state.withLock { state in
            guard state.endReason == nil else { return false }
            state.endReason = reason
            return true
        }
        frames.finish()
        if first && reason == .slowConsumer { onSlowConsumer() }
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

    /// Writes a broadcast to every local connection its selector matches (`all`, `agents`,
    /// `customers`, `skill:<s>`, `users:<id>,<id>`); returns the users it reached.
    public func deliverNotification(selector: String, id: String, _ frame: ByteBuffer) -> [String] {
        let targets: [LocalConnection]
        if selector.hasPrefix("users:") {
            let users = selector.dropFirst("users:".count).split(separator: ",").map(String.init)
            targets = state.withLock { state in users.flatMap { state.byUser[$0].map { Array($0.values) } ?? [] } }
        } else {
            targets = state.withLock { state in
                state.connections.values.filter {
                    PushNotification.Audience.matches(selector: selector, role: $0.participant.role, skills: $0.skills)
                }
            }
        }
        var reached = Set<String>()
        for connection in targets where connection.sendNotification(frame, id: id) { reached.insert(connection.participant.id) }
        return Array(reached)
    }

    /// Whether `userID` still has a connection here.
    public func hasConnections(of userID: String) -> Bool { state.withLock { $0.byUser[userID] != nil } }

    /// Every connection here.
    public var all: [LocalConnection] { state.withLock { Array($0.connections.values) } }

    /// Ends every connection (they close with 1001 so clients reconnect elsewhere).
    public func endAll() {
        let all = state.withLock { Array($0.connections.values) }
        for connection in all { connection.end(.shutdown) }
    }
}
