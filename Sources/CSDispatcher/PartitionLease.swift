import CSServer
import Synchronization

/// What a worker and the lease loop share about one owned partition.
final class PartitionLease: Sendable {
    let partition: Int
    /// The fencing token Redis gave this acquisition (`LeaseScripts.acquire`); the worker's
    /// conversation writes carry it, so that they fail once a later owner took the partition.
    let token: Int
    private let state = Mutex(State())

    private struct State {
        var validUntil = 0
        var stopRequested = false
        var finished = false
    }

    init(partition: Int, token: Int) {
        self.partition = partition
        self.token = token
    }

    /// Records a successful renewal started at `start` (ms).
    func renewed(at start: Int, leaseMilliseconds: Int) {
        // Stop a little before Redis would expire it, in case our clock runs behind.
        let margin = max(leaseMilliseconds / 5, 100)
        state.withLock { $0.validUntil = start + leaseMilliseconds - margin }
    }

    /// Whether the worker may process another batch.
    var mayProcess: Bool {
        state.withLock { !$0.stopRequested && $0.validUntil > nowMilliseconds() }
    }

    /// Whether the lease ran out (as opposed to a stop being asked for while it holds).
    var isExpired: Bool { state.withLock { $0.validUntil <= nowMilliseconds() } }

    func requestStop() { state.withLock { $0.stopRequested = true } }
    var isStopRequested: Bool { state.withLock { $0.stopRequested } }

    func markFinished() { state.withLock { $0.finished = true } }
    var isFinished: Bool { state.withLock { $0.finished } }
}
