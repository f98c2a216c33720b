/// When a failed webhook delivery is tried again (docs/operations.md "Webhooks"): exponential
/// backoff from `base`, doubling up to `cap`, with full jitter (a random delay between half the
/// step and the whole step, so many endpoints failing together do not retry in lockstep), for
/// `giveUpAfter` from the first attempt; then the delivery goes to the endpoint's dead letters.
///
/// With the defaults: about 1 s, 2 s, 4 s ... 10 min, then every 10 min, for 24 hours.
public struct WebhookRetryPolicy: Sendable, Equatable {
    public var baseMilliseconds: Int
    public var capMilliseconds: Int
    public var giveUpAfterMilliseconds: Int

    public init(baseMilliseconds: Int = 1_000, capMilliseconds: Int = 600_000, giveUpAfterMilliseconds: Int = 24 * 3_600_000) {
        self.baseMilliseconds = max(1, baseMilliseconds)
        self.capMilliseconds = max(self.baseMilliseconds, capMilliseconds)
        self.giveUpAfterMilliseconds = max(0, giveUpAfterMilliseconds)
    }

    /// The step before try `attempt + 1` after `attempt` failures (1...), without jitter.
    public func step(afterFailures attempt: Int) -> Int {
        let doublings = min(max(attempt - 1, 0), 40)
        let step = baseMilliseconds.multipliedReportingOverflow(by: 1 << doublings)
        return step.overflow ? capMilliseconds : min(step.partialValue, capMilliseconds)
    }

    /// The decision after `attempt` failures of a delivery first tried at `firstAttemptAt`:
    /// the time of the next try, or nil to give up (dead letter). `random` is in 0..<1.
    public func nextAttempt(afterFailures attempt: Int, firstAttemptAt: Int, now: Int, random: Double) -> Int? {
        let step = self.step(afterFailures: attempt)
        let delay = step / 2 + Int(Double(step - step / 2) * min(max(random, 0), 0.999_999))
        let next = now + max(delay, 1)
        return next - firstAttemptAt > giveUpAfterMilliseconds ? nil : next
    }
}
