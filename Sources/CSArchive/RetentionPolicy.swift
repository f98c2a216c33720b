import CSCore

/// When an archived conversation's Redis keys expire: `closedAt` + the hot window, and never
/// before the end of its rating window (`rateUntil`), which the dispatcher checks against the
/// meta hash. The default hot window is the dispatcher's default rating window (24 h) plus
/// 7 days. Applied only after the conversation's transaction committed: nothing expires that
/// PostgreSQL does not hold.
public struct RetentionPolicy: Sendable, Equatable {
    public static let defaultHotWindowMilliseconds = (24 * 3600 + 7 * 24 * 3600) * 1000
    public var hotWindowMilliseconds: Int

    public init(hotWindowMilliseconds: Int = Self.defaultHotWindowMilliseconds) {
        self.hotWindowMilliseconds = hotWindowMilliseconds
    }

    /// The expiry time (ms since the epoch) of a closed conversation's keys; nil when it is not
    /// closed (an open conversation never expires).
    public func expiresAt(_ state: ConversationState) -> Int? {
        guard state.status == .closed, let closedAt = state.closedAt else { return nil }
        return max(closedAt + hotWindowMilliseconds, state.rateUntil ?? 0)
    }

    /// The keys that expire: the meta hash, the log and the dedup table (all `{c:<id>}`). The
    /// rating hash (`cs:{ratings}:r:<id>`) stays: the ratings list, CSV and aggregates read it.
    public static func keys(of conversationID: String) -> [String] {
        [RedisKeys.conversation(conversationID), RedisKeys.conversationLog(conversationID), RedisKeys.conversationDedup(conversationID)]
    }
}
