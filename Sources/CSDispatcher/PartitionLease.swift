import CSServer
import Synchronization

/// What a worker and the lease loop share about one owned partition.
final class PartitionLease: Sendable {
    let partition: Int
    private let state = Mutex(State())

    private struct State {
        var validUntil = 0
        var stopRequested = false
        var finished = false
    }

    init(partition: Int) { self.partition = partition }

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

    func requestStop() { state.withLock { $0.stopRequested = true } }
    var isStopRequested: Bool { state.withLock { $0.stopRequested } }

    func markFinished() { state.withLock { $0.finished = true } }
    var isFinished: Bool { state.withLock { $0.finished } }
}
