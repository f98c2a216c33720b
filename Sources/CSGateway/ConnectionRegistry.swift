import CSCore
import NIOCore
import Synchronization

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
