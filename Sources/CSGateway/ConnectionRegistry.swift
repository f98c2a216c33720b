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
        /// By the thread their frames are written on (`LocalConnection.thread`): a broadcast
        /// hands each event loop its own connections.
        var byThread: [ObjectIdentifier: [String: LocalConnection]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    func add(_ connection: LocalConnection) {
        state.withLock { state in
            state.connections[connection.id] = connection
            state.byUser[connection.participant.id, default: [:]][connection.id] = connection
            state.byThread[connection.thread, default: [:]][connection.id] = connection
        }
    }

    func remove(_ connection: LocalConnection) {
        state.withLock { state in
            state.connections[connection.id] = nil
            state.byUser[connection.participant.id]?[connection.id] = nil
            if state.byUser[connection.participant.id]?.isEmpty == true { state.byUser[connection.participant.id] = nil }
            state.byThread[connection.thread]?[connection.id] = nil
            if state.byThread[connection.thread]?.isEmpty == true { state.byThread[connection.thread] = nil }
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
    /// `customers`, `skill:<s>`, `users:<id>,<id>`); the tally tells the users it reached.
    ///
    /// Each event loop gets one job that matches, marks and writes its own connections (the same
    /// encoded bytes for all of them): the loops work in parallel, and nothing is scheduled or
    /// woken per connection. Returns once the jobs are scheduled, so broadcasts keep their order.
    func deliverNotification(selector: String, id: String, _ frame: ByteBuffer) -> BroadcastTally {
        // Each loop's dictionary is handed over as it is (a reference, no copy of its entries; a
        // connection added or removed while a job still holds it copies it once).
        let groups: [[String: LocalConnection]]
        let matcher: PushNotification.Audience.Matcher
        if selector.hasPrefix("users:") {
            let users = selector.dropFirst("users:".count).split(separator: ",").map(String.init)
            let targets = state.withLock { state in users.flatMap { state.byUser[$0].map { Array($0.values) } ?? [] } }
            groups = Dictionary(grouping: targets, by: \.thread).values.map { Dictionary(uniqueKeysWithValues: $0.map { ($0.id, $0) }) }
            matcher = .everyone
        } else {
            groups = state.withLock { Array($0.byThread.values) }
            matcher = .init(selector: selector)
        }
        let tally = BroadcastTally(jobs: groups.count)
        for connections in groups {
            guard let output = connections.first?.value.output else { continue }
            output.schedule {
                let encoded = TextFrame.encode(frame)
                var reached: [String] = []
                reached.reserveCapacity(connections.count)
                var written = 0
                for connection in connections.values where matcher.matches(role: connection.participant.role, skills: connection.skills) {
                    switch connection.sendBroadcast(encoded: encoded, id: id) {
                    case .skipped: continue
                    case .written: written += 1
                    case .queued: break
                    }
                    reached.append(connection.participant.id)
                }
                output.countWritten(written)
                tally.finish(reached)
            }
        }
        return tally
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
