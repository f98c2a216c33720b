/// Whether an endpoint keeps failing (pure): it is paused once no delivery to it succeeded for
/// `pauseAfterMilliseconds` since its first failure after its last success. Its last error is
/// written to Redis at most once a second (a failing endpoint must not turn into a write storm).
struct EndpointHealth {
    let pauseAfterMilliseconds: Int
    private var failingSince: [String: Int] = [:]
    private var errorWrittenAt: [String: Int] = [:]

    init(pauseAfterMilliseconds: Int) {
        self.pauseAfterMilliseconds = pauseAfterMilliseconds
    }

    struct Verdict: Equatable {
        /// Write the last error now.
        var recordError: Bool
        /// Pause the endpoint now.
        var pause: Bool
    }

    mutating func succeeded(_ endpointID: String) { failingSince[endpointID] = nil }

    mutating func failed(_ endpointID: String, now: Int) -> Verdict {
        let since = failingSince[endpointID] ?? now
        failingSince[endpointID] = since
        let recordError = now - (errorWrittenAt[endpointID] ?? Int.min / 2) >= 1_000
        if recordError { errorWrittenAt[endpointID] = now }
        return Verdict(recordError: recordError, pause: now - since >= pauseAfterMilliseconds)
    }

    /// A resumed (or paused) endpoint starts afresh.
    mutating func reset(_ endpointID: String) {
        failingSince[endpointID] = nil
    }
}
