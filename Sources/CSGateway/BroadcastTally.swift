import Synchronization

/// Collects the users a broadcast reached from its jobs (one per event loop); `reachedUsers`
/// waits for the last job.
final class BroadcastTally: Sendable {
    private struct State {
        var remaining: Int
        /// Each job's users; a user with connections on two loops is in two of them.
        var users: [String] = []
        var continuation: CheckedContinuation<[String], Never>?
    }

    private let state: Mutex<State>

    init(jobs: Int) { state = Mutex(State(remaining: jobs)) }

    /// The users reached, once every job is done (for one caller).
    func reachedUsers() async -> [String] {
        // Duplicates are dropped here, in the waiter's task, not on the last job's event loop.
        Array(Set(await withCheckedContinuation { start($0) }))
    }

    /// Hands over the waiter; resumes it at once when there are no jobs (or all are done).
    private func start(_ continuation: CheckedContinuation<[String], Never>) {
        let done = state.withLock { state -> [String]? in
            guard state.remaining > 0 else { return state.users }
            state.continuation = continuation
            return nil
        }
        if let done { continuation.resume(returning: done) }
    }

    /// One job's reached users.
    func finish(_ users: [String]) {
        let resume = state.withLock { state -> (CheckedContinuation<[String], Never>, [String])? in
            state.users.append(contentsOf: users)
            state.remaining -= 1
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.users)
        }
        if let (continuation, users) = resume { continuation.resume(returning: users) }
    }
}
