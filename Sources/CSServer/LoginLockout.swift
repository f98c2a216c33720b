/// The per-account sign-in limit: an agent id with `maxFailures` failed sign-ins within `window`
/// (from its first failure) is refused until the window ends, whoever tries and from wherever.
/// A pure value; `LoginFailures` keeps the counts in Redis so that every gateway sees them.
public struct LoginLockout: Sendable, Equatable {
    public var maxFailures: Int
    public var window: Duration

    public init(maxFailures: Int = 10, window: Duration = .seconds(900)) {
        self.maxFailures = max(1, maxFailures)
        self.window = window
    }

    /// Seconds until the account may try again, or nil when it may try now. `failures` is the
    /// stored count (nil: none); `remainingMilliseconds` the time left of its window (a count
    /// without expiry, which should not exist, waits a whole window).
    public func retryAfterSeconds(failures: Int?, remainingMilliseconds: Int?) -> Int? {
        guard let failures, failures >= maxFailures else { return nil }
        let remaining = remainingMilliseconds.flatMap { $0 > 0 ? $0 : nil } ?? windowMilliseconds
        return max(1, (remaining + 999) / 1000)
    }

    /// The window in milliseconds (the expiry of a new count).
    public var windowMilliseconds: Int { Int(window.components.seconds) * 1000 + Int(window.components.attoseconds / 1_000_000_000_000_000) }
}
